// What a schedule does with runs it could not start on time (Temporal down, a worker gone, the previous
// run still busy), per kind of work — what an administrator expects of each (docs/operations: "Catch-up"):
//
// - report: every scheduled run matters (a daily "yesterday" report that never runs leaves that day
//   unreported), so runs missed during an outage of up to a day are started when Temporal is back, and a
//   run that finds the previous one busy waits for it (one buffered).
// - recording-export: one run exports everything since the watermark, so after an outage one run catches
//   up and the other missed times are skipped — but one always runs, however long the outage (30 days).
// - maintenance (the platform's own housekeeping): like an export, one late run does the work of many.
//
// Runs skipped or missed past the window are counted by Temporal; the sync records the counts
// (schedule_findings) and the task views show them.
export type OverlapPolicy = 'skip' | 'buffer-one' | 'allow-all';

export interface CatchUpPolicy { overlap: OverlapPolicy; catchupWindow: string }

export const CATCH_UP: Record<'report' | 'recording-export' | 'maintenance', CatchUpPolicy> = {
  'report': { overlap: 'buffer-one', catchupWindow: '1 day' },
  'recording-export': { overlap: 'skip', catchupWindow: '30 days' },
  'maintenance': { overlap: 'skip', catchupWindow: '30 days' },
};
