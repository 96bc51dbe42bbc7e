// Activities of the exclusions import (seed 000 "Import exclusions by account"): record the process, read the file
// into the blacklist in batches (lib/blacklist/import.ts), each batch exactly once however often the activity is
// retried, and read the counts back from what the run added.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Readable } from 'node:stream';
import { exclusionsOutcome, readExclusions, writeExclusionsBatch, type ExclusionsProgress } from '../lib/blacklist/import.js';
import { DestinationNotFoundError, openDestination } from '../lib/destinations.js';
import { isPermanentFailure } from '../lib/failures.js';
import { keepHeartbeating } from '../lib/heartbeat.js';
import { ImportFileError } from '../lib/import/errors.js';
import { pickNewestFile, rdatetimePattern } from '../lib/import/source.js';
import { recordRunProgress, recordRunStart } from '../lib/runs/record.js';
import { TransferError, type Transfer } from '../lib/transfer/index.js';
import type { ExclusionsImportInput, ExclusionsImportResult } from '../contracts/exclusions-import.js';
import { JOB_KINDS } from '../contracts/search-attributes.js';
import type { ActivityDeps } from './deps.js';
import { currentExecutionId } from './runs.js';
import { IMPORT_FAILURES } from '../contracts/list-import.js';

export function createExclusionsImportActivities(deps: ActivityDeps) {
  const { sql, store, keyring } = deps;

  async function openSource(runId: string, input: ExclusionsImportInput): Promise<{ file: string; open: () => Promise<Readable>; transfer?: Transfer }> {
    const { source } = input;
    if ('uploadId' in source) {
      const [upload] = await sql<{ store_key: string }[]>`select store_key from uploads where id = ${source.uploadId}`;
      if (!upload) throw new ImportFileError(IMPORT_FAILURES.sourceMissing, `Upload ${source.uploadId} does not exist; upload the file again (POST /uploads).`);
      return { file: `upload:${source.uploadId}`, open: () => store.get(upload.store_key) };
    }
    const transfer = await openDestination(sql, keyring, source.destinationId);
    try {
      const [known] = await sql<{ file: string | null }[]>`select file from exclusion_imports where run_id = ${runId}`;
      const pattern = rdatetimePattern(source.path);
      const file = known?.file ?? (pattern ? pickNewestFile(source.path, await transfer.list(pattern.dir)) : source.path);
      return { file, open: () => transfer.get(file), transfer };
    } catch (err) {
      await transfer.close();
      throw err;
    }
  }

  return {
    async recordExclusionsImportStart(runId: string, input: ExclusionsImportInput): Promise<void> {
      await recordRunStart(sql, {
        runId, type: JOB_KINDS.exclusionsImport, name: 'Import exclusions', objectName: 'blacklist', actingUser: input.actingUser ?? null,
      }, { status: 'running', step: 'reading', executionId: currentExecutionId() });
      await sql`
        insert into exclusion_imports (run_id, acting_user, source) values (${runId}, ${input.actingUser ?? null}, ${sql.json(input.source as never)})
        on conflict (run_id) do nothing`;
    },

    /** Reads the whole file into the blacklist; a retry starts over and adds only what is missing. */
    async importExclusions(runId: string, input: ExclusionsImportInput): Promise<ExclusionsImportResult> {
      const signal = Context.current().cancellationSignal;
      const latest: ExclusionsProgress = { linesRead: 0, valid: 0, rejected: 0 };
      const stop = keepHeartbeating(() => latest);
      let transfer: Transfer | undefined;
      try {
        const source = await openSource(runId, input);
        transfer = source.transfer;
        await sql`update exclusion_imports set file = ${source.file} where run_id = ${runId}`;
        const read = await readExclusions(source.open, (batch) => writeExclusionsBatch(sql, runId, input.actingUser ?? null, batch), {
          signal,
          onProgress: (progress) => {
            Object.assign(latest, progress);
            void recordRunProgress(sql, { runId, done: progress.linesRead }).catch(() => undefined);
          },
        });
        const outcome = await exclusionsOutcome(sql, runId);
        const result: ExclusionsImportResult = {
          file: source.file, linesRead: read.linesRead, added: outcome.added, duplicates: read.valid - outcome.added, rejected: read.rejected,
          phonesExcluded: outcome.phonesExcluded, rejectedLines: read.rejectedLines,
        };
        const { rejectedLines } = result;
        const counts = { linesRead: result.linesRead, added: result.added, duplicates: result.duplicates, rejected: result.rejected, phonesExcluded: result.phonesExcluded };
        await sql`update exclusion_imports set counts = ${sql.json(counts)}, rejected_lines = ${sql.json(rejectedLines)} where run_id = ${runId}`;
        return result;
      } catch (err) {
        if (signal.aborted) throw new CancelledFailure('exclusions import cancelled; the batches already written stay');
        if (err instanceof ImportFileError) throw ApplicationFailure.nonRetryable(err.message, err.type);
        if (err instanceof DestinationNotFoundError) throw ApplicationFailure.nonRetryable(err.message, IMPORT_FAILURES.sourceMissing);
        if (err instanceof TransferError && isPermanentFailure(err)) throw ApplicationFailure.nonRetryable(err.message, IMPORT_FAILURES.sourceMissing);
        throw err;
      } finally {
        stop();
        await transfer?.close();
      }
    },
  };
}
