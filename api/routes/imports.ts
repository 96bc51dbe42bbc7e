// Job 3: start a calling-list import on a campaign (API.md "Job 3"). The request is validated and its
// source checked before anything starts; with `wait: false` a campaign already locked, or with another run
// waiting for its lock, is a 409 naming that run. The import itself runs in the listImport workflow under the campaign lock.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { campaignLockOf } from '../../lib/campaign-lock.js';
import { firstPendingRequest, recordLockRequest } from '../../lib/campaign-lock-requests.js';
import { runOpenIn } from '../../lib/campaign-lock-reaper.js';
import { IMPORT_RULES, MERGE_RULES, UPDATE_RULES } from '../../lib/import/rules.js';
import { SEPARATORS, type Separator } from '../../lib/import/rows.js';
import { RDATETIME } from '../../lib/import/source.js';
import { listImportWorkflowId, type ListImportInput } from '../../workflows/list-import-shared.js';
import { JOB_KINDS, runSearchAttributes } from '../../workflows/shared/search-attributes.js';
import { callerOf } from '../auth.js';
import type { AppDeps } from '../app.js';
import { startWorkflowIdempotent } from '../idempotency.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound, unprocessable } from '../problem.js';
import { idParams, isoDateTime, iso, runAccepted } from '../schemas.js';

const source = z.union([
  z.object({ destinationId: z.string().regex(/^[1-9][0-9]{0,17}$/), path: z.string().min(1).max(1000)
    .describe(`file path relative to the destination; ${RDATETIME} in the file name picks the newest yyyymmddhhMMss file`) }).strict(),
  z.object({ uploadId: z.string().min(1).max(100).describe('from POST /uploads') }).strict(),
]);

export const importRequest = z.object({
  source,
  separator: z.enum(Object.keys(SEPARATORS) as [Separator, ...Separator[]]).default(','),
  hasHeader: z.boolean().default(true),
  keyField: z.literal('clientId').default('clientId'),
  importRule: z.enum(IMPORT_RULES).default('append').describe('contacts only in the file'),
  updateRule: z.enum(UPDATE_RULES).default('nothing').describe('contacts only in the database'),
  mergeRule: z.enum(MERGE_RULES).default('nothing').describe('contacts in both'),
  deleteAllBeforeImport: z.boolean().default(false),
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
    // The lock check runs only when no run was started for this Idempotency-Key yet: a retry gets its run back.
    const { runId } = await startWorkflowIdempotent(sql, req, () => startUnderLockCheck(deps, input, `key-${caller.keyId}`));
    return { runId };
  });
}

/**
 * Starts the import with the campaign row locked FOR NO KEY UPDATE, which serializes starts and grants on the
 * campaign. With `wait: false` it is refused (409) while another run holds the lock or has asked for it and
 * waits (started, not yet granted): that one would be granted first and this one failed after its 202. An
 * import that asks at once is recorded as a lock request in the same transaction, before its run asks, so
 * a no-wait request right after it is refused too. A scheduled import is recorded when its time comes.
 */
async function startUnderLockCheck(deps: AppDeps, input: ListImportInput, triggeredBy: string): Promise<string> {
  const { sql, client, config } = deps;
  const workflowId = listImportWorkflowId(input.campaignId, new Date());
  await sql.begin(async (tx) => {
    // NO KEY UPDATE, not UPDATE: an apply in progress holds the campaign row FOR KEY SHARE (its contacts'
    // foreign key) until it commits, and must not hold this request up for that long.
    await tx`select id from campaigns where id = ${input.campaignId} for no key update`;
    if (!input.wait) await refuseIfContended(tx as unknown as Sql, client, input.campaignId);
    const asksNow = !input.scheduledAt || Date.parse(input.scheduledAt) <= Date.now();
    if (asksNow) await recordLockRequest(tx as unknown as Sql, input.campaignId, { runId: workflowId, type: 'import', wait: input.wait });
    await client.workflow.start('listImport', {
      workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
      typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.listImport, campaignId: input.campaignId, triggeredBy }),
    });
  });
  return workflowId;
}

async function refuseIfContended(tx: Sql, client: AppDeps['client'], campaignId: string): Promise<void> {
  // Temporal unreachable: a run is taken to be open (refusing is the safe answer to a no-wait request).
  const isRunOpen = (runId: string) => runOpenIn(client)(runId).catch(() => true);
  const lock = await campaignLockOf(tx, campaignId);
  if (lock && (await isRunOpen(lock.heldBy))) {
    throw conflict(`Campaign ${campaignId} is locked by ${lock.type} run ${lock.heldBy} since ${iso(lock.since)}; retry later or send wait: true to queue behind it.`,
      { lock: { heldBy: lock.heldBy, type: lock.type, since: iso(lock.since) } });
  }
  const waiting = await firstPendingRequest(tx, campaignId, isRunOpen);
  if (waiting) {
    throw conflict(`Campaign ${campaignId} is about to be locked: ${waiting.type} run ${waiting.runId} has waited for its lock since ${iso(waiting.since)}; retry later or send wait: true to queue behind it.`,
      { waiting: { runId: waiting.runId, type: waiting.type, since: iso(waiting.since) } });
  }
}

async function checkSource({ sql }: AppDeps, src: z.output<typeof source>): Promise<void> {
  if ('uploadId' in src) {
    const [upload] = await sql`select 1 from uploads where id = ${src.uploadId}`;
    if (!upload) throw unprocessable(`Upload ${src.uploadId} does not exist; upload the file first (POST /uploads).`);
    return;
  }
  const [destination] = await sql`select 1 from destinations where id = ${src.destinationId}`;
  if (!destination) throw unprocessable(`Destination ${src.destinationId} does not exist; create it first (POST /destinations).`);
}
