// The SQL of the recording export: load a job, select the next recordings after its watermark, and commit a
// batch (records + watermark + playback location) in one transaction guarded by the watermark it started from.
import type { Sql } from '../../db/sql.js';
import type { Keyring } from '../crypto/keys.js';
import { scrubbedName } from '../erasure/export-names.js';
import { exportJobConfigSchema, type ExportJobConfig, type ExportWatermark } from './definition.js';

export const RECORDING_EXPORT_KIND = 'recording-export';
const AFTER_ALL_IDS = '9223372036854775807';

export interface ExportJob {
  id: string; name: string; enabled: boolean; campaignId: string; campaignName: string; timezone: string;
  config: ExportJobConfig; watermark: ExportWatermark;
}

export interface RecordingRow {
  id: string; interaction_id: string; segment: number | null; store_key: string | null; completed_at: string; ingested_at: string;
  erased: boolean; expired: boolean; started_at: Date; customer_phone: string | null; agents: string[]; disposition: string | null; segment_agent: string | null;
}

export interface ExportRecord {
  content_id: string; path: string; location: string | null; size_bytes: number | null; sha256: string | null;
  result: 'exported' | 'failed' | 'expired'; error: string | null;
}

export class WatermarkMovedError extends Error {}

export async function loadExportJob(sql: Sql, id: string): Promise<ExportJob | undefined> {
  const [row] = await sql<{ id: string; name: string; enabled: boolean; campaign_id: string; campaign_name: string; timezone: string; config: unknown; state: { watermark?: ExportWatermark } }[]>`
    select d.id, d.name, d.enabled, d.campaign_id, c.name as campaign_name, c.timezone, d.config, d.state
    from job_definitions d join campaigns c on c.id = d.campaign_id
    where d.id = ${id} and d.kind = ${RECORDING_EXPORT_KIND}`;
  if (!row) return undefined;
  return {
    id: row.id, name: row.name, enabled: row.enabled, campaignId: row.campaign_id, campaignName: row.campaign_name,
    timezone: row.timezone, config: exportJobConfigSchema.parse(row.config),
    watermark: row.state.watermark ?? { completedAfter: '-infinity', afterContentId: null },
  };
}

/**
 * The newest ingestion time a batch may read up to (exclusive): every row ingested before it is committed.
 * ingested_at is the clock when a row is written, not when its transaction commits, so a row written by a
 * transaction still open could later appear behind the cursor. The cutoff is therefore the start of the
 * oldest transaction now writing interaction_content (its rows are ingested after it started); one whose
 * start cannot be seen (another role's backend, a prepared transaction) stops the cutoff at -infinity:
 * nothing is exported until it ends, nothing is skipped. Run on its own, before the selection's statement,
 * so the selection's snapshot sees every transaction that ended before the cutoff was taken.
 */
export async function ingestionCutoff(sql: Sql): Promise<string> {
  const [row] = await sql<{ cutoff: string }[]>`
    select to_json(least(clock_timestamp(), min(coalesce(a.xact_start, '-infinity'))))#>>'{}' as cutoff
    from pg_locks l left join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'relation' and l.relation = 'interaction_content'::regclass and l.mode = 'RowExclusiveLock'
      and l.pid is distinct from pg_backend_pid()`;
  return row.cutoff;
}

/**
 * The recordings the job would export next, in ingestion order, strictly after its cursor and before `cutoff`.
 * `withErased` keeps erased ones in the batch (flagged) so the batch can remove a file an earlier attempt sent
 * for one before it was erased (uploaded, then the attempt died before its commit).
 */
function selection(sql: Sql, job: ExportJob, cutoff: string, withErased = false) {
  const { config, watermark } = job;
  const dispositions = config.dispositions === 'all' ? null : config.dispositions;
  return sql`
    from interaction_content ic
    join interactions i on i.id = ic.interaction_id
    where ${config.contentType === 'chatTranscripts' ? sql`ic.kind = 'chat-transcript'` : sql`ic.kind = 'voice-recording'`}
      and i.campaign_id = ${job.campaignId}
      and ${config.contentType === 'agentSegments' ? sql`ic.segment is not null` : sql`ic.segment is null`}
      and (${withErased} or ic.erased_at is null)
      and (${dispositions === null} or i.disposition = any(${dispositions ?? []}::text[]))
      and (not ${config.voiceSignatureOnly} or i.voice_signature)
      and (ic.completed_at, ic.id) > (${watermark.completedAfter}::text::timestamptz, ${watermark.floorAfterContentId ?? AFTER_ALL_IDS}::bigint)
      and (ic.ingested_at, ic.id) > (${watermark.ingestedAfter ?? '-infinity'}::text::timestamptz, ${watermark.afterContentId ?? '0'}::bigint)
      and ic.ingested_at < ${cutoff}::text::timestamptz
      -- exported once by this job: never again. A recording that failed (content missing) is behind the cursor;
      -- it is selected again when its content is restored (a new ingested_at) or completedAfter is set again.
      and not exists (select 1 from recording_exports re where re.job_id = ${job.id} and re.content_id = ic.id and re.result = 'exported')`;
}

export async function countPending(sql: Sql, job: ExportJob): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select count(*) as n ${selection(sql, job, 'infinity')}`;
  return Number(row.n);
}

export async function selectBatch(sql: Sql, job: ExportJob, limit: number): Promise<RecordingRow[]> {
  const cutoff = await ingestionCutoff(sql);
  return sql<RecordingRow[]>`
    select ic.id, ic.interaction_id, ic.segment, ic.store_key, to_json(ic.completed_at) #>> '{}' as completed_at,
           to_json(ic.ingested_at) #>> '{}' as ingested_at, ic.erased_at is not null as erased,
           ic.store_key is null and ic.expired_at is not null as expired,
           i.started_at, i.customer_phone, i.agents, i.disposition,
           (select s.agent from interaction_segments s where s.interaction_id = ic.interaction_id and s.n = ic.segment) as segment_agent
    ${selection(sql, job, cutoff, true)}
    order by ic.ingested_at, ic.id
    limit ${limit}`;
}

/** The current content key of a recording (it changes when the content is replaced); null when erased. */
export async function currentStoreKey(sql: Sql, contentId: string): Promise<string | null> {
  const [row] = await sql<{ store_key: string | null }[]>`
    select store_key from interaction_content where id = ${contentId} and erased_at is null`;
  return row?.store_key ?? null;
}

/**
 * The destination a run sends to: the one its committed files went to, else the job's current one. A job
 * whose destination is changed mid-run finishes the run (and writes its manifest) where it started.
 */
export async function runDestinationId(sql: Sql, job: ExportJob, runId: string): Promise<string> {
  const [row] = await sql<{ destination_id: string }[]>`
    select destination_id from recording_exports
    where job_id = ${job.id} and run_id = ${runId} and destination_id is not null limit 1`;
  return row ? String(row.destination_id) : job.config.destinationId;
}

export interface BatchCommit {
  runId: string; records: ExportRecord[]; last: RecordingRow; destinationId: string;
  /** Record the exported objects as the recordings' playback copies (exported_to). */
  playback: boolean;
  /** Scrubs the names of recordings erased before the commit (the erasure's own scrub has run already). */
  keyring: Keyring;
  /**
   * Called inside the transaction, with the batch's recordings locked, for the files of recordings erased
   * since they were selected: it removes them from the destination before anything is recorded.
   */
  removeErased: (records: ExportRecord[]) => Promise<void>;
}

export const ERASED_DURING_EXPORT = 'the recording was erased while it was being exported; the copy sent was removed from the destination';

/**
 * Records what a batch exported and moves the cursor to its last recording, atomically, and only if the
 * watermark is still the one the batch started from (two runs of one job can never both commit). Returns
 * the records as written.
 *
 * The batch's recordings are locked first, so an erasure and this commit exclude each other per recording:
 * an erasure that committed before sees no copy of ours and this commit sees its erased_at (the copy just
 * sent is removed, recorded `failed`, never registered for playback); one that comes after waits for this
 * commit and then finds and removes the registered copy (its own guard on exported_to).
 */
export async function commitBatch(sql: Sql, job: ExportJob, batch: BatchCommit): Promise<ExportRecord[]> {
  const next: ExportWatermark = { ...job.watermark, ingestedAfter: batch.last.ingested_at, afterContentId: String(batch.last.id) };
  const records = await sql.begin(async (tx) => {
    const moved = await tx`
      update job_definitions
      set state = jsonb_set(state, '{watermark}', ${tx.json(next as never)}), updated_at = now()
      where id = ${job.id}
        and coalesce(state -> 'watermark', ${tx.json({ completedAfter: '-infinity', afterContentId: null } as never)}) = ${tx.json(job.watermark as never)}
      returning id`;
    if (moved.length === 0) {
      throw new WatermarkMovedError(`the watermark of export job ${job.id} moved while this batch ran (another run of the job, or an edit); the batch was not recorded and will be sent again by the next run`);
    }
    const locked = await tx<{ id: string; erased: boolean; completed_at: Date }[]>`
      select id, erased_at is not null as erased, completed_at from interaction_content
      where id = any(${batch.records.map((r) => r.content_id)}::bigint[])
      order by id for no key update`;
    next.completedThrough = latestCompletion(next.completedThrough, locked.map((r) => r.completed_at));
    await tx`
      update job_definitions set state = jsonb_set(state, '{watermark}', ${tx.json(next as never)})
      where id = ${job.id}`;
    const erased = new Set(locked.filter((r) => r.erased).map((r) => String(r.id)));
    const sentButErased = batch.records.filter((r) => erased.has(r.content_id) && r.result === 'exported');
    if (sentButErased.length) await batch.removeErased(sentButErased);
    // An erased recording's row stores its name scrubbed, as the erasure would have: the erasure (and its
    // read-back's rescrub) may have finished before this commit, and nothing would scrub it again.
    const written = batch.records.map((r): ExportRecord => (erased.has(r.content_id)
      ? { ...r, path: scrubbedName(batch.keyring, r.path), location: null, size_bytes: null, sha256: null, result: 'failed', error: ERASED_DURING_EXPORT }
      : r));
    await tx`
      insert into recording_exports (job_id, content_id, run_id, path, location, size_bytes, sha256, result, error, destination_id)
      select ${job.id}, content_id, ${batch.runId}, path, location, size_bytes, sha256, result, error, ${batch.destinationId}
      from jsonb_to_recordset(${tx.json(written as never)}) as r(content_id bigint, path text, location text,
        size_bytes bigint, sha256 text, result text, error text)
      on conflict (job_id, content_id) do update
        set run_id = excluded.run_id, path = excluded.path, location = excluded.location, size_bytes = excluded.size_bytes,
            sha256 = excluded.sha256, result = excluded.result, error = excluded.error, exported_at = now(),
            destination_id = excluded.destination_id
        where recording_exports.result <> 'exported'`;
    if (batch.playback) {
      await tx`
        update interaction_content ic set exported_to = r.location, exported_dest = ${batch.destinationId}, exported_path = r.path
        from jsonb_to_recordset(${tx.json(written as never)}) as r(content_id bigint, path text, location text, result text)
        where ic.id = r.content_id and r.result = 'exported' and ic.erased_at is null`;
    }
    return written;
  });
  job.watermark = next;
  return records;
}

/** The newest of a watermark's completedThrough and the completion times of a batch's recordings. */
function latestCompletion(through: string | undefined, completed: Date[]): string | undefined {
  const newest = Math.max(through ? Date.parse(through) : -Infinity, ...completed.map((d) => d.getTime()));
  return Number.isFinite(newest) ? new Date(newest).toISOString() : through;
}

export interface ManifestSourceRow {
  path: string; interaction_id: string; content_id: string; segment: number | null; campaign: string; started_at: Date;
  ended_at: Date; customer_phone: string | null; agents: string[]; segment_agent: string | null; disposition: string | null;
  size_bytes: string | null; sha256: string | null; result: string; error: string | null;
}

/** Did the run record any file (exported or failed)? */
export async function runRecordedAny(sql: Sql, jobId: string, runId: string): Promise<boolean> {
  const [row] = await sql<{ any: boolean }[]>`
    select exists (select 1 from recording_exports where job_id = ${jobId} and run_id = ${runId}) as any`;
  return row.any;
}

/** The run's export records with their call details, in export order, fetched in pages. */
export function manifestRows(sql: Sql, jobId: string, runId: string): AsyncIterable<ManifestSourceRow[]> {
  return sql<ManifestSourceRow[]>`
    select re.path, ic.interaction_id, re.content_id, ic.segment, c.name as campaign, i.started_at, i.ended_at,
           i.customer_phone, i.agents, s.agent as segment_agent, i.disposition, re.size_bytes, re.sha256, re.result, re.error
    from recording_exports re
    join interaction_content ic on ic.id = re.content_id
    join interactions i on i.id = ic.interaction_id
    join campaigns c on c.id = i.campaign_id
    left join interaction_segments s on s.interaction_id = ic.interaction_id and s.n = ic.segment
    where re.job_id = ${jobId} and re.run_id = ${runId}
    order by re.exported_at, ic.completed_at, ic.id`.cursor(500);
}
