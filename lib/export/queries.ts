// The SQL of the recording export: load a job, select the next recordings after its watermark, and commit a
// batch (records + watermark + playback location) in one transaction guarded by the watermark it started from.
import type { Sql } from '../../db/sql.js';
import { exportJobConfigSchema, type ExportJobConfig, type ExportWatermark } from './definition.js';

export const RECORDING_EXPORT_KIND = 'recording-export';
const AFTER_ALL_IDS = '9223372036854775807';

export interface ExportJob {
  id: string; name: string; enabled: boolean; campaignId: string; campaignName: string; timezone: string;
  config: ExportJobConfig; watermark: ExportWatermark;
}

export interface RecordingRow {
  id: string; interaction_id: string; segment: number | null; store_key: string | null; completed_at: string;
  started_at: Date; customer_phone: string | null; agents: string[]; disposition: string | null; segment_agent: string | null;
}

export interface ExportRecord {
  content_id: string; path: string; location: string | null; size_bytes: number | null; sha256: string | null;
  result: 'exported' | 'failed'; error: string | null;
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

/** The recordings the job would export next, in (completion time, id) order, strictly after the watermark. */
function selection(sql: Sql, job: ExportJob) {
  const { config, watermark } = job;
  const dispositions = config.dispositions === 'all' ? null : config.dispositions;
  return sql`
    from interaction_content ic
    join interactions i on i.id = ic.interaction_id
    where ic.kind = 'voice-recording'
      and i.campaign_id = ${job.campaignId}
      and ${config.contentType === 'complete' ? sql`ic.segment is null` : sql`ic.segment is not null`}
      and ic.erased_at is null
      and (${dispositions === null} or i.disposition = any(${dispositions ?? []}::text[]))
      and (not ${config.voiceSignatureOnly} or i.voice_signature)
      and (ic.completed_at, ic.id) > (${watermark.completedAfter}::timestamptz, ${watermark.afterContentId ?? AFTER_ALL_IDS}::bigint)
      -- exported once by this job: never again. A recording that failed (content missing) is behind the watermark;
      -- it is selected again only when an administrator moves completedAfter back before it.
      and not exists (select 1 from recording_exports re where re.job_id = ${job.id} and re.content_id = ic.id and re.result = 'exported')`;
}

export async function countPending(sql: Sql, job: ExportJob): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select count(*) as n ${selection(sql, job)}`;
  return Number(row.n);
}

export function selectBatch(sql: Sql, job: ExportJob, limit: number): Promise<RecordingRow[]> {
  return sql<RecordingRow[]>`
    select ic.id, ic.interaction_id, ic.segment, ic.store_key, to_json(ic.completed_at) #>> '{}' as completed_at,
           i.started_at, i.customer_phone, i.agents, i.disposition,
           (select s.agent from interaction_segments s where s.interaction_id = ic.interaction_id and s.n = ic.segment) as segment_agent
    ${selection(sql, job)}
    order by ic.completed_at, ic.id
    limit ${limit}`;
}

/**
 * Records what a batch exported and moves the watermark to its last recording, atomically, and only if the
 * watermark is still the one the batch started from (two runs of one job can never both commit).
 */
export async function commitBatch(
  sql: Sql, job: ExportJob, runId: string, records: ExportRecord[], last: RecordingRow, playback: boolean,
): Promise<void> {
  const next: ExportWatermark = { completedAfter: last.completed_at, afterContentId: String(last.id) };
  await sql.begin(async (tx) => {
    const moved = await tx`
      update job_definitions
      set state = jsonb_set(state, '{watermark}', ${tx.json(next as never)}), updated_at = now()
      where id = ${job.id}
        and coalesce(state -> 'watermark', ${tx.json({ completedAfter: '-infinity', afterContentId: null } as never)}) = ${tx.json(job.watermark as never)}
      returning id`;
    if (moved.length === 0) {
      throw new WatermarkMovedError(`the watermark of export job ${job.id} moved while this batch ran (another run of the job, or an edit); the batch was not recorded and will be sent again by the next run`);
    }
    await tx`
      insert into recording_exports (job_id, content_id, run_id, path, location, size_bytes, sha256, result, error)
      select ${job.id}, content_id, ${runId}, path, location, size_bytes, sha256, result, error
      from jsonb_to_recordset(${tx.json(records as never)}) as r(content_id bigint, path text, location text,
        size_bytes bigint, sha256 text, result text, error text)
      on conflict (job_id, content_id) do update
        set run_id = excluded.run_id, path = excluded.path, location = excluded.location, size_bytes = excluded.size_bytes,
            sha256 = excluded.sha256, result = excluded.result, error = excluded.error, exported_at = now()
        where recording_exports.result = 'failed'`;
    if (playback) {
      await tx`
        update interaction_content ic set exported_to = r.location, exported_dest = ${job.config.destinationId}, exported_path = r.path
        from jsonb_to_recordset(${tx.json(records as never)}) as r(content_id bigint, path text, location text, result text)
        where ic.id = r.content_id and r.result = 'exported'`;
    }
  });
  job.watermark = next;
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
