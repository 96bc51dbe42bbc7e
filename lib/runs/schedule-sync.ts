// Keeping Temporal Schedules in line with the job definitions. The rule, the same for every schedule: the
// definition is the truth for what runs and when; Temporal is where an engineer steers.
// - Spec (when it runs): restored from the definition — an edit made in Temporal, or a PATCH whose Temporal
//   update landed but whose call timed out (the definition rolled back), is put back. Until then the task
//   views show the drift (lib/schedules/status.ts); the last one repaired is kept in schedule_findings.
// - Paused: a disabled definition's schedule is paused; an enabled one's is running — except for a pause an
//   engineer made in Temporal on purpose (a note that is not the platform's own), which is kept and shown
//   with its note. Saving the definition with `enabled` lifts it.
// - Deleted definition: its schedule is deleted. Missing schedule: made again from the definition.
//
// Each decision is taken holding the definition's row lock (select … for no key update) and on its latest committed
// state: the API commits a definition's deletion (or a schedule's removal) before it deletes the Temporal
// Schedule, so the sync either waits for that commit and sees the definition gone, or finishes first and the
// API's delete follows — it never recreates the schedule of a definition being deleted.
//
// Only this installation's schedules are touched: those whose action starts workflows on its task queue
// (several installations, or test environments, may share a namespace). A schedule with the id of one of our
// definitions on another task queue is an error, recorded for /healthz and the task views, never
// overwritten. Schedules not tied to a job definition (the saved-report retention) are never touched here. A
// schedule changed in the last `settleMs` is left for the next pass: the API may be between writing the
// schedule and committing the definition.
import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Sql } from '../../db/sql.js';
import { JOB_KINDS } from '../../contracts/search-attributes.js';
import type { ExportJobConfig } from '../export/definition.js';
import { upsertExportSchedule } from '../export/schedules.js';
import { upsertCampaignTriggerSchedule, type CampaignTriggerConfig } from '../jobs/campaign-triggers.js';
import type { JobConfig } from '../jobs/definition.js';
import { upsertJobRunSchedule } from '../jobs/schedules.js';
import type { ReportConfig } from '../reports/definition.js';
import type { SalesforceJobConfig } from '../salesforce/definition.js';
import { upsertSalesforceSchedule } from '../salesforce/schedules.js';
import { upsertReportSchedule } from '../reports/schedules.js';
import type { ResultsExportConfig } from '../results/export-jobs.js';
import { upsertResultsExportSchedule } from '../results/schedules.js';
import { definitionSpec } from '../schedules/definition-spec.js';
import { clearFindings, recordFinding, type ScheduleFinding } from '../schedules/findings.js';
import { specDrift } from '../schedules/spec.js';
import { operatorPauseNote, PLATFORM_NOTES, scheduleTaskQueue, ScheduleOwnedElsewhereError } from '../temporal/schedules.js';

const LOCK_WAIT = '10s';
const JOB_SCHEDULE_ID = new RegExp(`^(${Object.values(JOB_KINDS).map((k) => k.replace(/[^a-z0-9-]/g, '')).join('|')})/([1-9][0-9]{0,17})(@.+)?$`);

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
  /** Schedules whose spec differed from their definition's and was restored. */
  restored: string[];
  /** Paused in Temporal on purpose while their definition is enabled: kept paused. */
  operatorPaused: string[];
  /** Our definitions' ids held by another installation's schedule (another task queue): left alone, an error. */
  foreign: string[];
  /** Definitions whose schedule did not exist in Temporal and was created again from the definition. */
  recreated: string[];
  /** Definitions whose schedule does not exist and cannot be made from what the definition holds (logged). */
  missing: string[];
}

interface DefinitionRow { id: string; kind: string; name: string; enabled: boolean; schedule_id: string; campaign_id: string | null; config: Record<string, unknown> | null }
type Deps = { sql: Sql; client: Client; log?: Logger };

/** One pass over every schedule of the namespace. */
export async function syncJobSchedules(deps: Deps, options: ScheduleSyncOptions): Promise<ScheduleSyncReport> {
  const definitions = await deps.sql<DefinitionRow[]>`
    select id, kind, name, enabled, schedule_id, campaign_id, config from job_definitions where schedule_id is not null`;
  const ours = new Set(definitions.map((d) => d.schedule_id));
  const report: ScheduleSyncReport = { checked: 0, paused: [], unpaused: [], deleted: [], restored: [], operatorPaused: [], foreign: [], recreated: [], missing: [] };
  const listed = new Set<string>();
  // The list is Temporal's visibility (eventually consistent): it only names the schedules; each one is
  // described (authoritative) before anything is decided.
  for await (const summary of deps.client.schedule.list({ pageSize: 500 })) {
    if (!ours.has(summary.scheduleId) && !JOB_SCHEDULE_ID.test(summary.scheduleId)) continue;
    listed.add(summary.scheduleId);
    report.checked++;
    await checkSchedule(deps, summary.scheduleId, options, report);
  }
  for (const definition of definitions) {
    if (!listed.has(definition.schedule_id)) await checkMissing(deps, definition, options.taskQueue, report);
  }
  await clearFindings(deps.sql, [...listed, ...report.recreated, ...report.foreign]);
  logReport(deps.log, report);
  return report;
}

async function checkSchedule(deps: Deps, scheduleId: string, options: ScheduleSyncOptions, report: ScheduleSyncReport): Promise<void> {
  // Whose it is, before decoding anything: another installation's payloads are encrypted with its own key.
  const theirs = await scheduleTaskQueue(deps.client, scheduleId);
  if (theirs === null) return;
  if (theirs !== options.taskQueue) {
    const [mine] = await deps.sql`select 1 from job_definitions where schedule_id = ${scheduleId}`;
    if (mine) {
      report.foreign.push(scheduleId);
      await recordFinding(deps.sql, scheduleId, { foreignTaskQueue: theirs || '(none)' });
    }
    return;
  }
  const schedule = await describe(deps.client, scheduleId);
  if (!schedule) return;
  if (recentlyChanged(schedule, options.settleMs ?? 120_000)) return;
  await underRowLock(deps, async (tx) => {
    // The row lock: an API request deleting or changing this definition commits before we decide, or waits for us.
    const [definition] = await tx<DefinitionRow[]>`
      select id, kind, name, enabled, schedule_id, campaign_id, config from job_definitions where schedule_id = ${scheduleId} for no key update`;
    try {
      if (!definition) {
        await deps.client.schedule.getHandle(scheduleId).delete();
        report.deleted.push(scheduleId);
        return;
      }
      await recordFinding(tx, scheduleId, await reconcile(deps.client, schedule, definition, options.taskQueue, report));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err; // deleted meanwhile: nothing left to correct
    }
  });
}

/** Puts one schedule in line with its (locked) definition; returns what the task views show about it. */
async function reconcile(client: Client, schedule: ScheduleDescription, definition: DefinitionRow, taskQueue: string, report: ScheduleSyncReport): Promise<ScheduleFinding> {
  const scheduleId = definition.schedule_id;
  const handle = client.schedule.getHandle(scheduleId);
  const spec = definitionSpec(definition.kind, definition.config);
  const drift = spec && specDrift(schedule.spec, spec);
  const operatorNote = operatorPauseNote(schedule.state);
  const finding: ScheduleFinding = {
    pausedNote: definition.enabled ? operatorNote ?? null : null,
    skippedRuns: schedule.info.numActionsSkippedOverlap, missedRuns: schedule.info.numActionsMissedCatchupWindow,
  };
  if (drift) {
    await putFromDefinition(client, definition, taskQueue); // keeps an operator's pause
    report.restored.push(scheduleId);
    finding.drift = drift;
  } else if (schedule.state.paused && definition.enabled && !operatorNote) {
    await handle.unpause(PLATFORM_NOTES.enabled);
    report.unpaused.push(scheduleId);
  } else if (!schedule.state.paused && !definition.enabled) {
    await handle.pause(PLATFORM_NOTES.disabled);
    report.paused.push(scheduleId);
  }
  if (finding.pausedNote) report.operatorPaused.push(scheduleId);
  return finding;
}

/** A definition whose schedule the list did not show: made again from its latest committed state, under its row lock. */
async function checkMissing(deps: Deps, definition: DefinitionRow, taskQueue: string, report: ScheduleSyncReport): Promise<void> {
  if ((await scheduleTaskQueue(deps.client, definition.schedule_id)) !== null) return; // created after the list was read (or held elsewhere: seen next pass)
  await underRowLock(deps, async (tx) => {
    const [latest] = await tx<DefinitionRow[]>`
      select id, kind, name, enabled, schedule_id, campaign_id, config from job_definitions where id = ${definition.id} for no key update`;
    if (!latest || latest.schedule_id !== definition.schedule_id) return; // deleted or changed meanwhile
    try {
      if (await putFromDefinition(deps.client, latest, taskQueue)) report.recreated.push(definition.schedule_id);
      else report.missing.push(definition.schedule_id);
    } catch (err) {
      if (!(err instanceof ScheduleOwnedElsewhereError)) throw err;
      report.foreign.push(definition.schedule_id);
      await recordFinding(tx, definition.schedule_id, { foreignTaskQueue: err.foreignTaskQueue });
    }
  });
}

/**
 * Runs `decide` in a transaction that takes the definition's row lock: FOR NO KEY UPDATE waits for the API's
 * DELETE and UPDATE of the row, not for runs inserting rows that reference it (their key-share locks). A lock
 * not granted within LOCK_WAIT (a long transaction on the row) leaves the schedule for the next pass rather
 * than stalling the whole sync.
 */
async function underRowLock(deps: Deps, decide: (tx: Sql) => Promise<void>): Promise<void> {
  try {
    await deps.sql.begin(async (tx) => {
      await tx`select set_config('lock_timeout', ${LOCK_WAIT}, true)`;
      await decide(tx as unknown as Sql);
    });
  } catch (err) {
    if ((err as { code?: string }).code !== '55P03') throw err; // lock_not_available
  }
}

async function describe(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Writes a definition's schedule as the API would have; false when the definition holds no schedule. */
async function putFromDefinition(client: Client, definition: DefinitionRow, taskQueue: string): Promise<boolean> {
  const base = { definitionId: definition.id, scheduleId: definition.schedule_id, campaignId: definition.campaign_id ?? '', enabled: definition.enabled, taskQueue };
  if (!definitionSpec(definition.kind, definition.config)) return false;
  if (definition.kind === JOB_KINDS.recordingExport) {
    await upsertExportSchedule(client, { ...base, schedule: (definition.config as unknown as ExportJobConfig).schedule });
  } else if (definition.kind === JOB_KINDS.salesforceExport) {
    await upsertSalesforceSchedule(client, { ...base, every: (definition.config as unknown as SalesforceJobConfig).schedule.every });
  } else if (definition.kind === JOB_KINDS.resultsExport) {
    await upsertResultsExportSchedule(client, { ...base, config: definition.config as unknown as ResultsExportConfig });
  } else if (definition.kind === JOB_KINDS.job) {
    await upsertJobRunSchedule(client, { ...base, config: definition.config as unknown as JobConfig });
  } else if (definition.kind === JOB_KINDS.campaignTrigger) {
    await upsertCampaignTriggerSchedule(client, { ...base, config: definition.config as unknown as CampaignTriggerConfig });
  } else {
    const { schedule } = definition.config as unknown as ReportConfig;
    await upsertReportSchedule(client, { ...base, temporalCron: schedule!.temporalCron, name: definition.name });
  }
  return true;
}

function recentlyChanged(schedule: ScheduleDescription, settleMs: number): boolean {
  const changed = schedule.info.lastUpdatedAt ?? schedule.info.createdAt;
  return Date.now() - changed.getTime() < settleMs;
}

function logReport(log: Logger | undefined, report: ScheduleSyncReport): void {
  for (const scheduleId of report.paused) log?.warn({ scheduleId }, 'schedule was running for a disabled job definition; paused it');
  for (const scheduleId of report.unpaused) log?.warn({ scheduleId }, 'schedule was paused by the platform although its job definition is enabled; unpaused it');
  for (const scheduleId of report.restored) log?.warn({ scheduleId }, 'schedule spec differed from its job definition (edited in Temporal, or a save cut short); restored it from the definition');
  for (const scheduleId of report.deleted) log?.warn({ scheduleId }, 'schedule of a deleted job definition; deleted it');
  for (const scheduleId of report.recreated) log?.warn({ scheduleId }, 'schedule of a job definition was missing from Temporal; created it again from the definition');
  for (const scheduleId of report.foreign) {
    log?.error({ scheduleId }, 'a schedule with the id of this installation\'s job definition starts workflows on another task queue (another installation shares the namespace); left alone — give each installation its own namespace');
  }
  for (const scheduleId of report.missing) {
    log?.error({ scheduleId }, 'the schedule of a job definition does not exist in Temporal; save the definition again (PATCH) to recreate it');
  }
}
