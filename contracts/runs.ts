// Types shared by workflows and the run-record activities (activities/runs.ts).
export type RunState = 'scheduled' | 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated';

export interface RunStart {
  runId: string;               // the workflow id
  type: string;                // job kind
  name: string;                // task name (the job definition's name)
  objectName?: string | null;  // campaign / list / report the run works on
  definitionId?: string | null;
  campaignId?: string | null;
  actingUser?: string | null;
  scheduledAt?: string | null;
}

export interface RunUpdate {
  runId: string;
  step?: string;
  done?: number;
  total?: number | null;
  sizeBytes?: number;
}

export interface RunEnd {
  runId: string;
  status: Exclude<RunState, 'scheduled' | 'running'>;
  step?: string;
  error?: string | null;
  result?: unknown;
  sizeBytes?: number;
  done?: number;
  total?: number | null;
}
