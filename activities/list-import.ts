// Activities of the calling-list import (Job 3): record the process, stage the file (fetch, detect the
// encoding, parse, validate, COPY), apply the rules in one transaction (exactly once, even when retried
// after a crash), write the statistics log, clean up. Each retries from its own start: staging begins by
// deleting what an earlier attempt staged; the apply is skipped when its result is already recorded.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Readable } from 'node:stream';
import { connect, type Sql } from '../db/sql.js';
import { assertLockHeldBy, CampaignLockLostError, forgetLockRequest } from '../lib/campaign-lock/index.js';
import { DestinationNotFoundError, openDestination } from '../lib/destinations.js';
import { isPermanentFailure } from '../lib/failures.js';
import { keepHeartbeating } from '../lib/heartbeat.js';
import { ImportFileError } from '../lib/import/errors.js';
import { applyImportRules, type RuleCounts } from '../lib/import/rules.js';
import { pickNewestFile, rdatetimePattern } from '../lib/import/source.js';
import { dropStagedRows, stageImportFile, type StageProgress } from '../lib/import/stage.js';
import { statsLog } from '../lib/import/stats-log.js';
import { markRunRunning, recordRunProgress, recordRunStart } from '../lib/runs/record.js';
import { TransferError, type Transfer } from '../lib/transfer/index.js';
import { CAMPAIGN_LOCK_FAILURES } from '../contracts/campaign-lock.js';
import { type ImportCounts, type ListImportInput, type ListImportResult, IMPORT_FAILURES, type ImportSource } from '../contracts/list-import.js';
import { createCampaignLockActivities } from './campaign-lock.js';
import type { ActivityDeps } from './deps.js';
import { currentExecutionId } from './runs.js';

export interface StageSummary { file: string; encoding: string; bytesRead: number; totalBytes: number | null; rowsRead: number; rejected: number }

interface OpenedSource { file: string; totalBytes: number | null; open(): Promise<Readable>; transfer?: Transfer }

/** Turns failures no retry can fix into non-retryable ApplicationFailures; everything else is retried. */
async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ImportFileError) throw ApplicationFailure.nonRetryable(err.message, err.type);
    if (err instanceof CampaignLockLostError) throw ApplicationFailure.nonRetryable(err.message, CAMPAIGN_LOCK_FAILURES.lost);
    if (err instanceof DestinationNotFoundError) throw ApplicationFailure.nonRetryable(err.message, IMPORT_FAILURES.sourceMissing);
    if (err instanceof TransferError && isPermanentFailure(err)) throw ApplicationFailure.nonRetryable(err.message, IMPORT_FAILURES.sourceMissing);
    throw err;
  }
}

export function createListImportActivities(deps: ActivityDeps) {
  const { sql, store, keyring } = deps;

  async function openSource(runId: string, source: ImportSource): Promise<OpenedSource> {
    if ('uploadId' in source) {
      const [upload] = await sql<{ store_key: string; size_bytes: string }[]>`select store_key, size_bytes from uploads where id = ${source.uploadId}`;
      if (!upload) throw new ImportFileError(IMPORT_FAILURES.sourceMissing, `Upload ${source.uploadId} does not exist; upload the file again (POST /uploads).`);
      return { file: `upload:${source.uploadId}`, totalBytes: Number(upload.size_bytes), open: () => store.get(upload.store_key) };
    }
    const transfer = await openDestination(sql, keyring, source.destinationId);
    try {
      // The file is resolved once per run and remembered, so a retry reads the same file even if a newer
      // $rdatetime$ file has arrived since.
      const [known] = await sql<{ file: string | null }[]>`select file from list_imports where run_id = ${runId}`;
      const pattern = rdatetimePattern(source.path);
      const file = known?.file ?? (pattern ? pickNewestFile(source.path, await transfer.list(pattern.dir)) : source.path);
      const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
      const listed = await transfer.list(dir).catch(() => []);
      const totalBytes = listed.find((f) => f.path === file || f.name === file.slice(file.lastIndexOf('/') + 1))?.sizeBytes ?? null;
      return { file, totalBytes, open: () => transfer.get(file), transfer };
    } catch (err) {
      await transfer.close();
      throw err;
    }
  }

  async function reportProgress(runId: string, progress: ImportProgressDetails): Promise<void> {
    Context.current().heartbeat(progress);
    // The row and the heartbeat carry the progress; the workflow is not signalled (issue 12: one history event a
    // second grew a long import's history toward the 50k-event limit for no reader).
    await recordRunProgress(sql, { runId, done: progress.bytesRead, total: progress.totalBytes, sizeBytes: progress.bytesRead }).catch(() => undefined);
  }

  return {
    ...createCampaignLockActivities(deps),

    async recordImportStart(runId: string, input: ListImportInput): Promise<void> {
      const scheduled = input.scheduledAt && new Date(input.scheduledAt) > deps.clock();
      const [campaign] = await sql<{ name: string }[]>`select name from campaigns where id = ${input.campaignId}`;
      if (!campaign) throw ApplicationFailure.nonRetryable(`Campaign ${input.campaignId} does not exist.`, IMPORT_FAILURES.campaignMissing);
      const options = { separator: input.separator, hasHeader: input.hasHeader, keyField: input.keyField, importRule: input.importRule,
        updateRule: input.updateRule, mergeRule: input.mergeRule, deleteAllBeforeImport: input.deleteAllBeforeImport, wait: input.wait,
        listName: input.listName ?? 'default' };
      // The run record first (its owner counts the start); both writes are idempotent, so a retry after a
      // crash between them completes the pair.
      await recordRunStart(sql, {
        runId, type: 'list-import', name: 'Contact list import', objectName: campaign.name, campaignId: input.campaignId,
        actingUser: input.actingUser ?? null, scheduledAt: input.scheduledAt ?? null,
      }, { status: scheduled ? 'scheduled' : 'running', step: scheduled ? 'scheduled' : 'waiting for campaign lock', executionId: currentExecutionId() });
      await sql`
        insert into list_imports (run_id, campaign_id, acting_user, source, options, scheduled_at)
        values (${runId}, ${input.campaignId}, ${input.actingUser ?? null}, ${sql.json(input.source as never)}, ${sql.json(options)}, ${input.scheduledAt ?? null})
        on conflict (run_id) do nothing`;
    },

    async markImportStep(runId: string, step: string): Promise<void> {
      await markRunRunning(sql, runId, step);
    },

    async stageImport(runId: string, input: ListImportInput): Promise<StageSummary> {
      return classified(async () => {
        const source = await openSource(runId, input.source);
        const latest: ImportProgressDetails = { bytesRead: 0, totalBytes: source.totalBytes, rowsRead: 0, rejected: 0 };
        const stop = keepHeartbeating(() => latest);
        try {
          await sql`update list_imports set file = ${source.file} where run_id = ${runId}`;
          const staged = await stageImportFile(deps.databaseUrl, {
            runId, separator: input.separator, hasHeader: input.hasHeader, open: source.open,
            signal: Context.current().cancellationSignal,
            onProgress: (progress: StageProgress) => {
              Object.assign(latest, progress);
              void reportProgress(runId, latest);
            },
          }, (url) => connect(url, { max: 1 }));
          if (staged.rowsRead > 0 && staged.rowsRead === staged.rejected) {
            const [first] = await sql<{ line: number; reject_reason: string }[]>`
              select line, reject_reason from list_import_rows where run_id = ${runId} order by line limit 1`;
            throw new ImportFileError(IMPORT_FAILURES.notAList,
              `None of the ${staged.rowsRead} rows of ${source.file} is a valid contact (line ${first.line}: ${first.reject_reason}); check the separator, the header flag and the file.`);
          }
          // Planner statistics for the rows just copied: without them the apply estimates a handful of staged
          // rows and joins a million of them to contacts one index probe at a time. Here rather than in the
          // apply's transaction, where ANALYZE's lock would be held to the commit and queue other imports.
          await sql`analyze list_import_rows (run_id, client_id, reject_reason)`;
          await sql`update list_imports set encoding = ${staged.encoding} where run_id = ${runId}`;
          return { file: source.file, encoding: staged.encoding, bytesRead: staged.bytesRead, totalBytes: source.totalBytes ?? staged.bytesRead,
                   rowsRead: staged.rowsRead, rejected: staged.rejected };
        } catch (err) {
          if (Context.current().cancellationSignal.aborted) throw new CancelledFailure('import cancelled while reading the file');
          throw err;
        } finally {
          stop();
          await source.transfer?.close();
        }
      });
    },

    /** Applies the rules in one transaction; exactly once per run (the result row is written in it). */
    async applyImport(runId: string, input: ListImportInput): Promise<RuleCounts> {
      const [done] = await sql<{ counts: RuleCounts }[]>`select counts from list_import_results where run_id = ${runId}`;
      if (done) return done.counts;
      const signal = Context.current().cancellationSignal;
      const stop = keepHeartbeating(() => ({ step: 'applying' }));
      try {
        // classified: a lock found lost (freed as stale under this run) fails the run at once, nothing applied.
        return await classified(() => sql.begin(async (tx) => {
          const [{ pid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
          const cancelQuery = () => void sql`select pg_cancel_backend(${pid})`.catch(() => undefined);
          signal.addEventListener('abort', cancelQuery, { once: true });
          try {
            await assertLockHeldBy(tx as unknown as Sql, input.campaignId, runId);
            const counts = await applyImportRules(tx as unknown as Sql, input.campaignId, runId, input,
              { listName: input.listName, actor: input.actingUser });
            await tx`insert into list_import_results (run_id, counts) values (${runId}, ${tx.json(counts as never)})`;
            await tx`update list_imports set counts = counts || ${tx.json(counts as never)} where run_id = ${runId}`;
            // A cancel that came while no statement was running (between two of them) cancelled nothing in
            // PostgreSQL; it is honoured here, so a cancelled import never commits. Only the COMMIT is left:
            // a cancel during it either fails it (rolled back, reported cancelled) or comes too late, and the
            // run then reports the committed import as completed.
            if (signal.aborted) throw new CancelledFailure('import cancelled while applying; the transaction was rolled back');
            return counts;
          } finally {
            signal.removeEventListener('abort', cancelQuery);
          }
        }));
      } catch (err) {
        if (signal.aborted) throw new CancelledFailure('import cancelled while applying; the transaction was rolled back');
        throw err;
      } finally {
        stop();
      }
    },

    /** The counts if the apply committed (a cancel that came too late does not undo a committed import). */
    async importOutcome(runId: string): Promise<RuleCounts | null> {
      const [done] = await sql<{ counts: RuleCounts }[]>`select counts from list_import_results where run_id = ${runId}`;
      return done?.counts ?? null;
    },

    async writeImportLog(runId: string, input: ListImportInput, staged: StageSummary, counts: RuleCounts): Promise<ListImportResult> {
      return classified(async () => {
        const [row] = await sql<{ started_at: Date; object_name: string }[]>`select started_at, object_name from runs where run_id = ${runId}`;
        const finishedAt = deps.clock().toISOString();
        const header = {
          runId, campaign: `${row.object_name} (${input.campaignId})`, file: staged.file, encoding: staged.encoding,
          startedAt: row.started_at.toISOString(), finishedAt, rowsRead: staged.rowsRead, counts,
          rules: { importRule: input.importRule, updateRule: input.updateRule, mergeRule: input.mergeRule, deleteAllBeforeImport: input.deleteAllBeforeImport },
        };
        const stored = await store.put(statsLog(sql, header), { prefix: 'import-logs' });
        let logLocation: string | null = null;
        if ('destinationId' in input.source) {
          const transfer = await openDestination(sql, keyring, input.source.destinationId);
          try {
            logLocation = (await transfer.put(`${staged.file}.log`, statsLog(sql, header))).location;
          } finally {
            await transfer.close();
          }
        }
        const rejectedRows = (await sql<{ line: number; reject_reason: string }[]>`
          select line, reject_reason from list_import_rows where run_id = ${runId} and reject_reason is not null order by line limit 50`)
          .map((r) => ({ line: r.line, reason: r.reject_reason }));
        const allCounts: ImportCounts = { rowsRead: staged.rowsRead, ...counts };
        await sql`update list_imports set log_key = ${stored.key}, log_location = ${logLocation}, counts = ${sql.json(allCounts as never)} where run_id = ${runId}`;
        return { ...allCounts, file: staged.file, encoding: staged.encoding, rejectedRows, logKey: stored.key, logLocation,
                 startedAt: header.startedAt, finishedAt };
      });
    },

    async cleanupImport(runId: string): Promise<void> {
      await dropStagedRows(sql, runId);
      await forgetLockRequest(sql, runId);   // recorded by the API at the start, even if the run never asked
    },
  };
}

type ImportProgressDetails = StageProgress & { totalBytes: number | null };
