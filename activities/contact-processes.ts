// Activities of the contact processes (list export, bulk delete, bulk status change; issue 14): record the
// process, do its one transaction (lib/contact-processes/, exactly once: the result row is written with the
// change), send an export to its destination, report a late-cancel outcome, clean up. Failures no retry can fix
// are non-retryable; a cancel cancels the statement in PostgreSQL, so nothing is committed.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { CampaignLockLostError, forgetLockRequest } from '../lib/campaign-lock/index.js';
import { deleteContacts } from '../lib/contact-processes/delete.js';
import { exportContacts, sendExport } from '../lib/contact-processes/export.js';
import { processResult, type StoredResult } from '../lib/contact-processes/results.js';
import { CampaignNotRunningError, changeContactStatus } from '../lib/contact-processes/status-change.js';
import { DestinationNotFoundError, loadDestination, openDestination } from '../lib/destinations.js';
import { isPermanentFailure } from '../lib/failures.js';
import { keepHeartbeating } from '../lib/heartbeat.js';
import { markRunRunning, recordRunProgress, recordRunStart } from '../lib/runs/record.js';
import { TransferError } from '../lib/transfer/index.js';
import { CAMPAIGN_LOCK_FAILURES } from '../contracts/campaign-lock.js';
import {
  CONTACT_PROCESS_FAILURES, type ContactProcessInput, type ContactProcessResult, type ContactProcessType,
} from '../contracts/contact-process.js';
import { JOB_KINDS } from '../contracts/search-attributes.js';
import type { ActivityDeps } from './deps.js';
import { currentExecutionId } from './runs.js';

export const CONTACT_PROCESS_KINDS: Record<ContactProcessType, string> = {
  export: JOB_KINDS.listExport, delete: JOB_KINDS.listDelete, 'status-change': JOB_KINDS.listStatusChange,
};
const NAMES: Record<ContactProcessType, string> = {
  export: 'Contact list export', delete: 'Contact deletion', 'status-change': 'Contact status change',
};

async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CampaignLockLostError) throw ApplicationFailure.nonRetryable(err.message, CAMPAIGN_LOCK_FAILURES.lost);
    if (err instanceof CampaignNotRunningError) throw ApplicationFailure.nonRetryable(err.message, CONTACT_PROCESS_FAILURES.campaignNotRunning);
    if (err instanceof DestinationNotFoundError) throw ApplicationFailure.nonRetryable(err.message, CONTACT_PROCESS_FAILURES.destinationMissing);
    if (err instanceof TransferError && isPermanentFailure(err)) throw ApplicationFailure.nonRetryable(err.message, CONTACT_PROCESS_FAILURES.destinationMissing);
    throw err;
  }
}

/** The options a process row shows (no personal data beyond the filter the operator typed). */
function optionsOf(input: ContactProcessInput): Record<string, unknown> {
  const { campaignId: _c, actingUser: _a, scheduledAt: _s, type: _t, ...options } = input;
  return options;
}

export const toProcessResult = (stored: StoredResult, location: string | null = null): ContactProcessResult =>
  ({ ...stored.counts, fileKey: stored.fileKey, fileName: stored.fileName, location });

export function createContactProcessActivities(deps: ActivityDeps) {
  const { sql, store, keyring } = deps;
  return {
    async recordContactProcessStart(runId: string, input: ContactProcessInput): Promise<void> {
      const scheduled = input.scheduledAt && new Date(input.scheduledAt) > deps.clock();
      const [campaign] = await sql<{ name: string }[]>`select name from campaigns where id = ${input.campaignId}`;
      if (!campaign) throw ApplicationFailure.nonRetryable(`Campaign ${input.campaignId} does not exist.`, CONTACT_PROCESS_FAILURES.campaignMissing);
      await recordRunStart(sql, {
        runId, type: CONTACT_PROCESS_KINDS[input.type], name: NAMES[input.type], objectName: campaign.name, campaignId: input.campaignId,
        actingUser: input.actingUser ?? null, scheduledAt: input.scheduledAt ?? null,
      }, { status: scheduled ? 'scheduled' : 'running', step: scheduled ? 'scheduled' : 'waiting for campaign lock', executionId: currentExecutionId() });
      const source = input.type === 'export' && input.destinationId ? { destinationId: input.destinationId, folder: input.folder ?? '' } : {};
      await sql`
        insert into list_imports (run_id, campaign_id, type, acting_user, source, options, scheduled_at)
        values (${runId}, ${input.campaignId}, ${input.type}, ${input.actingUser ?? null}, ${sql.json(source)},
                ${sql.json(optionsOf(input) as never)}, ${input.scheduledAt ?? null})
        on conflict (run_id) do nothing`;
    },

    async markContactProcessStep(runId: string, step: string): Promise<void> {
      await markRunRunning(sql, runId, step);
    },

    /** The process's one transaction (export: its snapshot); exactly once per run. */
    async runContactProcess(runId: string, input: ContactProcessInput): Promise<ContactProcessResult> {
      const { cancellationSignal: signal } = Context.current();
      let progress = 0;
      const stop = keepHeartbeating(() => ({ progress }));
      const onProgress = (n: number) => {
        progress = n;
      };
      try {
        const stored = await classified(() => {
          switch (input.type) {
            case 'delete': return deleteContacts(deps, { runId, campaignId: input.campaignId, filter: input.filter, signal, onRows: onProgress });
            case 'status-change': return changeContactStatus(sql, { ...input, runId, signal });   // actingUser goes in the history
            case 'export': return exportContacts(deps, { ...input, runId, signal, onBytes: onProgress });
          }
        });
        await recordRunProgress(sql, { runId, done: stored.counts.matched, total: stored.counts.matched, sizeBytes: stored.counts.sizeBytes ?? 0 })
          .catch(() => undefined);
        return toProcessResult(stored);
      } catch (err) {
        if (signal.aborted) throw new CancelledFailure(`${input.type} cancelled; the transaction was rolled back`);
        throw err;
      } finally {
        stop();
      }
    },

    /** Sends a finished export to its destination folder with its log; the remote path. */
    async sendContactExport(runId: string, input: ContactProcessInput): Promise<string | null> {
      if (input.type !== 'export' || !input.destinationId) return null;
      const destinationId = input.destinationId;
      return classified(async () => {
        const stored = await processResult(sql, runId);
        if (!stored?.fileKey || !stored.fileName) throw new Error(`Export ${runId} has no file to send.`);
        const [row] = await sql<{ started_at: Date; object_name: string }[]>`select started_at, object_name from runs where run_id = ${runId}`;
        const destination = await loadDestination(sql, keyring, destinationId);
        const transfer = await openDestination(sql, keyring, destinationId);
        const stop = keepHeartbeating(() => ({ step: 'sending' }));
        try {
          const path = await sendExport(store, transfer, {
            folder: input.folder, fileKey: stored.fileKey, fileName: stored.fileName,
            log: {
              runId, campaign: `${row?.object_name ?? ''} (${input.campaignId})`, fields: input.fields, encoding: input.encoding,
              separator: input.separator, hasHeader: input.hasHeader, startedAt: (row?.started_at ?? deps.clock()).toISOString(),
              finishedAt: deps.clock().toISOString(), matched: stored.counts.matched, exported: stored.counts.exported ?? 0,
              sizeBytes: stored.counts.sizeBytes ?? 0,
            },
          });
          const location = `${destination?.name ?? `destination ${destinationId}`}:${path}`;
          await sql`update list_imports set file_location = ${location} where run_id = ${runId}`;
          return location;
        } finally {
          stop();
          await transfer.close();
        }
      });
    },

    /** The result if the process's transaction committed (a cancel that came too late does not undo it). */
    async contactProcessOutcome(runId: string): Promise<ContactProcessResult | null> {
      const stored = await processResult(sql, runId);
      return stored ? toProcessResult(stored) : null;
    },

    async cleanupContactProcess(runId: string): Promise<void> {
      await forgetLockRequest(sql, runId);   // recorded by the API at the start, even if the run never asked
    },
  };
}
