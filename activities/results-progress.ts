// Small helpers of the results activities: a file's run result, and its progress written to the run record.
import { type FileProgress, type ResultsFile } from '../lib/results/files.js';
import { recordRunProgress } from '../lib/runs/record.js';
import type { ResultsFileResult } from '../contracts/results.js';
import type { ActivityDeps } from './deps.js';

export const fileResult = (f: ResultsFile): ResultsFileResult => ({
  fileId: f.id, fileName: f.fileName, rows: f.rows, records: f.records, sizeBytes: f.sizeBytes,
  range: { kind: f.rangeKind, start: f.rangeStart.toISOString(), end: f.rangeEnd.toISOString() },
});

/** Writes the run's progress to its record at most every 2 s (GET /runs, the task views). */
export function progressRecorder(deps: ActivityDeps, runId: string, report: (detail: unknown) => void) {
  let last = 0;
  return (p: FileProgress) => {
    report(p);
    const now = Date.now();
    if (now - last < 2_000) return;
    last = now;
    void recordRunProgress(deps.sql, { runId, done: p.rows, total: p.total, sizeBytes: p.bytes }).catch(() => {});
  };
}

