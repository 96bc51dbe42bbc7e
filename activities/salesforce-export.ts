// Activities of the periodic Salesforce export. A slice sends chunks of ≤200 result records, one sObject
// Collections request each, until nothing is left or its time is up; each chunk is claimed in the ledger before it
// is sent and settled with the watermark after (lib/salesforce/ledger.ts has the exactly-once argument). A
// refused request (limits, 5xx, a session jsforce could not renew) releases its claim and fails the activity, which
// Temporal retries with backoff; a refused login or a missing object fails the run at once.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Sql } from '../db/sql.js';
import { errorMessage } from '../shared/error-message.js';
import { classifyFailure, isNetworkFailure } from '../lib/failures.js';
import { requireAccount, SalesforceAccountNotFoundError } from '../lib/salesforce/accounts.js';
import { dropConnection, sharedConnection } from '../lib/salesforce/connection-cache.js';
import type { SalesforceConnection } from '../lib/salesforce/connection.js';
import { claim, inDoubt, release, runSummary, salesforceErrorsPath, settle, settleUnknown, type Outcome, type RunTotals } from '../lib/salesforce/ledger.js';
import { fieldTypes, recordOf, type DescribedObject } from '../lib/salesforce/mapping.js';
import { finishWindow, loadSalesforceJob, windowStart, type SalesforceJob } from '../lib/salesforce/jobs.js';
import { keyedResults, notInLedger, windowParams, type KeyedRow } from '../lib/salesforce/rows.js';
import { waitForAttemptsCollectedBy } from '../lib/reports/watermarks.js';
import { externalKey, MAX_COLLECTION_RECORDS, sendChunk } from '../lib/salesforce/send.js';
import {
  MAX_REPORTED_ERRORS, SALESFORCE_FAILURES, type RecordError, type SalesforceJobSummary, type SliceInput, type SliceResult,
} from '../contracts/salesforce-export.js';
import type { ActivityDeps } from './deps.js';

export function createSalesforceExportActivities(deps: ActivityDeps) {
  async function job(definitionId: string): Promise<SalesforceJob> {
    const found = await loadSalesforceJob(deps.sql, definitionId);
    if (!found) throw ApplicationFailure.nonRetryable(`Salesforce export job ${definitionId} does not exist (deleted?)`, SALESFORCE_FAILURES.jobNotFound);
    return found;
  }

  /** Salesforce's error as the activity's failure: permanent ones end the run, others are retried. */
  function failure(err: unknown, accountId: string): Error {
    if (err instanceof SalesforceAccountNotFoundError) return ApplicationFailure.nonRetryable(err.message, SALESFORCE_FAILURES.jobNotFound);
    dropConnection(accountId);
    if (classifyFailure('salesforce', err) === 'permanent') {
      return ApplicationFailure.nonRetryable(`Salesforce refused: ${errorMessage(err)}`, SALESFORCE_FAILURES.refused);
    }
    return err instanceof Error ? err : new Error(errorMessage(err));
  }

  return {
    async describeSalesforceJob(definitionId: string): Promise<SalesforceJobSummary> {
      const j = await job(definitionId);
      const windowEnd = new Date(Math.ceil(deps.clock().getTime() / 1000) * 1000).toISOString();
      return { name: j.name, campaignId: j.campaignId, campaignName: j.campaignName, windowEnd };
    },

    /** The run's counts and record errors, from the ledger. */
    async summarizeSalesforceRun(input: { definitionId: string; runId: string }): Promise<RunTotals> {
      const summary = await runSummary(deps.sql, input.definitionId, input.runId, MAX_REPORTED_ERRORS);
      // Every record error stays reachable, however many: the API pages through the ledger (docs/salesforce.md).
      return { ...summary, errorsPath: salesforceErrorsPath(input.definitionId, input.runId) };
    },

    async exportSalesforceSlice(input: SliceInput): Promise<SliceResult> {
      const j = await job(input.definitionId);
      const totals: SliceResult = { sent: 0, created: 0, updated: 0, failed: 0, unknown: 0, chunks: 0, errors: [], drained: false };
      const startAt = j.config.startAt ? Date.parse(j.config.startAt) : NaN;
      if (!Number.isNaN(startAt) && deps.clock().getTime() < startAt) return { ...totals, drained: true };
      const from = windowStart(j.watermark);
      const to = new Date(input.windowEnd);
      if (to <= from) return { ...totals, drained: true }; // a run that started later already read this window
      // Attempts collected by the window's end are all committed before it is read (as the results export does).
      await waitForAttemptsCollectedBy(deps.sql, to);
      return withJobLock(deps.sql, j.id, async () => {
        let conn: SalesforceConnection;
        let described: DescribedObject;
        try {
          conn = await sharedConnection(await requireAccount(deps.sql, deps.keyring, j.config.accountId));
          described = (await conn.describe(j.config.object)) as unknown as DescribedObject;
        } catch (err) {
          throw failure(err, j.config.accountId);
        }
        totals.errors.push(...(await resolveInDoubt(deps.sql, j, input.runId)));
        totals.unknown = totals.errors.length;
        const types = fieldTypes(described);
        const deadline = Date.now() + input.sliceMs;
        const size = Math.min(input.chunkSize, MAX_COLLECTION_RECORDS);
        const drained = await deps.sql.begin('isolation level repeatable read', async (tx) => {
          for await (const batch of keyedResults(tx, windowParams(j, from, to), size)) {
            const rows = await notInLedger(deps.sql, j.id, batch);
            if (rows.length === 0) continue;
            const outcomes = await sendClaimed(deps.sql, j, input.runId, conn, rows, types).catch((err: unknown) => { throw failure(err, j.config.accountId); });
            addOutcomes(totals, rows, outcomes);
            Context.current().heartbeat({ sent: totals.sent });
            if (Date.now() >= deadline || Context.current().cancellationSignal.aborted) return false;
          }
          return true;
        });
        if (drained) await finishWindow(deps.sql, j.id, to);
        return { ...totals, drained };
      });
    },
  };
}

/**
 * Claims still `sending` from an attempt that died: with an external id field they are released and so selected
 * and upserted again (harmless); without one they are settled `unknown` and reported (never created twice).
 */
async function resolveInDoubt(sql: Sql, j: SalesforceJob, runId: string): Promise<RecordError[]> {
  const errors: RecordError[] = [];
  for (;;) {
    const keys = await inDoubt(sql, j.id, 1000);
    if (keys.length === 0) return errors;
    if (j.config.externalIdField) await release(sql, j.id, keys);
    else errors.push(...(await settleUnknown(sql, j.id, runId, keys)));
  }
}

async function sendClaimed(sql: Sql, j: SalesforceJob, runId: string, conn: SalesforceConnection, rows: KeyedRow[], types: Map<string, string>): Promise<Outcome[]> {
  const { fieldMap, externalIdField, object } = j.config;
  const chunk = rows.map((r) => {
    const record = recordOf(r.row, fieldMap, types);
    if (externalIdField && !Object.keys(fieldMap).some((f) => f.toLowerCase() === externalIdField.toLowerCase())) {
      record[externalIdField] = externalKey(j.id, r.key);
    }
    return { key: r.key, record };
  });
  await claim(sql, j.id, runId, rows);
  let outcomes: Outcome[];
  try {
    outcomes = await sendChunk(conn, object, externalIdField, chunk);
  } catch (err) {
    // Salesforce answered with an error: the request saved nothing, so the claim is taken back. A broken
    // connection leaves the claim: whether Salesforce saved the records is unknown (resolveInDoubt).
    if (!isNetworkFailure(err)) await release(sql, j.id, rows.map((r) => r.key));
    throw err;
  }
  await settle(sql, j.id, outcomes);
  return outcomes;
}

function addOutcomes(totals: SliceResult, rows: KeyedRow[], outcomes: Outcome[]): void {
  const clientIds = new Map(rows.map((r) => [r.key, (r.row.client_id as string | null) ?? null]));
  totals.chunks++;
  for (const o of outcomes) {
    if (o.error) {
      totals.failed++;
      totals.errors.push({ key: o.key, clientId: clientIds.get(o.key) ?? null, error: o.error });
    } else {
      totals.sent++;
      if (o.created === false) totals.updated++;
      else totals.created++;
    }
  }
}

/** One slice of a job at a time, whoever started it (two runs of a job must not resolve each other's claims). */
async function withJobLock<T>(sql: Sql, jobId: string, work: () => Promise<T>): Promise<T> {
  const reserved = await sql.reserve();
  try {
    const [row] = await reserved<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtext(${`salesforce-export/${jobId}`})) as ok`;
    if (!row.ok) throw new Error(`another run of Salesforce export job ${jobId} is sending; this one retries when it is done`);
    try {
      return await work();
    } finally {
      await reserved`select pg_advisory_unlock(hashtext(${`salesforce-export/${jobId}`}))`;
    }
  } finally {
    reserved.release();
  }
}
