// Types shared by the Salesforce export workflow, its activities and its callers (API, tests).

export const SALESFORCE_EXPORT_KIND = 'salesforce-export';
export const SALESFORCE_EXPORT_WORKFLOW = 'salesforceExport';

/** The id of a run started by "run now": `salesforce-export/<job id>/<ISO time>` (scheduled runs are named by the
 *  schedule, `salesforce-export/<job id>-<time>`). */
export function salesforceExportManualWorkflowId(definitionId: string, at: Date): string {
  return `${SALESFORCE_EXPORT_KIND}/${definitionId}/${at.toISOString()}`;
}

export interface SalesforceExportInput {
  definitionId: string;
  /** Who asked: 'schedule' or the API caller's actor. */
  triggeredBy?: string;
  /** Records per sObject Collections request (Salesforce accepts at most 200). */
  chunkSize?: number;
  /** How long one activity keeps sending chunks before it reports back (ms). */
  sliceMs?: number;
  /** Set by the workflow itself when it continues as new. */
  carried?: SalesforceExportTotals;
  windowEnd?: string;
}

/** A result Salesforce refused (or whose outcome is unknown), named by its record. */
export interface RecordError { key: string; clientId: string | null; error: string }

export interface SalesforceExportTotals {
  sent: number; created: number; updated: number; failed: number; unknown: number; chunks: number;
  /** The first MAX_REPORTED_ERRORS record errors; every one is also in the job's ledger. */
  errors: RecordError[];
}

export const MAX_REPORTED_ERRORS = 1000;

/** `windowEnd`: the end of the collection-time window this run reads (the run's time, a whole second). */
export interface SalesforceJobSummary { name: string; campaignId: string; campaignName: string; windowEnd: string }

export interface SliceInput { definitionId: string; runId: string; chunkSize: number; sliceMs: number; windowEnd: string }

export interface SliceResult extends Omit<SalesforceExportTotals, 'errors'> { errors: RecordError[]; drained: boolean }

export type SalesforceExportResult = SalesforceExportTotals & { errorsTruncated: number };

/** Failure types of the Salesforce export (ApplicationFailure.type). */
export const SALESFORCE_FAILURES = {
  jobNotFound: 'SalesforceJobNotFound',
  refused: 'SalesforceRefused',
} as const;
