// Shared by the report workflows, their activities and their callers (API, schedules, tests).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const REPORT_WORKFLOW = 'reportRun';
export const REPORT_RETENTION_WORKFLOW = 'reportRetention';
export const REPORT_RETENTION_SCHEDULE_ID = 'report/retention';

/** Set by Temporal on runs a schedule starts: the time the run was scheduled for. */
export const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Business failure types of report runs (ApplicationFailure.type). */
export const REPORT_FAILURES = {
  definitionNotFound: 'ReportDefinitionNotFound',
  pgpKeyMissing: 'ReportPgpKeyMissing',
  destinationNotFound: 'ReportDestinationNotFound',
  emailNotConfigured: 'ReportEmailNotConfigured',
  deliveryRefused: 'ReportDeliveryRefused',
  fileMissing: 'ReportFileMissing',
  /** The run was recorded cancelled/terminated while generating: nothing was committed. */
  runClosed: 'ReportRunClosed',
} as const;

export interface ReportRunInput {
  definitionId: string;
  triggeredBy?: string | null;
  /** The time the run covers up to; defaults to the schedule's time, or the workflow start time. */
  runTime?: string;
}

export interface DeliveredFile { target: string; fileName: string; location?: string }

export interface ReportRunResult {
  skipped: boolean;
  fileName: string | null;
  savedReportId: string | null;
  rows: number;
  attempts: number;
  contacts: number;
  sizeBytes: number;
  range: { start: string; end: string; incremental: boolean };
  delivered: DeliveredFile[];
}

/** The schedule of a report definition, and the prefix of the workflow ids it starts. */
export const reportScheduleId = (definitionId: string | number) => `report/${definitionId}`;
export const reportScheduledWorkflowIdPrefix = (definitionId: string | number) => `report/${definitionId}/scheduled`;
export const reportManualWorkflowId = (definitionId: string | number, at: Date) => `report/${definitionId}/${at.toISOString()}`;
