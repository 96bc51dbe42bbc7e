// Contract of the content expiry (storage time, docs/recording-lifecycle.md): a maintenance run started by the
// Temporal Schedule `content-expiry` (one per installation, however many workers), removing content older than
// RECORDING_STORAGE_DAYS in batches. No I/O here.

export const CONTENT_EXPIRY_WORKFLOW = 'contentExpiry';
export const CONTENT_EXPIRY_SCHEDULE_ID = 'content-expiry';

export interface ExpiryCursorInput { completedAt: string; id: string }

export interface ContentExpiryInput {
  /** Rows per batch (one activity). */
  batchSize?: number;
  /** Batches per execution before continuing as new. */
  batchesPerExecution?: number;
  /** Set by the workflow itself when it continues as new. */
  resume?: { cutoff: string; storageDays: number | null; after: ExpiryCursorInput; done: number; total: number };
}

export interface ExpiryPlan {
  /** Content completed before this instant expires (ISO); null when RECORDING_STORAGE_DAYS is unset. */
  cutoff: string | null;
  storageDays: number | null;
  /** Content held and past the cutoff when the run started. */
  pending: number;
}

export interface ExpireBatchInput { runId: string; cutoff: string; after: ExpiryCursorInput; limit: number }

export interface ExpireBatchResult { processed: number; expired: number; bytes: number; last: ExpiryCursorInput | null }

export interface ContentExpiryResult {
  cutoff: string | null;
  storageDays: number | null;
  expired: number;
  bytes: number;
  byKind: Record<string, number>;
}
