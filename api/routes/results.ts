// Campaign results (API.md "Campaign results", seed 000 Results tab): the one-time download of a campaign's
// results (a run writing a CSV or ZIP, downloadable by id for 30 days) and the periodic results export jobs.
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { fileById } from '../../lib/results/files.js';
import { parseExplicitTime } from '../../lib/reports/timeframes.js';
import { RESULTS_DOWNLOAD_KIND, RESULTS_DOWNLOAD_WORKFLOW, resultsDownloadWorkflowId, type DownloadRequest } from '../../contracts/results.js';
import { runSearchAttributes, triggeredByKey } from '../../contracts/search-attributes.js';
import type { AppDeps } from '../app.js';
import { callerOf } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, notFound } from '../problem.js';
import { id, idParams, runAccepted } from '../schemas.js';
import { registerResultsExportJobs } from './results-export-jobs.js';
import { checkListIds, dispositionsField, listIdsField, resultsFormat, timezoneField } from './results-fields.js';

const localOrOffset = z.string().max(40).superRefine((value, ctx) => {
  try { parseExplicitTime(value, 'UTC'); } catch (err) { ctx.addIssue({ code: 'custom', message: (err as Error).message }); }
}).describe('ISO 8601; without an offset it is read in `timezone`');

const downloadBody = z.object({
  format: resultsFormat,
  listIds: listIdsField.optional(),
  dispositions: dispositionsField.optional(),
  between: z.object({ from: localOrOffset, to: localOrOffset }).strict().optional()
    .describe('records closed in [from, to); omitted: everything closed since the last download without between'),
  timezone: timezoneField.optional().describe('IANA zone of the times in the file (and of `between` without offsets); default the campaign\'s'),
  zip: z.boolean().default(false),
}).strict();

export async function loadCampaign(sql: Sql, campaignId: string): Promise<{ name: string; timezone: string }> {
  const [campaign] = await sql<{ name: string; timezone: string }[]>`select name, timezone from campaigns where id = ${campaignId}`;
  if (!campaign) throw notFound(`Campaign ${campaignId} does not exist.`);
  return campaign;
}

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql, client } = deps;
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;

  defineRoute(r, {
    method: 'post', path: '/campaigns/{id}/results/downloads', role: 'operator', status: 202, startsWork: true,
    params: idParams, body: downloadBody, response: runAccepted,
    summary: 'Download the campaign\'s results: a run writing the CSV (or ZIP) whose result.fileId GET …/results/downloads/{fileId} returns for 30 days',
    example: {
      body: { format: 'simple', listIds: ['3'], dispositions: 'all', between: { from: '2025-03-01T00:00', to: '2025-03-02T00:00' }, timezone: 'America/Los_Angeles', zip: false },
      response: { runId: 'results-download/1/2025-03-02T08:00:00.000Z' },
    },
  }, async ({ params, body, req }) => {
    const campaign = await loadCampaign(sql, params.id);
    await checkListIds(sql, params.id, body.listIds);
    const timezone = body.timezone ?? campaign.timezone;
    let between: DownloadRequest['between'];
    if (body.between) {
      const from = parseExplicitTime(body.between.from, timezone);
      const to = parseExplicitTime(body.between.to, timezone);
      if (to <= from) throw badRequest('between.to must be after between.from; nothing was started.', [{ path: 'between.to', message: 'must be after between.from' }]);
      between = { from: from.toISOString(), to: to.toISOString() };
    }
    const request: DownloadRequest = {
      campaignId: params.id, format: body.format, listIds: body.listIds, dispositions: body.dispositions, between, timezone, zip: body.zip,
    };
    const caller = callerOf(req);
    const workflowId = resultsDownloadWorkflowId(params.id, new Date());
    await client.workflow.start(RESULTS_DOWNLOAD_WORKFLOW, {
      taskQueue, workflowId, args: [{ request, campaignName: campaign.name, triggeredBy: caller.actor }],
      typedSearchAttributes: runSearchAttributes({ kind: RESULTS_DOWNLOAD_KIND, campaignId: params.id, triggeredBy: triggeredByKey(caller.keyId) }),
    });
    return { runId: workflowId };
  });

  defineRoute(r, {
    method: 'get', path: '/campaigns/{id}/results/downloads/{fileId}', role: 'viewer', params: z.object({ id, fileId: id }),
    download: { contentTypes: ['text/csv; charset=utf-8', 'application/zip'], description: 'The results file (attachment): CSV, or ZIP when compressed' },
    summary: 'The file of a finished results download (decrypted from the content store, streamed); 404 after 30 days',
  }, async ({ params, res }) => {
    const file = await fileById(sql, params.fileId);
    if (!file || file.kind !== 'download' || file.campaignId !== params.id || file.expiresAt <= new Date()) {
      throw notFound(`Results download ${params.fileId} of campaign ${params.id} does not exist or has expired (files are kept 30 days).`);
    }
    const body = await deps.store.get(file.storeKey);
    res.status(200);
    res.setHeader('content-type', file.fileName.endsWith('.zip') ? 'application/zip' : 'text/csv; charset=utf-8');
    res.setHeader('content-length', String(file.sizeBytes));
    res.setHeader('content-disposition', `attachment; filename="${file.fileName.replace(/[^\x20-\x7e]|"/g, '_')}"`);
    await pipeline(body, res);
  });

  registerResultsExportJobs(r, deps);
}
