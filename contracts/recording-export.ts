// Types shared by the recording export workflow, its activities and its callers (API, tests).

export const RECORDING_EXPORT_WORKFLOW = 'recordingExport';

export interface RecordingExportInput {
  definitionId: string;
  /** Who asked: 'schedule' or the API caller's actor. */
  triggeredBy?: string;
  /** Recordings per batch (one activity, one watermark step). */
  batchSize?: number;
  /** Files transferred at the same time within a batch. */
  parallelism?: number;
  /** Batches per workflow execution before continuing as new (keeps the history small). */
  batchesPerExecution?: number;
  /** Set by the workflow itself when it continues as new. */
  carried?: CarriedTotals;
}

export interface CarriedTotals { exported: number; failed: number; sizeBytes: number; batches: number; errors: string[]; total: number | null }

export interface ExportJobSummary {
  name: string;
  campaignId: string;
  campaignName: string;
  /** Recordings waiting after the watermark when the run started (for progress). */
  pending: number;
}

export interface WindowCheck { open: boolean; opensInMs: number; window: string | null }

export interface BatchInput { definitionId: string; runId: string; batchSize: number; parallelism: number }

export interface BatchResult {
  exported: number;
  failed: number;
  sizeBytes: number;
  errors: string[];
  /** No recording is left after the watermark. */
  drained: boolean;
  /** The window closed during the batch: the rest waits for the next window. */
  windowClosed: boolean;
  /** completed_at of the last recording the batch handled (ISO). */
  lastCompletedAt: string | null;
}

export interface ManifestInput {
  definitionId: string; runId: string; at: string; periodEnd: string | null;
  /** Upload nothing when the run recorded no file (a failed or cancelled run that exported nothing). */
  skipIfEmpty: boolean;
}
/**
 * `path` is null when nothing was uploaded (skipIfEmpty and no rows). The counts are the run's export records:
 * exact even when an attempt of a batch committed some files and then failed (the workflow never saw those).
 */
export interface ManifestResult {
  path: string | null; rows: number; sizeBytes: number; exported: number; failed: number; recordingBytes: number;
  /** Recordings past the storage time before they could be sent (manifest result `expired`); absent before issue 19. */
  expired?: number;
}

export interface RecordingExportResult {
  exported: number;
  failed: number;
  /** Recordings that had expired (storage time) before this run could send them: reported, not failed. */
  expired?: number;
  sizeBytes: number;
  manifest: string | null;
  stoppedBy: 'drained' | 'window-closed';
  errors: string[];
}

/** Failure types of the recording export (ApplicationFailure.type). */
export const EXPORT_FAILURES = {
  jobNotFound: 'ExportJobNotFound',
  destination: 'ExportDestinationFailed',
  watermarkMoved: 'ExportWatermarkMoved',
  badTemplate: 'ExportTemplateInvalid',
} as const;
