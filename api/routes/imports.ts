// Job 3: start a calling-list import on a campaign (API.md "Job 3"). The request is validated and its
// source checked before anything starts; with `wait: false` a campaign already locked, or with another run
// waiting for its lock, is a 409 naming that run. The import itself runs in the listImport workflow under the campaign lock.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { admitLockRequest, runOpenOrUnknownIn } from '../../lib/campaign-lock/index.js';
import { RDATETIME } from '../../lib/import/source.js';
import { listImportWorkflowId, type ListImportInput, IMPORT_RULES, MERGE_RULES, UPDATE_RULES, SEPARATORS, type Separator } from '../../contracts/list-import.js';
import { JOB_KINDS, runSearchAttributes, triggeredByKey } from '../../contracts/search-attributes.js';
import { callerOf } from '../auth.js';
import type { AppDeps } from '../app.js';
import { rethrowAsLockConflict } from '../campaign-lock-problems.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { notFound, unprocessable } from '../problem.js';
import { idParams, isoDateTime, runAccepted } from '../schemas.js';

export const importSource = z.union([
  z.object({ destinationId: z.string().regex(/^[1-9][0-9]{0,17}$/), path: z.string().min(1).max(1000)
    .describe(`file path relative to the destination; ${RDATETIME} in the file name picks the newest yyyymmddhhMMss file`) }).strict(),
  z.object({ uploadId: z.string().min(1).max(100).describe('from POST /uploads') }).strict(),
]);

export const importRequest = z.object({
  source: importSource,
  separator: z.enum(Object.keys(SEPARATORS) as [Separator, ...Separator[]]).default(','),
  hasHeader: z.boolean().default(true),
  keyField: z.literal('clientId').default('clientId'),
  importRule: z.enum(IMPORT_RULES).default('append').describe('contacts only in the file'),
  updateRule: z.enum(UPDATE_RULES).default('nothing').describe('contacts only in the database'),
  mergeRule: z.enum(MERGE_RULES).default('nothing').describe('contacts in both'),
  deleteAllBeforeImport: z.boolean().default(false),
  listName: z.string().trim().min(1).max(200).default('default').describe('the list the imported contacts join; a new name creates it'),
  scheduledAt: isoDateTime.optional().describe('start no earlier than this; pending (cancellable) until then'),
  wait: z.boolean().default(true).describe('false: 409 instead of waiting when another process holds the campaign lock or already waits for it'),
});

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql } = deps;
  defineRoute(r, {
    method: 'post', path: '/campaigns/{id}/imports', role: 'operator', status: 202, startsWork: true, params: idParams, body: importRequest,
    response: runAccepted, errors: [409, 422],
    summary: 'Import a calling list into the campaign under the campaign lock',
    description: 'The file comes from a destination path or an upload. Rules follow seed 001: importRule for contacts only in the file, '
      + 'updateRule for contacts only in the database, mergeRule for contacts in both. Progress and result: GET /runs/{runId}; '
      + 'the Contact List Processes view: GET /processes. Cancel with POST /runs/{runId}/cancel.',
    example: {
      body: { source: { uploadId: 'upl_2f1c…' }, separator: ',', hasHeader: true, importRule: 'append', updateRule: 'nothing', mergeRule: 'append' },
      response: { runId: 'list-import/3/2025-03-01T10:15:00.000Z' },
    },
  }, async ({ params, body, req }) => {
    const caller = callerOf(req);
    const [campaign] = await sql<{ name: string }[]>`select name from campaigns where id = ${params.id}`;
    if (!campaign) throw notFound(`Campaign ${params.id} does not exist.`);
    await checkSource(deps, body.source);
    const input: ListImportInput = { ...body, campaignId: params.id, campaignName: campaign.name, actingUser: caller.actor, scheduledAt: body.scheduledAt ?? null };
    // The lock check runs only when no run was started for this Idempotency-Key yet (the registry replays a
    // retry's first reply before this handler runs, startsWork): a retry gets its run back.
    return { runId: await startUnderLockCheck(deps, input, triggeredByKey(caller.keyId)) };
  });
}

/**
 * Starts the import in the transaction where the lock's owner admits its request (admitLockRequest: the
 * campaign row locked, `wait: false` refused with 409 while another run holds or awaits the lock, the request
 * recorded when the import asks at once).
 */
async function startUnderLockCheck(deps: AppDeps, input: ListImportInput, triggeredBy: string): Promise<string> {
  const { sql, client, config } = deps;
  const workflowId = listImportWorkflowId(input.campaignId, new Date());
  await sql.begin(async (tx) => {
    const asksNow = !input.scheduledAt || Date.parse(input.scheduledAt) <= Date.now();
    await admitLockRequest(tx as unknown as Sql, input.campaignId, { runId: workflowId, type: 'import', wait: input.wait, asksNow }, runOpenOrUnknownIn(client))
      .catch(rethrowAsLockConflict('retry later or send wait: true to queue behind it.'));
    await client.workflow.start('listImport', {
      workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
      typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.listImport, campaignId: input.campaignId, triggeredBy }),
    });
  });
  return workflowId;
}

/** 422 when the upload or the destination named does not exist (also the exclusions import's check). */
export async function checkSource({ sql }: AppDeps, src: z.output<typeof importSource>): Promise<void> {
  if ('uploadId' in src) {
    const [upload] = await sql`select 1 from uploads where id = ${src.uploadId}`;
    if (!upload) throw unprocessable(`Upload ${src.uploadId} does not exist; upload the file first (POST /uploads).`);
    return;
  }
  const [destination] = await sql`select 1 from destinations where id = ${src.destinationId}`;
  if (!destination) throw unprocessable(`Destination ${src.destinationId} does not exist; create it first (POST /destinations).`);
}
