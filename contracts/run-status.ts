// What every run exposes while it works: the `runStatus` query (read by GET /runs/{runId} and the task views)
// and its result. Workflows answer it through workflows/shared/run-status.ts (`trackRunStatus`).
import { defineQuery } from '@temporalio/workflow';

export interface RunProgress { done: number; total: number | null }

export interface RunStatus {
  step: string;
  progress: RunProgress;
  counts: Record<string, number>;
  sizeBytes: number;
  errors: string[];
}

export const runStatusQuery = defineQuery<RunStatus>('runStatus');
