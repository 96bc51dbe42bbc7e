// The values of a manifest's file-name placeholders. `$(runId)` makes the name one run's own: two runs in
// the same second (of one job, or of two jobs sharing a destination) never overwrite each other's manifest.
import { createHash } from 'node:crypto';
import type { DateTime } from 'luxon';

/**
 * A short token of the Temporal execution that uploads the manifest: 12 hex digits of a hash of its ids.
 * Stable across retries of the upload (same execution), different for every run.
 */
export function runToken(execution: { workflowId: string; runId: string }): string {
  return createHash('sha256').update(`${execution.workflowId}\n${execution.runId}`).digest('hex').slice(0, 12);
}

export function manifestPlaceholderValues(input: { at: DateTime; periodEnd: DateTime; jobId: string; runToken: string }): Record<string, string> {
  return {
    currentDate: input.at.toFormat('yyyy-MM-dd'), currentTime: input.at.toFormat('HH-mm-ss'),
    periodEndDate: input.periodEnd.toFormat('yyyy-MM-dd_HH-mm-ss'), jobId: input.jobId, runId: input.runToken,
  };
}
