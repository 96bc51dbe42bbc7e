// Uploaded files (calling lists for imports), the owner of the `uploads` table. Uploads are personal data
// kept only as long as they are useful: together they may take at most UPLOAD_QUOTA_MB, and each expires
// UPLOAD_RETENTION_DAYS after it arrived (the cluster-wide chore `upload-retention` sweeps them, row and content
// object, every 10 minutes: contracts/chores.ts), unless an import
// that reads it is still scheduled or running.
import type { Sql } from '../db/sql.js';
import type { ContentStore, StoredObject } from './content-store/index.js';

const MB = 1024 * 1024;
/** Serializes the quota check with the insert, so two uploads cannot both fit the same free space. */
const QUOTA_LOCK = 0x75706c71; // "uplq"

export interface UploadLimits { quotaBytes: number; retentionDays: number }

export function uploadLimits(config: { UPLOAD_QUOTA_MB: number; UPLOAD_RETENTION_DAYS: number }): UploadLimits {
  return { quotaBytes: config.UPLOAD_QUOTA_MB * MB, retentionDays: config.UPLOAD_RETENTION_DAYS };
}

export class UploadQuotaExceededError extends Error {
  constructor(readonly usedBytes: number, readonly sizeBytes: number, readonly limits: UploadLimits) {
    super(
      `This upload (${mb(sizeBytes)} MB) does not fit the upload quota: ${mb(usedBytes)} MB of UPLOAD_QUOTA_MB=${mb(limits.quotaBytes)} ` +
        `are taken by uploads of the last ${limits.retentionDays} days. Wait for older uploads to expire ` +
        `(UPLOAD_RETENTION_DAYS=${limits.retentionDays}) or ask the operator to raise UPLOAD_QUOTA_MB.`,
    );
    this.name = 'UploadQuotaExceededError';
  }
}

const mb = (bytes: number) => Math.ceil(bytes / MB);

/** Bytes taken by the uploads still kept. */
export async function uploadBytesInUse(sql: Sql): Promise<number> {
  const [row] = await sql<{ used: string }[]>`select coalesce(sum(size_bytes), 0)::bigint as used from uploads`;
  return Number(row.used);
}

/** Refuses at once an upload whose declared size cannot fit (before a byte is stored). */
export async function checkUploadFits(sql: Sql, limits: UploadLimits, sizeBytes: number): Promise<void> {
  const used = await uploadBytesInUse(sql);
  if (used + sizeBytes > limits.quotaBytes) throw new UploadQuotaExceededError(used, sizeBytes, limits);
}

/** Records a stored object as an upload if it fits the quota; otherwise throws and the caller removes it. */
export async function recordUpload(sql: Sql, limits: UploadLimits, upload: { id: string; object: StoredObject; uploadedBy: string | null }): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${QUOTA_LOCK})`;
    await checkUploadFits(tx as unknown as Sql, limits, upload.object.sizeBytes);
    await tx`
      insert into uploads (id, store_key, size_bytes, sha256, uploaded_by)
      values (${upload.id}, ${upload.object.key}, ${upload.object.sizeBytes}, ${upload.object.sha256}, ${upload.uploadedBy})`;
  });
}

/** Deletes the uploads older than the retention (content first, then the row, in one transaction per pass:
 *  a failed removal keeps the row for the next pass). Returns the ids removed. */
export async function expireUploads(sql: Sql, store: ContentStore, limits: UploadLimits, now = new Date()): Promise<string[]> {
  const cutoff = new Date(now.getTime() - limits.retentionDays * 86_400_000);
  return sql.begin(async (tx) => {
    const expired = await tx<{ id: string; store_key: string }[]>`
      select u.id, u.store_key from uploads u
      where u.created_at < ${cutoff}
        and not exists (
          select 1 from list_imports li left join runs r on r.run_id = li.run_id
          where li.source->>'uploadId' = u.id and coalesce(r.status, 'running') in ('scheduled', 'running'))
      order by u.created_at
      limit 1000
      for update of u skip locked`;
    for (const { store_key } of expired) await store.remove(store_key);
    if (expired.length) await tx`delete from uploads where id = any(${expired.map((u) => u.id)}::text[])`;
    return expired.map((u) => u.id);
  });
}
