// The cluster-wide chores: housekeeping that must run once per installation however many workers run.
// Each is a Temporal Schedule with a fixed id (per task queue, so installations sharing a namespace keep
// their own), overlap SKIP, starting one short `clusterChore` workflow whose activity does the chore and
// writes a chore_runs row (the ledger). Ensured at every worker start by worker/chores.ts.
export const CHORE_WORKFLOW = 'clusterChore';

export const CHORES = ['reconcile-runs', 'schedule-sync', 'campaign-lock-reaper', 'upload-retention'] as const;
export type ChoreName = (typeof CHORES)[number];

export const isChore = (value: unknown): value is ChoreName => CHORES.includes(value as ChoreName);

/** The schedule of a chore: `chores/<chore>@<task queue>`. Its runs' workflow ids are this id, a dash and the
 *  scheduled time (Temporal appends it), so they are unique per interval. */
export const choreScheduleId = (chore: ChoreName, taskQueue: string) => `chores/${chore}@${taskQueue}`;

export interface ChoreInput { chore: ChoreName }

/** Failure types of a chore pass (ApplicationFailure.type). */
export const CHORE_FAILURES = { unknownChore: 'UnknownChore' } as const;

/** The activity's input: the chore, and the schedule's action time (null for a run started by hand). */
export interface ChorePass extends ChoreInput { scheduledAt: string | null }

/** What a pass did, in counts and ids only (never names or paths): it goes to the ledger and to Temporal. */
export type ChoreSummary = Record<string, number | string[]>;
