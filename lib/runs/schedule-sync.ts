// Keeping Temporal Schedules in line with the job definitions. The API writes a definition and its
// schedule together (`<kind>/<definitionId>`, paused exactly when the definition is disabled), but a
// schedule can drift behind the platform's back: paused or unpaused from Temporal UI or tctl, or left
// behind when a definition was deleted while Temporal was unreachable. The database is the truth; each
// worker runs this sync next to the run reconciler and puts the schedules back.
//
// Only this installation's schedules are touched: those whose action starts workflows on its task queue
// (several installations, or test environments, may share a namespace). Schedules not tied to a job
// definition (the saved-report retention, `report/retention`) are never touched. A schedule changed in the
// last `settleMs` is left for the next pass: the API may be between writing the schedule and committing
// the definition. A job definition whose schedule is missing from Temporal (deleted from Temporal UI, or a
// Temporal server that lost its data) gets it back, made from the definition as the API makes it.
import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Sql } from '../../db/sql.js';
import { JOB_KINDS } from '../../workflows/shared/search-attributes.js';
import type { ExportJobConfig } from '../export/definition.js';
import { upsertExportSchedule } from '../export/schedules.js';
import { startPeriodic, type Periodic } from '../periodic.js';
import type { ReportConfig } from '../reports/definition.js';
import { upsertReportSchedule } from '../reports/schedules.js';

const JOB_SCHEDULE_ID = new RegExp(`^(${Object.values(JOB_KINDS).map((k) => k.replace(/[^a-z0-9-]/g, '')).join('|')})/([1-9][0-9]{0,17})$`);
const SYNC_NOTE = 'restored by the schedule sync: the job definition is the truth';

export interface ScheduleSyncOptions {
  /** The installation's task queue: schedules starting workflows elsewhere belong to someone else. */
  taskQueue: string;
  /** Schedules created or updated more recently than this are left for the next pass. */
  settleMs?: number;
}

export interface ScheduleSyncReport {
  checked: number;
  paused: string[];
  unpaused: string[];
  deleted: string[];
  /** Definitions whose schedule did not exist in Temporal and was created again from the definition. */
  recreated: string[];
  /** Definitions whose schedule does not exist and cannot be made from what the definition holds (logged). */
  missing: string[];
}

interface DefinitionRow { id: string; kind: string; name: string; enabled: boolean; schedule_id: string }
interface FullDefinitionRow extends DefinitionRow { campaign_id: string | null; config: Record<string, unknown> }

/** One pass over every schedule of the namespace. */
export async function syncJobSchedules(
  deps: { sql: Sql; client: Client; log?: Logger }, options: ScheduleSyncOptions,
): Promise<ScheduleSyncReport> {
  const settleMs = options.settleMs ?? 120_000;
  const definitions = await deps.sql<DefinitionRow[]>`
    select id, kind, name, enabled, schedule_id from job_definitions where schedule_id is not null`;
  const bySchedule = new Map(definitions.map((d) => [d.schedule_id, d]));
  const report: ScheduleSyncReport = { checked: 0, paused: [], unpaused: [], deleted: [], recreated: [], missing: [] };
  const listed = new Set<string>();
  const suspects: string[] = [];
  // The list is Temporal's visibility (eventually consistent): it only picks the suspects; each one is
  // described (authoritative) before anything is changed.
  for await (const summary of deps.client.schedule.list({ pageSize: 500 })) {
    listed.add(summary.scheduleId);
    const definition = bySchedule.get(summary.scheduleId);
    if (definition) {
      report.checked++;
      if (summary.state.paused === definition.enabled) suspects.push(summary.scheduleId);
    } else if (JOB_SCHEDULE_ID.test(summary.scheduleId)) {
      report.checked++;
      suspects.push(summary.scheduleId);
    }
  }

  for (const scheduleId of suspects) {
    const handle = deps.client.schedule.getHandle(scheduleId);
    const schedule = await describe(deps.client, scheduleId);
    if (!schedule || !ours(schedule, options.taskQueue) || recentlyChanged(schedule, settleMs)) continue;
    // Read the definition again now: the decision is made on its latest committed state.
    const [definition] = await deps.sql<DefinitionRow[]>`
      select id, kind, name, enabled, schedule_id from job_definitions where schedule_id = ${scheduleId}`;
    try {
      if (!definition) {
        await handle.delete();
        report.deleted.push(scheduleId);
      } else if (schedule.state.paused && definition.enabled) {
        await handle.unpause(SYNC_NOTE);
        report.unpaused.push(scheduleId);
      } else if (!schedule.state.paused && !definition.enabled) {
        await handle.pause(SYNC_NOTE);
        report.paused.push(scheduleId);
      }
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err; // deleted meanwhile: nothing left to correct
    }
  }

  for (const definition of definitions) {
    if (listed.has(definition.schedule_id)) continue;
    if (await describe(deps.client, definition.schedule_id)) continue; // created after the list was read
    // Deleted from Temporal UI, or lost with the Temporal server's data: made again from the latest committed
    // definition (the API writes the schedule before committing a definition, so a committed one has had one).
    const [latest] = await deps.sql<FullDefinitionRow[]>`
      select id, kind, name, enabled, schedule_id, campaign_id, config from job_definitions where id = ${definition.id}`;
    if (!latest || latest.schedule_id !== definition.schedule_id) continue; // deleted or changed meanwhile
    if (await recreate(deps.client, latest, options.taskQueue)) report.recreated.push(definition.schedule_id);
    else report.missing.push(definition.schedule_id);
  }

  for (const scheduleId of report.paused) deps.log?.warn({ scheduleId }, 'schedule was running for a disabled job definition; paused it');
  for (const scheduleId of report.unpaused) deps.log?.warn({ scheduleId }, 'schedule was paused behind the platform\'s back; unpaused it (its job definition is enabled)');
  for (const scheduleId of report.deleted) deps.log?.warn({ scheduleId }, 'schedule of a deleted job definition; deleted it');
  for (const scheduleId of report.recreated) deps.log?.warn({ scheduleId }, 'schedule of a job definition was missing from Temporal; created it again from the definition');
  for (const scheduleId of report.missing) {
    deps.log?.error({ scheduleId }, 'the schedule of a job definition does not exist in Temporal; save the definition again (PATCH) to recreate it');
  }
  return report;
}

async function describe(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Makes a definition's schedule as the API would have; false when the definition holds no schedule. */
async function recreate(client: Client, definition: FullDefinitionRow, taskQueue: string): Promise<boolean> {
  const base = { definitionId: definition.id, campaignId: definition.campaign_id ?? '', enabled: definition.enabled, taskQueue };
  if (definition.kind === JOB_KINDS.recordingExport) {
    const { schedule } = definition.config as Partial<ExportJobConfig>;
    if (!schedule) return false;
    await upsertExportSchedule(client, { ...base, schedule });
    return true;
  }
  if (definition.kind === JOB_KINDS.report) {
    const { schedule } = definition.config as Partial<ReportConfig>;
    if (!schedule?.temporalCron) return false;
    await upsertReportSchedule(client, { ...base, temporalCron: schedule.temporalCron, name: definition.name });
    return true;
  }
  return false;
}

function ours(schedule: ScheduleDescription, taskQueue: string): boolean {
  return schedule.action.type === 'startWorkflow' && schedule.action.taskQueue === taskQueue;
}

function recentlyChanged(schedule: ScheduleDescription, settleMs: number): boolean {
  const changed = schedule.info.lastUpdatedAt ?? schedule.info.createdAt;
  return Date.now() - changed.getTime() < settleMs;
}

/** Runs `syncJobSchedules` every `intervalMs` until stopped; a failed pass is logged and retried next time. */
export function startScheduleSync(
  deps: { sql: Sql; client: Client; log?: Logger }, options: ScheduleSyncOptions & { intervalMs: number },
): Periodic {
  return startPeriodic('schedule sync', () => syncJobSchedules(deps, options).then(() => {}), options.intervalMs, deps.log);
}
