// Campaign state and campaign triggers (API.md "Jobs made of steps and campaign triggers", seed 000): set a
// campaign running, stopped or completed — `completed` (end of campaign) starts every enabled campaign-end job on
// it, once — and its automatic start and stop schedules, shown in the task views as type campaign-trigger.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { CAMPAIGN_STATES, setCampaignState, startCampaignEndJobs } from '../../lib/jobs/campaign-state.js';
import { campaignTriggers, removeCampaignTriggerSchedule, saveCampaignTrigger } from '../../lib/jobs/campaign-triggers.js';
import { cronString } from '../../lib/schedules/schedule.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { notFound } from '../problem.js';
import { idParams } from '../schemas.js';

const trigger = z.object({ cron: cronString }).strict();
const shownTrigger = z.object({ cron: z.string(), scheduleId: z.string().nullable(), nextRunAt: z.string().nullable() }).nullable();
const triggersView = z.object({ id: z.string(), state: z.enum(CAMPAIGN_STATES), autoStart: shownTrigger, autoStop: shownTrigger }).meta({ id: 'CampaignTriggers' });

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql, client } = deps;
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;

  defineRoute(r, {
    method: 'post', path: '/campaigns/{id}/state', role: 'operator', params: idParams,
    body: z.object({ state: z.enum(CAMPAIGN_STATES) }),
    response: z.object({ id: z.string(), state: z.enum(CAMPAIGN_STATES), previous: z.enum(CAMPAIGN_STATES), startedRuns: z.array(z.string()).describe('completed: the campaign-end job runs started now (none when they were started before)') }),
    summary: 'Set the campaign running, stopped or completed; completed (end of campaign) starts each enabled campaign-end job on it, once',
    example: { body: { state: 'completed' }, response: { id: '1', state: 'completed', previous: 'running', startedRuns: ['job/9/campaign-end-1'] } },
  }, async ({ params, body }) => {
    const previous = await setCampaignState(sql, params.id, body.state);
    if (!previous) throw notFound(`Campaign ${params.id} does not exist.`);
    const startedRuns = body.state === 'completed' ? await startCampaignEndJobs(sql, client, taskQueue, params.id) : [];
    return { id: params.id, state: body.state, previous, startedRuns };
  });

  const view = async (campaignId: string): Promise<z.input<typeof triggersView>> => {
    const [campaign] = await sql<{ state: (typeof CAMPAIGN_STATES)[number] }[]>`select state from campaigns where id = ${campaignId}`;
    if (!campaign) throw notFound(`Campaign ${campaignId} does not exist.`);
    const shown = await campaignTriggers(sql, client, campaignId);
    return { id: campaignId, state: campaign.state, autoStart: shown.start, autoStop: shown.stop };
  };

  defineRoute(r, {
    method: 'patch', path: '/campaigns/{id}', role: 'admin', params: idParams,
    body: z.object({
      autoStart: trigger.nullable().optional().describe('seed crontab (GMT, day-of-week 1-7, Monday = 1) at which the campaign is set running; null removes it'),
      autoStop: trigger.nullable().optional().describe('crontab at which the campaign is set stopped; null removes it'),
    }).strict(),
    response: triggersView,
    summary: 'Schedule the campaign\'s automatic start and stop (shown in GET /tasks as type campaign-trigger, step start or stop)',
    example: {
      body: { autoStart: { cron: '0 13 * * 1-5' }, autoStop: { cron: '0 21 * * 1-5' } },
      response: { id: '1', state: 'running', autoStart: { cron: '0 13 * * 1-5', scheduleId: 'campaign-trigger/12', nextRunAt: '2025-03-03T13:00:00.000Z' }, autoStop: { cron: '0 21 * * 1-5', scheduleId: 'campaign-trigger/13', nextRunAt: '2025-03-03T21:00:00.000Z' } },
    },
  }, async ({ params, body }) => {
    await view(params.id);
    const changes = ([['start', body.autoStart], ['stop', body.autoStop]] as const).filter(([, value]) => value !== undefined);
    // Inside the transaction: if Temporal refuses a schedule, nothing is saved; removed schedules go after the commit.
    const removed = await sql.begin(async (tx) => {
      const gone: string[] = [];
      for (const [action, value] of changes) {
        const scheduleId = await saveCampaignTrigger(tx as unknown as Sql, client, taskQueue, params.id, action, value ? value.cron : null);
        if (scheduleId) gone.push(scheduleId);
      }
      return gone;
    });
    for (const scheduleId of removed) await removeCampaignTriggerSchedule(client, scheduleId, taskQueue);
    return view(params.id);
  });
}
