// Per-step history of job runs (job_run_steps): the one writer, called by the job workflow's activities, and
// the reader behind GET /jobs/{id}/history. The run itself (status, times) is the run record's (lib/runs/record.ts).
import type { Sql } from '../../db/sql.js';
import type { JobStepRecord } from '../../contracts/job.js';

/** Writes the step's row; a retried activity writes the same values again. */
export async function recordJobStep(sql: Sql, step: JobStepRecord): Promise<void> {
  const closed = step.status !== 'running';
  const output = step.output === undefined || step.output === null ? null : sql.json(step.output as never);
  await sql`
    insert into job_run_steps (run_id, seq, name, kind, status, child_id, error, output, ended_at)
    values (${step.runId}, ${step.seq}, ${step.name}, ${step.kind}, ${step.status}, ${step.childId ?? null}, ${step.error ?? null},
            ${output}, ${closed ? sql`now()` : null})
    on conflict (run_id, seq) do update set
      status = excluded.status, child_id = coalesce(excluded.child_id, job_run_steps.child_id), error = excluded.error,
      output = coalesce(excluded.output, job_run_steps.output),
      ended_at = case when excluded.status = 'running' then null else coalesce(job_run_steps.ended_at, now()) end`;
}

export interface JobRunHistory {
  runId: string; status: string; step: string | null; startedAt: Date; endedAt: Date | null; error: string | null; triggeredBy: string | null;
  steps: { name: string; kind: string; status: string; childId: string | null; startedAt: Date; endedAt: Date | null; error: string | null; output: unknown }[];
}

/** The definition's runs, newest first, each with its steps in the order it ran them. */
export async function jobHistory(sql: Sql, definitionId: string, limit: number): Promise<JobRunHistory[]> {
  const runs = await sql<{ run_id: string; status: string; step: string | null; started_at: Date; ended_at: Date | null; error: string | null; acting_user: string | null }[]>`
    select run_id, status, step, started_at, ended_at, error, acting_user from runs
    where definition_id = ${definitionId} and type = 'job' and run_id not like '%@%'
    order by started_at desc limit ${limit}`;
  const steps = await sql<{ run_id: string; name: string; kind: string; status: string; child_id: string | null; started_at: Date; ended_at: Date | null; error: string | null; output: unknown }[]>`
    select run_id, name, kind, status, child_id, started_at, ended_at, error, output from job_run_steps
    where run_id = any(${runs.map((r) => r.run_id)}) order by run_id, seq`;
  return runs.map((run) => ({
    runId: run.run_id, status: run.status, step: run.step, startedAt: run.started_at, endedAt: run.ended_at, error: run.error, triggeredBy: run.acting_user,
    steps: steps.filter((s) => s.run_id === run.run_id).map((s) => ({
      name: s.name, kind: s.kind, status: s.status, childId: s.child_id, startedAt: s.started_at, endedAt: s.ended_at, error: s.error, output: s.output,
    })),
  }));
}
