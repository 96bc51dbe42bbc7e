// The one writer of job definitions (job_definitions rows of kind 'job'): insert, change, delete, read.
import type { Sql } from '../../db/sql.js';
import { JOB_KIND, type JobConfig, type JobDefinition } from './definition.js';

interface Row { id: string; name: string; enabled: boolean; campaign_id: string | null; config: JobConfig; created_at: Date; updated_at: Date }

const toDefinition = (row: Row): JobDefinition => ({
  id: row.id, name: row.name, enabled: row.enabled, campaignId: row.campaign_id, config: row.config, createdAt: row.created_at, updatedAt: row.updated_at,
});

/** The campaign the definition belongs to: the campaign-end trigger's. */
const campaignOf = (config: JobConfig) => (config.trigger.kind === 'campaign-end' ? config.trigger.campaignId : null);

export class JobNameTakenError extends Error {}

function nameTaken(name: string) {
  return (err: unknown): never => {
    if ((err as { code?: string }).code === '23505') throw new JobNameTakenError(`A job named ${JSON.stringify(name)} already exists; pick another name.`);
    throw err;
  };
}

export async function insertJobDefinition(sql: Sql, input: { name: string; enabled: boolean; config: JobConfig; createdBy: string | null }): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into job_definitions (kind, name, enabled, campaign_id, config, created_by)
    values (${JOB_KIND}, ${input.name}, ${input.enabled}, ${campaignOf(input.config)}, ${sql.json(input.config as never)}, ${input.createdBy})
    returning id`.catch(nameTaken(input.name));
  return row.id;
}

export async function updateJobDefinition(sql: Sql, id: string, input: { name: string; enabled: boolean; config: JobConfig }): Promise<void> {
  await sql`
    update job_definitions set name = ${input.name}, enabled = ${input.enabled}, campaign_id = ${campaignOf(input.config)},
      config = ${sql.json(input.config as never)}, updated_at = now()
    where id = ${id} and kind = ${JOB_KIND}`.catch(nameTaken(input.name));
}

export async function setJobScheduleId(sql: Sql, id: string, scheduleId: string | null): Promise<void> {
  await sql`update job_definitions set schedule_id = ${scheduleId} where id = ${id} and kind = ${JOB_KIND}`;
}

/** Deletes the definition; returns its schedule id (to delete after the commit) or undefined when there was none. */
export async function deleteJobDefinition(sql: Sql, id: string): Promise<{ scheduleId: string | null } | undefined> {
  const [row] = await sql<{ schedule_id: string | null }[]>`delete from job_definitions where id = ${id} and kind = ${JOB_KIND} returning schedule_id`;
  return row && { scheduleId: row.schedule_id };
}

export async function loadJobDefinition(sql: Sql, id: string): Promise<JobDefinition | undefined> {
  const [row] = await sql<Row[]>`
    select id, name, enabled, campaign_id, config, created_at, updated_at from job_definitions where id = ${id} and kind = ${JOB_KIND}`;
  return row && toDefinition(row);
}

/** A page of definitions by id; `q` filters by name (case-insensitive substring), disabled ones only when asked. */
export async function listJobDefinitions(sql: Sql, query: { q?: string; showDisabled: boolean; after: string; limit: number }): Promise<JobDefinition[]> {
  const pattern = query.q ? `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const rows = await sql<Row[]>`
    select id, name, enabled, campaign_id, config, created_at, updated_at from job_definitions
    where kind = ${JOB_KIND} and id > ${query.after}
      and (${query.showDisabled} or enabled)
      and (${pattern}::text is null or name ilike ${pattern})
    order by id limit ${query.limit}`;
  return rows.map(toDefinition);
}

/** Enabled jobs with a campaign-end trigger on the campaign. */
export async function campaignEndJobs(sql: Sql, campaignId: string): Promise<JobDefinition[]> {
  const rows = await sql<Row[]>`
    select id, name, enabled, campaign_id, config, created_at, updated_at from job_definitions
    where kind = ${JOB_KIND} and enabled and campaign_id = ${campaignId} and config #>> '{trigger,kind}' = 'campaign-end'
    order by id`;
  return rows.map(toDefinition);
}
