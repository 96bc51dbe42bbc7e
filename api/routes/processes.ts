// The Contact List Processes view of seed 001: import, export, delete and status-change processes of a campaign,
// and the account's exclusions-import processes (seed 000 "Import exclusions by account"; no campaign), with their
// scheduled time, campaign, user, status, progress, start/end, file and counts; newest first, paged by one id
// (exclusion_imports.id comes from list_imports' sequence, migration 0031). Status
// follows the seed's words: pending (scheduled or waiting for the campaign lock), running, finished,
// cancelled, failed. Cancel with POST /runs/{runId}/cancel. The file column names the file read: an upload
// is downloadable from GET /processes/{runId}/file; a remote file is shown as its destination and path.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { notFound } from '../problem.js';
import { decodeCursor, iso, pageOf, pageQuery, paged } from '../schemas.js';

const STATUSES = ['pending', 'running', 'finished', 'cancelled', 'failed'] as const;
/** import, the contact processes of issue 14 (api/routes/contact-processes.ts) and the blacklist's imports. */
const TYPES = ['import', 'export', 'delete', 'status-change', 'exclusions-import'] as const;
type ProcessType = (typeof TYPES)[number];

const processRow = z.object({
  processId: z.string(), runId: z.string(), scheduledAt: z.string().nullable(), type: z.enum(TYPES),
  campaignId: z.string().nullable().describe('null for an exclusions-import (the blacklist is the account\'s)'),
  campaign: z.string().nullable(), user: z.string().nullable(), status: z.enum(STATUSES), step: z.string().nullable(),
  progress: z.number().nullable(), startedAt: z.string().nullable(), endedAt: z.string().nullable(),
  file: z.string().nullable().describe('the file read: "upload:<uploadId>", or "<destination name>:<path>" ($rdatetime$ resolved once read); '
    + 'an export: its file name, and where it was sent; a deletion: the CSV of the deleted contacts'),
  fileUrl: z.string().nullable().describe('where to download the file (GET /processes/{runId}/file): an uploaded source, an export, the deleted contacts; null otherwise'),
  details: z.object({ imported: z.number(), updated: z.number(), deleted: z.number(), rejected: z.number() }).catchall(z.number())
    .describe('import: imported, updated, deleted, rejected; export: matched, exported; delete: matched, deleted; status-change: matched, changed, phonesChanged; '
      + 'exclusions-import: linesRead, added (also as imported), duplicates, rejected, phonesExcluded'),
  error: z.string().nullable(),
}).meta({ id: 'Process' });

interface Row {
  id: string; run_id: string; scheduled_at: Date | null; type: ProcessType; campaign_id: string | null; campaign: string | null;
  acting_user: string | null; status: string | null; step: string | null; progress_done: string | null; progress_total: string | null;
  started_at: Date | null; ended_at: Date | null; file: string | null; counts: Record<string, number>; error: string | null; log_key: string | null;
  source: { uploadId: string } | { destinationId: string; path: string }; destination_name: string | null; holds_lock: boolean;
  file_key: string | null; file_location: string | null;
}

/** The file column: an upload by id, a remote file as "<destination>:<path>" (the path as requested until the
 *  run has resolved $rdatetime$). */
function fileOf(row: Row): { file: string | null; fileUrl: string | null } {
  if (row.type === 'exclusions-import') {
    if ('uploadId' in row.source) return { file: `upload:${row.source.uploadId}`, fileUrl: null };
    return { file: `${row.destination_name ?? `destination ${row.source.destinationId}`}:${row.file ?? row.source.path}`, fileUrl: null };
  }
  if (row.type !== 'import') {
    const file = row.file_location ? `${row.file} (sent to ${row.file_location})` : row.file;
    return { file, fileUrl: row.file_key ? `/processes/${encodeURIComponent(row.run_id)}/file` : null };
  }
  if ('uploadId' in row.source) return { file: `upload:${row.source.uploadId}`, fileUrl: `/processes/${encodeURIComponent(row.run_id)}/file` };
  return { file: `${row.destination_name ?? `destination ${row.source.destinationId}`}:${row.file ?? row.source.path}`, fileUrl: null };
}

/** The seed's status words from the run record. A run that holds its campaign's lock is running even
 *  before it records its next step: the lock row is what the API's 409 names, and the same query reads
 *  both, so the holder never shows as pending while another request is refused because of it. */
export function processStatus(status: string | null, step: string | null, holdsLock = false): (typeof STATUSES)[number] {
  switch (status) {
    case 'completed': return 'finished';
    case 'failed': return 'failed';
    case 'cancelled': case 'terminated': return 'cancelled';
    case 'running': return step === 'waiting for campaign lock' && !holdsLock ? 'pending' : 'running';
    default: return 'pending';
  }
}

const waitingForLock = (sql: Sql) => sql`r.status = 'running' and r.step = 'waiting for campaign lock' and l.held_by is null`;

const statusFilter = (sql: Sql, status: (typeof STATUSES)[number]) => {
  switch (status) {
    case 'finished': return sql`r.status = 'completed'`;
    case 'failed': return sql`r.status = 'failed'`;
    case 'cancelled': return sql`r.status in ('cancelled', 'terminated')`;
    case 'running': return sql`r.status = 'running' and not (${waitingForLock(sql)})`;
    case 'pending': return sql`(r.status is null or r.status = 'scheduled' or (${waitingForLock(sql)}))`;
  }
};

function toProcess(row: Row): z.input<typeof processRow> {
  const status = processStatus(row.status, row.step, row.holds_lock);
  const done = Number(row.progress_done ?? 0), total = row.progress_total === null ? null : Number(row.progress_total);
  const counts = row.counts ?? {};
  return {
    processId: row.id, runId: row.run_id, scheduledAt: iso(row.scheduled_at), type: row.type, campaignId: row.campaign_id, campaign: row.campaign,
    user: row.acting_user, status, step: row.step,
    progress: status === 'finished' ? 100 : total ? Math.min(100, Math.floor((done / total) * 100)) : status === 'pending' ? 0 : null,
    startedAt: status === 'pending' ? null : iso(row.started_at), endedAt: iso(row.ended_at), ...fileOf(row),
    details: row.type === 'import'
      ? { ...counts, imported: counts.imported ?? 0, updated: counts.updated ?? 0, deleted: counts.deleted ?? 0, rejected: counts.rejected ?? 0 }
      : row.type === 'exclusions-import'
        ? { linesRead: 0, added: 0, duplicates: 0, phonesExcluded: 0, ...counts, imported: counts.added ?? 0, updated: 0, deleted: 0, rejected: counts.rejected ?? 0 }
        : { imported: 0, updated: 0, deleted: 0, rejected: 0, matched: 0, ...counts },
    error: row.error,
  };
}

function selectProcesses(sql: Sql) {
  return sql`
    select p.id, p.run_id, p.scheduled_at, p.type, p.campaign_id, c.name as campaign, p.acting_user, r.status, r.step,
           r.progress_done, r.progress_total, r.started_at, r.ended_at, p.file, p.counts, r.error, p.log_key, p.source, d.name as destination_name,
           l.held_by is not null as holds_lock, p.file_key, p.file_location
    from list_imports p join campaigns c on c.id = p.campaign_id left join runs r on r.run_id = p.run_id
      left join destinations d on d.id = (p.source->>'destinationId')::bigint
      left join campaign_locks l on l.campaign_id = p.campaign_id and l.held_by = p.run_id`;
}

/** The exclusions-import processes in the same columns (no campaign, no lock: `l` joins nothing, so the status
 *  filter reads the same columns in both). */
function selectExclusionImports(sql: Sql) {
  return sql`
    select e.id, e.run_id, null::timestamptz as scheduled_at, 'exclusions-import' as type, null::bigint as campaign_id, null::text as campaign,
           e.acting_user, r.status, r.step, r.progress_done, r.progress_total, r.started_at, r.ended_at, e.file, e.counts, r.error,
           null::text as log_key, e.source, d.name as destination_name, false as holds_lock, null::text as file_key, null::text as file_location
    from exclusion_imports e left join runs r on r.run_id = e.run_id
      left join destinations d on d.id = (e.source->>'destinationId')::bigint
      left join campaign_locks l on false`;
}

export function register(r: RouteRegistry, { sql, store }: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/processes', role: 'viewer',
    query: pageQuery.extend({
      campaignId: z.string().regex(/^[1-9][0-9]{0,17}$/).optional(),
      type: z.enum(TYPES).optional(),
      status: z.enum(STATUSES).optional(),
    }),
    response: paged(processRow),
    summary: 'Contact List Processes: import, export, delete, status-change and exclusions-import processes, newest first',
    example: {
      response: {
        items: [{
          processId: '12', runId: 'list-import/1/2025-03-01T10:15:00.000Z', scheduledAt: null, type: 'import', campaignId: '1', campaign: 'Spring renewals',
          user: 'key:ops', status: 'finished', step: 'done', progress: 100, startedAt: '2025-03-01T10:15:00.000Z', endedAt: '2025-03-01T10:16:12.000Z',
          file: 'upload:8', fileUrl: '/processes/list-import%2F1%2F2025-03-01T10%3A15%3A00.000Z/file',
          details: { imported: 1180, updated: 35, deleted: 0, rejected: 4 }, error: null,
        }],
        nextCursor: null,
      },
    },
  }, async ({ query }) => {
    const after = decodeCursor(query.cursor);
    const n = query.limit + 1;
    const status = query.status ? sql`and ${statusFilter(sql, query.status)}` : sql``;
    const branches = [];
    if (query.type !== 'exclusions-import') {
      branches.push(sql`(${selectProcesses(sql)}
        where true
          ${after !== '0' ? sql`and p.id < ${after}` : sql``}
          ${query.campaignId ? sql`and p.campaign_id = ${query.campaignId}` : sql``}
          ${query.type ? sql`and p.type = ${query.type}` : sql``}
          ${status}
        order by p.id desc limit ${n})`);
    }
    if (!query.campaignId && (!query.type || query.type === 'exclusions-import')) {
      branches.push(sql`(${selectExclusionImports(sql)}
        where true ${after !== '0' ? sql`and e.id < ${after}` : sql``} ${status}
        order by e.id desc limit ${n})`);
    }
    if (!branches.length) return { items: [], nextCursor: null };
    const rows = await sql<Row[]>`
      select * from (${branches.reduce((all, branch) => sql`${all} union all ${branch}`)}) x order by x.id desc limit ${n}`;
    const page = pageOf(rows, query.limit);
    return { items: page.items.map(toProcess), nextCursor: page.nextCursor };
  });

  defineRoute(r, {
    method: 'get', path: '/processes/{runId}/log', role: 'viewer', download: { contentTypes: ['text/plain; charset=utf-8'] },
    params: z.object({ runId: z.string().min(1).max(400) }),
    summary: 'The statistics log of a finished import (text/plain): times, counts, every rejected row with its reason',
  }, async ({ params, res }) => {
    const [row] = await sql<{ log_key: string | null }[]>`select log_key from list_imports where run_id = ${params.runId}`;
    if (!row) throw notFound(`No list process ${params.runId}.`);
    if (!row.log_key) throw notFound(`Process ${params.runId} has no statistics log yet (it is written when the import finishes).`);
    const body = await store.get(row.log_key);
    res.status(200).type('text/plain; charset=utf-8');
    await new Promise<void>((resolve, reject) => { body.on('error', reject); res.on('finish', resolve); body.pipe(res); });
  });

  defineRoute(r, {
    method: 'get', path: '/processes/{runId}/file', role: 'viewer', download: { contentTypes: ['application/octet-stream'] },
    params: z.object({ runId: z.string().min(1).max(400) }),
    summary: 'The source file of an import that read an upload, as uploaded (application/octet-stream); '
      + 'a file read from a destination stays there (404 naming the destination and path); the file of an export, '
      + 'and the deleted contacts of a deletion (CSV), once the process has made it',
  }, async ({ params, res }) => {
    const [row] = await sql<{ source: Row['source']; file: string | null; destination_name: string | null; store_key: string | null;
      type: ProcessType; file_key: string | null }[]>`
      select p.source, p.file, d.name as destination_name, u.store_key, p.type, p.file_key
      from list_imports p left join uploads u on u.id = p.source->>'uploadId'
        left join destinations d on d.id = (p.source->>'destinationId')::bigint
      where p.run_id = ${params.runId}`;
    if (!row) throw notFound(`No list process ${params.runId}.`);
    if (row.type !== 'import') {
      if (!row.file_key) throw notFound(`Process ${params.runId} has no file${row.type === 'status-change' ? ' (a status change makes none)' : ' yet (it is made when the process runs)'}.`);
      const stored = await store.get(row.file_key);
      res.status(200).type('application/octet-stream').attachment(row.type === 'export' ? row.file ?? 'export' : row.file ?? 'deleted-contacts.csv');
      await new Promise<void>((resolve, reject) => { stored.on('error', reject); res.on('finish', resolve); stored.pipe(res); });
      return;
    }
    if (!('uploadId' in row.source)) {
      throw notFound(`Process ${params.runId} read ${row.file ?? row.source.path} on destination ${row.destination_name ?? row.source.destinationId} `
        + `(id ${row.source.destinationId}); the platform keeps no copy of it — fetch it from there.`);
    }
    if (!row.store_key) throw notFound(`Upload ${row.source.uploadId} of process ${params.runId} no longer exists.`);
    const body = await store.get(row.store_key);
    res.status(200).type('application/octet-stream').attachment(row.source.uploadId);
    await new Promise<void>((resolve, reject) => { body.on('error', reject); res.on('finish', resolve); body.pipe(res); });
  });
}
