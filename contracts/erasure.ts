// What the erasure workflow, its activities and the API share: the erasable items, the workflow input,
// batch results, failure types and the workflow id. No Node built-ins here (the workflow imports it).

export const ERASABLE_ITEMS = ['voice-recording', 'voice-transcript', 'chat-transcript', 'email-message', 'screen-recording'] as const;
export type ErasableItem = (typeof ERASABLE_ITEMS)[number];

export const ERASURE_AUDIT_ACTIONS = {
  requested: 'erasure.requested',
  completed: 'erasure.completed',
  failed: 'erasure.failed',
  cancelled: 'erasure.cancelled',
} as const;
export type ErasureOutcome = 'completed' | 'failed' | 'cancelled';

/** What was asked, as recorded in the audit log (ids and dates only). */
export interface ErasureScope {
  previewId: string;
  campaignId: string;
  timezone: string;
  items: ErasableItem[];
  date?: string;
  from?: string;
  to?: string;
  interactionIds?: string[];
}

/** Items per kind plus the number of interactions and bytes; the shape of audit `counts`. */
export type ErasureCounts = Partial<Record<ErasableItem, number>> & { interactions: number; bytes: number };

export interface ErasureInput {
  previewId: string;
  actor: string;
  reason: string;
  scope: ErasureScope;
  campaignName: string;
  /** What the preview said would be destroyed; the requested audit entry records it. */
  preview: ErasureCounts & { items: number };
  batchSize: number;
  /** Batches before continuing as new (default 500); tests make it small. */
  batchesPerExecution?: number;
  /** Set when a long erasure continued as new: where the previous execution stopped. */
  resume?: { afterContentId: string; done: number; sizeBytes: number; counts: Record<string, number> };
}

export interface EraseBatchInput { runId: string; previewId: string; actor: string; afterContentId: string; limit: number }

export interface EraseBatchResult {
  /** The last preview item looked at (the next batch starts after it); null when none were left. */
  lastContentId: string | null;
  /** Preview items looked at, erased now or already erased before. */
  processed: number;
  erased: number;
  bytes: number;
  erasedByKind: Record<string, number>;
  /** Items left untouched, by content id (never a path or anything personal). */
  problems: string[];
}

export interface ErasureResult { counts: ErasureCounts; verified: boolean }

/** ApplicationFailure types of the erasure; every one is final (never retried). An exported copy that
 *  cannot be reached is not a failure type of its own: the item is reported and the run ends with
 *  `ErasureIncomplete`, listing what remains. */
export const ERASURE_FAILURES = {
  incomplete: 'ErasureIncomplete',
  previewMissing: 'ErasurePreviewMissing',
} as const;

/**
 * Attempts of a batch and of the verification. Bounded, so a destination that stays down ends the run
 * (failed, `ErasureIncomplete`) instead of retrying for ever: on its last attempt each activity reports
 * what it could not reach instead of failing. About 2 minutes of retries each with the workflow's backoff (1 s doubling, at most 1 min).
 */
export const ERASE_ATTEMPTS = 8;
export const VERIFY_ATTEMPTS = 8;

/** `erasure/<campaignId>/<ISO time>`: readable in Temporal UI, unique per confirmation. */
export function erasureWorkflowId(campaignId: string, at: Date): string {
  return `erasure/${campaignId}/${at.toISOString()}`;
}
