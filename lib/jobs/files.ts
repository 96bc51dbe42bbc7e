// The file a job step hands to the next: read it from where it lies (a saved report in the content store, or a
// path on a destination) and copy it to a destination. Streams end to end; memory does not grow with the file.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import type { Keyring } from '../crypto/keys.js';
import { processResult } from '../contact-processes/results.js';
import { openDestination } from '../destinations.js';
import { getSavedReport } from '../reports/definitions.js';
import type { Transfer } from '../transfer/index.js';
import type { JobFile } from '../../contracts/job.js';

export interface FileDeps { sql: Sql; store: ContentStore; keyring: Keyring }

export class JobFileMissingError extends Error {}

export interface OpenedFile { content: Readable; sizeBytes?: number; close(): Promise<void> }

/** The file's content; `close()` it once the stream is consumed (it closes the source destination's connection). */
export async function openJobFile(deps: FileDeps, file: JobFile): Promise<OpenedFile> {
  if (file.source === 'saved-report') {
    const saved = await getSavedReport(deps.sql, file.savedReportId);
    if (!saved) throw new JobFileMissingError(`Saved report ${file.savedReportId} (${file.fileName}) is gone (expired or deleted); run the job again.`);
    return { content: await deps.store.get(saved.storeKey), sizeBytes: saved.sizeBytes, close: async () => {} };
  }
  if (file.source === 'process-file') {
    const stored = await processResult(deps.sql, file.runId);
    if (!stored?.fileKey) throw new JobFileMissingError(`The file of process ${file.runId} (${file.fileName}) is gone (expired or deleted); run the job again.`);
    return { content: await deps.store.get(stored.fileKey), sizeBytes: stored.counts.sizeBytes, close: async () => {} };
  }
  const transfer = await openDestination(deps.sql, deps.keyring, file.destinationId);
  try {
    return { content: await transfer.get(file.path), close: () => transfer.close().catch(() => {}) };
  } catch (err) {
    await transfer.close().catch(() => {});
    throw err;
  }
}

/** Where a copy lands: `path` itself, or `path` + the file's name when `path` is a folder (ends in "/"). */
export function copyTarget(path: string, fileName: string): string {
  return path.endsWith('/') ? posix.join(path, fileName) : path;
}

/** Copies the file to `destinationId`/`path`; a repeated copy overwrites the same target (the put is atomic). */
export async function copyJobFile(deps: FileDeps, file: JobFile, destinationId: string, path: string): Promise<Extract<JobFile, { source: 'destination' }> & { location: string }> {
  const target = copyTarget(path, file.fileName);
  const source = await openJobFile(deps, file);
  let transfer: Transfer | undefined;
  try {
    transfer = await openDestination(deps.sql, deps.keyring, destinationId);
    const put = await transfer.put(target, source.content, { sizeBytes: source.sizeBytes });
    return { source: 'destination', destinationId, path: put.path, fileName: posix.basename(put.path), location: put.location };
  } finally {
    source.content.destroy();
    await source.close();
    await transfer?.close().catch(() => {});
  }
}
