// Shared by the campaign results workflows (one-time download, periodic results export), their activities and
// their callers (API, schedules, tests). Depends on nothing with I/O.

/** The result file formats (API.md "Campaign results"). */
export const RESULT_FORMATS = ['simple', 'detailed', 'detailed-in-timeframe'] as const;
export type ResultsFormat = typeof RESULT_FORMATS[number];

export const RESULTS_DOWNLOAD_WORKFLOW = 'resultsDownload';
export const RESULTS_EXPORT_WORKFLOW = 'resultsExport';

/** The task-view types (JOB_KINDS) and what the seed's task views call them. */
export const RESULTS_DOWNLOAD_KIND = 'results-download' as const;
export const RESULTS_EXPORT_KIND = 'results-export' as const;
export const RESULTS_EXPORT_TASK_TYPE = 'Campaign results export';

/** Business failure types (ApplicationFailure.type). */
export const RESULTS_FAILURES = {
  runClosed: 'ResultsRunClosed',
  jobNotFound: 'ResultsExportJobNotFound',
  destinationNotFound: 'ResultsDestinationNotFound',
  deliveryRefused: 'ResultsDeliveryRefused',
} as const;

export interface DownloadRequest {
  campaignId: string;
  format: ResultsFormat;
  listIds?: string[];
  dispositions?: string[] | 'all';
  /** Records closed (attempts completed, for detailed-in-timeframe) in [from, to); ISO 8601 instants. */
  between?: { from: string; to: string };
  timezone: string;
  zip: boolean;
}

export interface ResultsDownloadInput {
  request: DownloadRequest;
  campaignName: string;
  triggeredBy?: string | null;
}

export interface ResultsFileResult {
  fileId: string;
  fileName: string;
  rows: number;
  records: number;
  sizeBytes: number;
  range: { kind: 'closed' | 'collected'; start: string; end: string };
}

export interface ResultsExportInput {
  jobId: string;
  triggeredBy?: string | null;
  /** The time the run covers up to; defaults to the schedule's time, or the workflow start time. */
  runTime?: string;
}

export interface ResultsExportResult extends Partial<ResultsFileResult> {
  /** False when another run had already covered up to this run's time (nothing new, no file). */
  exported: boolean;
  /** Files of this job sent by this run: its own, and earlier runs' that had not reached the destination. */
  sent: { fileName: string; path: string }[];
}

export const resultsDownloadWorkflowId = (campaignId: string, at: Date) => `results-download/${campaignId}/${at.toISOString()}`;
export const resultsExportScheduleId = (jobId: string | number) => `results-export/${jobId}`;
export const resultsExportWorkflowIdPrefix = (jobId: string | number) => `results-export/${jobId}`;
export const resultsExportManualWorkflowId = (jobId: string | number, at: Date) => `results-export/${jobId}/${at.toISOString()}`;
