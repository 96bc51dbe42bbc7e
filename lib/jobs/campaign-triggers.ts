// A campaign's automatic start and stop (seed 000 "Campaign trigger", API.md `PATCH /campaigns/{id}` autoStart /
// autoStop): each is a job_definitions row (kind campaign-trigger, config { action, cron }) and its Temporal
// Schedule running the campaignTrigger workflow, so both show in the task views and the schedule sync keeps them.
import type { Client } from '@temporalio/client';
import type { Sql } from '../../db/sql.js';
import { seedCronToTemporal, temporalCronExpressions } from '../schedules/cron.js';
import { deleteJobSchedule, nextRunTime, putJobSchedule } from '../temporal/schedules.js';
import {
  CAMPAIGN_TRIGGER_KIND, CAMPAIGN_TRIGGER_WORKFLOW, campaignTriggerScheduledWorkflowIdPrefix, type CampaignTriggerAction, type CampaignTriggerInput,
} from '../../contracts/campaign-trigger.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';

export interface CampaignTriggerConfig { action: CampaignTriggerAction; cron: string }

export const campaignTriggerScheduleId = (definitionId: string) => `${CAMPAIGN_TRIGGER_KIND}/${definitionId}`;

/** The seed crontab's Temporal spec (also what the schedule sync compares with). */
export const campaignTriggerSpec = (config: CampaignTriggerConfig) => ({ cron: temporalCronExpressions(seedCronToTemporal(config.cron)) });

export async function upsertCampaignTriggerSchedule(client: Client, input: {
  definitionId: string; campaignId: string; config: CampaignTriggerConfig; taskQueue: string; scheduleId?: string | null; enabled?: boolean;
}): Promise<string> {
  const args: CampaignTriggerInput[] = [{ definitionId: input.definitionId, campaignId: input.campaignId, action: input.config.action }];
  return putJobSchedule(client, {
    scheduleId: input.scheduleId ?? campaignTriggerScheduleId(input.definitionId), scopeIfHeld: !input.scheduleId,
    workflowType: CAMPAIGN_TRIGGER_WORKFLOW, workflowIdPrefix: campaignTriggerScheduledWorkflowIdPrefix(input.campaignId, input.config.action),
    args, taskQueue: input.taskQueue, spec: campaignTriggerSpec(input.config), paused: input.enabled === false,
    // A state change is only worth making at its time: a missed one is not made up hours later.
    overlap: 'skip', catchupWindow: '10 minutes',
    searchAttributes: runSearchAttributes({ kind: CAMPAIGN_TRIGGER_KIND, campaignId: input.campaignId, definitionId: input.definitionId, triggeredBy: 'schedule' }),
  });
}

const nameOf = (campaignId: string, action: CampaignTriggerAction) => `campaign ${campaignId} auto ${action}`;

/**
 * Sets (cron) or removes (null) the campaign's automatic start or stop. The row and the schedule change in one
 * transaction; a removed schedule is deleted by the caller once the removal is committed (returned id).
 */
export async function saveCampaignTrigger(tx: Sql, client: Client, taskQueue: string, campaignId: string, action: CampaignTriggerAction, cron: string | null): Promise<string | null> {
  const [existing] = await tx<{ id: string; schedule_id: string | null }[]>`
    select id, schedule_id from job_definitions where kind = ${CAMPAIGN_TRIGGER_KIND} and name = ${nameOf(campaignId, action)} for no key update`;
  if (cron === null) {
    if (existing) await tx`delete from job_definitions where id = ${existing.id}`;
    return existing?.schedule_id ?? null;
  }
  const config: CampaignTriggerConfig = { action, cron };
  const [row] = existing
    ? await tx<{ id: string }[]>`update job_definitions set config = ${tx.json(config as never)}, updated_at = now() where id = ${existing.id} returning id`
    : await tx<{ id: string }[]>`
        insert into job_definitions (kind, name, enabled, campaign_id, config)
        values (${CAMPAIGN_TRIGGER_KIND}, ${nameOf(campaignId, action)}, true, ${campaignId}, ${tx.json(config as never)}) returning id`;
  const scheduleId = await upsertCampaignTriggerSchedule(client, { definitionId: row.id, campaignId, config, taskQueue, scheduleId: existing?.schedule_id });
  await tx`update job_definitions set schedule_id = ${scheduleId} where id = ${row.id}`;
  return null;
}

export async function removeCampaignTriggerSchedule(client: Client, scheduleId: string, taskQueue: string): Promise<void> {
  await deleteJobSchedule(client, scheduleId, taskQueue);
}

export interface ShownCampaignTrigger { cron: string; scheduleId: string | null; nextRunAt: string | null }

export async function campaignTriggers(sql: Sql, client: Client, campaignId: string): Promise<Record<CampaignTriggerAction, ShownCampaignTrigger | null>> {
  const rows = await sql<{ config: CampaignTriggerConfig; schedule_id: string | null }[]>`
    select config, schedule_id from job_definitions where kind = ${CAMPAIGN_TRIGGER_KIND} and campaign_id = ${campaignId}`;
  const shown = async (action: CampaignTriggerAction) => {
    const row = rows.find((r) => r.config.action === action);
    if (!row) return null;
    const next = row.schedule_id ? await nextRunTime(client, row.schedule_id).catch(() => null) : null;
    return { cron: row.config.cron, scheduleId: row.schedule_id, nextRunAt: next ? next.toISOString() : null };
  };
  return { start: await shown('start'), stop: await shown('stop') };
}
