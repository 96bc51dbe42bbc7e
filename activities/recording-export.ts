// Activities of Job 1, periodic recording export. A batch streams each recording from the content store
// (decrypting) through a SHA-256/size meter to the destination, `parallelism` at a time, stops starting files
// when the window closes or the run is cancelled, and commits what it finished together with the watermark.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { DateTime } from 'luxon';
import type { Readable } from 'node:stream';
import { ContentMissingError } from '../lib/content-store/types.js';
import { StreamCipherError } from '../lib/crypto/stream-cipher.js';
import { DestinationNotFoundError, loadDestination, openStoredDestination } from '../lib/destinations.js';
import { fileNameCollisions, manifestNameCollisions, renderFileName } from '../lib/export/file-names.js';
import { manifestStream, type ManifestRow } from '../lib/export/manifest.js';
import { manifestPlaceholderValues, runToken } from '../lib/export/manifest-name.js';
import {
  commitBatch, countPending, currentStoreKey, loadExportJob, manifestRows, runDestinationId, runRecordedAny, selectBatch,
  WatermarkMovedError, type ExportJob, type ExportRecord, type ManifestSourceRow, type RecordingRow,
} from '../lib/export/queries.js';
import { createThrottle, type Throttle } from '../lib/export/throttle.js';
import { parseExportWindow, windowState } from '../lib/export/window.js';
import { isPermanentFailure } from '../lib/failures.js';
import { isPastStorageTime } from '../lib/lifecycle/expiry.js';
import { createMeter } from '../lib/meter.js';
import { TransferError, type Transfer } from '../lib/transfer/index.js';
import {
  EXPORT_FAILURES, type BatchInput, type BatchResult, type ExportJobSummary, type ManifestInput, type ManifestResult,
  type WindowCheck,
} from '../contracts/recording-export.js';
import type { ActivityDeps } from './deps.js';

/** A handled recording; `record` is null for an erased one (nothing to record, its file removed if sent). */
type Outcome = { record: ExportRecord | null; row: RecordingRow } | undefined;

export function createRecordingExportActivities(deps: ActivityDeps) {
  const window = () => parseExportWindow(deps.config.EXPORT_WINDOW);

  async function job(definitionId: string): Promise<ExportJob> {
    const found = await loadExportJob(deps.sql, definitionId);
    if (!found) throw ApplicationFailure.nonRetryable(`recording export job ${definitionId} does not exist (deleted?)`, EXPORT_FAILURES.jobNotFound);
    return found;
  }

  /** The run's destination: the one its committed files went to, so a job edited mid-run does not split it. */
  async function destination(j: ExportJob, runId: string): Promise<{ transfer: Transfer; protocol: string; id: string }> {
    const id = await runDestinationId(deps.sql, j, runId);
    const stored = await loadDestination(deps.sql, deps.keyring, id);
    if (!stored) throw ApplicationFailure.nonRetryable(new DestinationNotFoundError(id).message, EXPORT_FAILURES.destination);
    return { transfer: openStoredDestination(deps.sql, stored), protocol: stored.settings.protocol, id };
  }

  return {
    async describeExportJob(definitionId: string): Promise<ExportJobSummary> {
      const j = await job(definitionId);
      return { name: j.name, campaignId: j.campaignId, campaignName: j.campaignName, pending: await countPending(deps.sql, j) };
    },

    async checkExportWindow(): Promise<WindowCheck> {
      const w = window();
      const now = deps.clock();
      const state = windowState(w, now);
      return { open: state.open, opensInMs: state.open ? 0 : state.opensAt!.getTime() - now.getTime(), window: w?.text ?? null };
    },

    async exportRecordingBatch(input: BatchInput): Promise<BatchResult> {
      const j = await job(input.definitionId);
      // One row past the batch tells whether anything is left: the run then ends after its last full batch
      // instead of asking again for an empty one.
      const selected = await selectBatch(deps.sql, j, input.batchSize + 1);
      const rows = selected.slice(0, input.batchSize);
      const empty = { exported: 0, failed: 0, sizeBytes: 0, errors: [], lastCompletedAt: null };
      if (rows.length === 0) return { ...empty, drained: true, windowClosed: false };
      const target = await destination(j, input.runId);
      const { transfer } = target;
      const w = window();
      const throttle = createThrottle(deps.config.EXPORT_BANDWIDTH_KBPS);
      const ctx = Context.current();
      const outcomes: Outcome[] = new Array(rows.length);
      let stop: 'window' | 'cancelled' | undefined;
      let failure: unknown;
      let next = 0;
      const worker = async () => {
        while (!stop && failure === undefined && next < rows.length) {
          if (!windowState(w, deps.clock()).open) { stop = 'window'; break; }
          if (ctx.cancellationSignal.aborted) { stop = 'cancelled'; break; }
          const i = next++;
          try {
            const row = rows[i];
            outcomes[i] = { row, record: row.erased ? await removeErasedFile(j, row, transfer) : await exportOne(j, row, transfer, throttle) };
            ctx.heartbeat({ done: i + 1 });
          } catch (err) {
            failure ??= err;
          }
        }
      };
      // Only the unbroken prefix is committed: the watermark can never pass a recording that was not sent.
      const done: NonNullable<Outcome>[] = [];
      let records: ExportRecord[] = [];
      try {
        await Promise.all(Array.from({ length: Math.max(1, Math.min(input.parallelism, rows.length)) }, worker));
        for (const outcome of outcomes) { if (!outcome) break; done.push(outcome); }
        // The commit may remove files of recordings erased meanwhile, so the destination is still open.
        if (done.length) records = await commit(j, input.runId, done, target);
      } finally {
        await transfer.close().catch(() => undefined);
      }
      if (failure !== undefined) throw classify(failure);
      if (stop === 'cancelled') throw new CancelledFailure('the run was cancelled; exported files up to here are recorded');
      return {
        exported: records.filter((r) => r.result === 'exported').length,
        failed: records.filter((r) => r.result === 'failed').length,
        sizeBytes: records.reduce((sum, r) => sum + (r.size_bytes ?? 0), 0),
        // By content and interaction id, never by file name: a name from the template can hold customer data
        // (`${customerPhone}`), and the run's result is kept (runs.result, Temporal history).
        errors: records.filter((r) => r.error && r.result === 'failed').map((r) => failedItem(r, done)),
        drained: !stop && selected.length <= input.batchSize,
        windowClosed: stop === 'window',
        lastCompletedAt: done.at(-1)?.row.completed_at ?? null,
      };
    },

    async uploadExportManifest(input: ManifestInput): Promise<ManifestResult> {
      const j = await job(input.definitionId);
      const at = DateTime.fromISO(input.at, { zone: j.timezone });
      const end = input.periodEnd ? DateTime.fromISO(input.periodEnd, { zone: j.timezone }) : at;
      const ctx = Context.current();
      const template = j.config.manifestTemplate;
      const path = renderFileName(template, manifestPlaceholderValues({
        at, periodEnd: end, jobId: j.id, runToken: runToken(ctx.info.workflowExecution ?? { workflowId: input.runId, runId: input.at }),
      }));
      const counts = { rows: 0, exported: 0, failed: 0, expired: 0, recordingBytes: 0 };
      // A name without the run's token may be another run's manifest (same second): an empty run then
      // uploads nothing rather than replace it.
      const skipIfEmpty = input.skipIfEmpty || manifestNameCollisions(template).length > 0;
      if (skipIfEmpty && !(await runRecordedAny(deps.sql, j.id, input.runId))) return { path: null, sizeBytes: 0, ...counts };
      const source = (async function* () {
        for await (const page of manifestRows(deps.sql, j.id, input.runId)) {
          for (const r of page) {
            counts.rows++;
            if (r.result === 'exported') counts.exported++; else if (r.result === 'expired') counts.expired++; else counts.failed++;
            counts.recordingBytes += Number(r.size_bytes ?? 0);
          }
          ctx.heartbeat({ rows: counts.rows });
          yield page.map((r) => manifestRow(r, j.timezone));
        }
      })();
      const { transfer } = await destination(j, input.runId);
      try {
        const put = await transfer.put(path, manifestStream(source), { contentType: 'text/csv' });
        return { path: put.path, sizeBytes: put.sizeBytes, ...counts };
      } catch (err) {
        throw classify(err);
      } finally {
        await transfer.close().catch(() => undefined);
      }
    },
  };

  async function exportOne(j: ExportJob, row: RecordingRow, transfer: Transfer, throttle: Throttle): Promise<ExportRecord> {
    const path = renderFileName(j.config.fileNameTemplate, placeholderValues(j, row));
    const base = { content_id: String(row.id), path };
    // Past the storage time (expired, or its object removed by the expiry run in progress): reported as
    // expired, not as a failure; it will never be exported.
    const expired = { ...base, location: null, size_bytes: null, sha256: null, result: 'expired' as const, error: EXPIRED_BEFORE_EXPORT };
    if (row.expired) return expired;
    let body: Readable;
    try {
      body = await openContent(row);
    } catch (err) {
      if (err instanceof ContentMissingError && await isPastStorageTime(deps.sql, String(row.id), deps.config.RECORDING_STORAGE_DAYS, deps.clock())) return expired;
      if (isContentFault(err)) return { ...base, location: null, size_bytes: null, sha256: null, result: 'failed', error: contentError(err) };
      throw err;
    }
    const meter = createMeter({ onChunk: (chunk) => { Context.current().heartbeat(); return throttle.take(chunk.length); } });
    body.on('error', (err) => meter.destroy(err));
    try {
      const put = await transfer.put(path, body.pipe(meter), { contentType: j.config.contentType === 'chatTranscripts' ? 'text/plain' : 'audio/wav' });
      return { ...base, location: put.location, size_bytes: meter.sizeBytes(), sha256: meter.sha256(), result: 'exported', error: null };
    } catch (err) {
      if (isContentFault(err)) return { ...base, location: null, size_bytes: null, sha256: null, result: 'failed', error: contentError(err) };
      throw withoutName(err, j, row, path);
    } finally {
      body.destroy();
    }
  }

  /**
   * An erased recording after the cursor may have been sent by an attempt that died before its commit: its
   * file is removed if it is there. Only under names unique to a recording (a colliding template, saved
   * before those were refused, could name another recording's file).
   */
  async function removeErasedFile(j: ExportJob, row: RecordingRow, transfer: Transfer): Promise<null> {
    if (fileNameCollisions(j.config.fileNameTemplate, j.config.contentType).length) return null;
    const path = renderFileName(j.config.fileNameTemplate, placeholderValues(j, row));
    await removeIfPresent(transfer, path).catch((err) => { throw withoutName(err, j, row, path); });
    return null;
  }

  /**
   * The recording's content. The key selected with the batch may have been replaced since (PUT …/recording
   * removes the old object): a missing object is looked up again under the row's current key before the
   * recording is reported failed.
   */
  async function openContent(row: RecordingRow): Promise<Readable> {
    try {
      if (!row.store_key) throw new ContentMissingError('(none)');
      return await deps.store.get(row.store_key);
    } catch (err) {
      if (!(err instanceof ContentMissingError)) throw err;
      const current = await currentStoreKey(deps.sql, row.id);
      if (!current || current === row.store_key) throw err;
      row.store_key = current;
      return deps.store.get(current);
    }
  }

  async function commit(j: ExportJob, runId: string, done: NonNullable<Outcome>[], target: { transfer: Transfer; protocol: string; id: string }): Promise<ExportRecord[]> {
    try {
      return await commitBatch(deps.sql, j, {
        runId, records: done.flatMap((d) => (d.record ? [d.record] : [])), last: done.at(-1)!.row, destinationId: target.id,
        playback: j.config.useForPlayback && target.protocol === 's3',
        keyring: deps.keyring,
        removeErased: async (records) => {
          for (const r of records) {
            await removeIfPresent(target.transfer, r.path).catch((err) => {
              throw withoutName(err, j, done.find((d) => String(d.row.id) === r.content_id)?.row, r.path);
            });
          }
        },
      });
    } catch (err) {
      if (err instanceof WatermarkMovedError) throw ApplicationFailure.nonRetryable(err.message, EXPORT_FAILURES.watermarkMoved);
      throw err;
    }
  }
}

/** The placeholders of a recording's file name (times in the campaign's timezone). */
function placeholderValues(j: ExportJob, row: RecordingRow): Record<string, string | null> {
  const start = DateTime.fromJSDate(row.started_at, { zone: j.timezone });
  const first = row.agents[0] ?? null;
  const last = row.agents.at(-1) ?? null;
  const segments = j.config.contentType === 'agentSegments';
  return {
    callDate: start.toFormat('yyyy-MM-dd'), callHour: start.toFormat('HH'), callTime: start.toFormat('HH-mm-ss'),
    customerPhone: row.customer_phone, agent: segments ? last : first, segmentAgent: row.segment_agent ?? first,
    disposition: row.disposition, campaign: j.campaignName, recordingId: String(row.id), interactionId: String(row.interaction_id),
  };
}

/** A failed item of a batch as the run's result reports it: its ids and the error, never its file name. */
function failedItem(r: ExportRecord, done: NonNullable<Outcome>[]): string {
  const row = done.find((d) => String(d.row.id) === r.content_id)?.row;
  return `recording ${r.content_id}${row ? ` (interaction ${row.interaction_id})` : ''}: ${r.error}`;
}

/** The placeholders whose rendered values are personal data (the customer's, the agents'). */
const PERSONAL_PLACEHOLDERS = ['customerPhone', 'agent', 'segmentAgent'] as const;

/**
 * A destination error of one item without the item's file name: transfer errors quote the path (and the
 * absolute file or folder it makes), and a name from the template can hold customer data, while a thrown
 * error ends up in the run's error and in Temporal history. The path and every personal value rendered into
 * it are replaced; the error's kind (TransferError, its stage and permanence) is kept.
 */
function withoutName(err: unknown, j: ExportJob, row: RecordingRow | undefined, path: string): unknown {
  if (!(err instanceof Error) || !row) return err;
  const values = placeholderValues(j, row);
  const label = `<file of recording ${row.id}>`;
  let message = err.message.split(path).join(label);
  for (const name of PERSONAL_PLACEHOLDERS) {
    const raw = values[name];
    if (!raw) continue;
    for (const v of new Set([raw, safeRendered(name, values)])) if (v && v.length >= 3) message = message.split(v).join(`<${name}>`);
  }
  if (message === err.message) return err;
  if (err instanceof TransferError) return new TransferError(message, err.stage, err.permanent);
  return new Error(message);
}

/** A placeholder's value as a file name renders it (cleaned), or null. */
function safeRendered(name: string, values: Record<string, string | null>): string | null {
  try {
    return renderFileName(`\${${name}}`, values);
  } catch {
    return null;
  }
}

function manifestRow(r: ManifestSourceRow, zone: string): ManifestRow {
  const iso = (d: Date) => DateTime.fromJSDate(d, { zone }).toISO();
  return {
    file_path: r.path, interaction_id: r.interaction_id, recording_id: r.content_id, segment: r.segment, campaign: r.campaign,
    call_start: iso(r.started_at), call_end: iso(r.ended_at),
    duration_s: Math.round((r.ended_at.getTime() - r.started_at.getTime()) / 1000),
    customer_phone: r.customer_phone, agents: r.agents.join(';'), segment_agent: r.segment_agent, disposition: r.disposition,
    size_bytes: r.size_bytes, sha256: r.sha256, result: r.result, error: r.error,
  };
}

/**
 * Removes a file if the destination has it. Asked first, so a destination that lets us write but not delete
 * fails only when there really is a file to remove.
 */
async function removeIfPresent(transfer: Transfer, path: string): Promise<void> {
  try {
    (await transfer.get(path)).destroy();
  } catch (err) {
    if (err instanceof TransferError && err.stage === 'read' && isPermanentFailure(err)) return;
    throw err;
  }
  await transfer.remove(path);
}

const EXPIRED_BEFORE_EXPORT = 'the recording had expired (past the provider\'s storage time, RECORDING_STORAGE_DAYS) before it could be exported';

/** A recording whose stored content is gone or unreadable: reported, never retried. */
function isContentFault(err: unknown): boolean {
  return err instanceof ContentMissingError || err instanceof StreamCipherError;
}

function contentError(err: unknown): string {
  return err instanceof ContentMissingError
    ? 'the recording is missing from the content store (erased or lost); it cannot be exported'
    : `the stored recording cannot be decrypted: ${(err as Error).message}`;
}

/** Permanent destination faults (credentials, permissions, missing bucket) fail the run; others are retried. */
function classify(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof TransferError && isPermanentFailure(err)) {
    return ApplicationFailure.create({ message: `destination ${err.stage} failed: ${err.message}`, type: EXPORT_FAILURES.destination, nonRetryable: true });
  }
  return err;
}
