// Erasure activities: record the request and the end in the audit log, erase one batch of a confirmed
// preview, verify by reading every erased item back, and count what a run erased. Every step is safe to
// repeat: a batch only touches items not yet erased, and audit entries are written once per run.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { appendAuditOnce } from '../lib/audit/index.js';
import { removeAll } from '../lib/content-store/index.js';
import { eachLimit } from '../lib/content-store/bulk.js';
import { ExportedCopyUnreachableError, openExportedCopies } from '../lib/erasure/exported-copies.js';
import { countScrubbedExports, scrubExportedNames, scrubJournalNames, scrubRunExportNames } from '../lib/erasure/export-names.js';
import type { Sql } from '../db/sql.js';
import { remainingMessage, verifyErased, type VerifyProgress } from '../lib/erasure/verification.js';
import { isPermanentFailure } from '../lib/failures.js';
import { TransferError } from '../lib/transfer/index.js';
import {
  ERASURE_AUDIT_ACTIONS, ERASURE_FAILURES, ERASE_ATTEMPTS, VERIFY_ATTEMPTS, type EraseBatchInput, type EraseBatchResult, type ErasureCounts,
  type ErasureOutcome, type ErasureScope,
} from '../contracts/erasure.js';
import type { ActivityDeps } from './deps.js';

/** Exported copies removed or read back at once (over one connection per destination). */
const EXPORTED_CONCURRENCY = 8;
/** Store keys per bulk remove between heartbeats. */
const STORE_CHUNK = 1000;
const END_ACTIONS = [ERASURE_AUDIT_ACTIONS.completed, ERASURE_AUDIT_ACTIONS.failed, ERASURE_AUDIT_ACTIONS.cancelled];

export interface AuditedRun { runId: string; previewId: string; actor: string; reason: string; scope: ErasureScope }

interface Target {
  content_id: string; id: string | null; interaction_id: string; kind: string; segment: number | null;
  store_key: string | null; exported_to: string | null; exported_dest: string | null; exported_path: string | null;
  size_bytes: string | null;
}

/** The activity's context, or undefined when called directly (a test). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** What kind of fault, never its message: a message can carry the copy's path (a phone number in it). */
function faultOf(err: unknown): string {
  return err instanceof TransferError ? `${err.stage} failed` : (err as Error)?.name ?? 'error';
}

function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

export function createErasureActivities({ sql, store, keyring }: ActivityDeps) {
  /** The preview must exist and be the one this run confirmed: a run never erases anything else. */
  async function checkPreview(runId: string, previewId: string): Promise<void> {
    const [preview] = await sql<{ run_id: string | null }[]>`select run_id from erasure_previews where id = ${previewId}`;
    if (!preview || preview.run_id !== runId) {
      throw ApplicationFailure.nonRetryable(
        `Erasure preview ${previewId} ${preview ? `was confirmed by ${preview.run_id ?? 'no run'}` : 'does not exist'}, not by this run; start erasures with POST /erasures.`,
        ERASURE_FAILURES.previewMissing);
    }
  }

  /** Removes the content of the targets everywhere; returns the ones that could not be reached. An item
   *  whose exported copy cannot be reached keeps its stored object too (it is left untouched). A transient
   *  fault fails the attempt (it is retried), except on the last attempt: then the item is left untouched
   *  and reported, so a destination that stays down ends the run (ErasureIncomplete) instead of hanging it. */
  async function destroyContent(targets: Target[], lastAttempt: boolean): Promise<{ unreachable: Map<string, string>; gaveUp: string[] }> {
    const unreachable = new Map<string, string>();
    const gaveUp: string[] = [];
    const withCopies = targets.filter((t) => t.exported_to);
    if (withCopies.length) {
      const exported = openExportedCopies(sql, keyring);
      try {
        await eachLimit(withCopies, EXPORTED_CONCURRENCY, async (t) => {
          try {
            await exported.remove({ location: t.exported_to!, destinationId: t.exported_dest, path: t.exported_path });
          } catch (err) {
            const permanent = err instanceof ExportedCopyUnreachableError || (err instanceof TransferError && isPermanentFailure(err));
            if (!permanent && !lastAttempt) throw err;
            if (!permanent) gaveUp.push(t.id!);
            const why = err instanceof ExportedCopyUnreachableError ? 'no destination holds it'
              : err instanceof TransferError && isPermanentFailure(err) ? err.stage : `its destination still failing on the last attempt: ${faultOf(err)}`;
            // Locations can hold customer phone numbers (file-name templates): report the item, not the path.
            unreachable.set(t.id!, `content ${t.id} (${t.kind}): its exported playback copy cannot be erased (${why})`);
          }
          heartbeat();
        });
      } finally {
        await exported.close();
      }
    }
    // The content store in bulk (the local store unlinks 16 at a time, S3 deletes 1000 keys a request).
    for (let i = 0; i < targets.length; i += STORE_CHUNK) {
      const keys = targets.slice(i, i + STORE_CHUNK).filter((t) => t.store_key && !unreachable.has(t.id!)).map((t) => t.store_key!);
      await removeAll(store, keys);
      heartbeat();
    }
    return { unreachable, gaveUp };
  }

  /** Clears the content columns of the items just removed and journals them, counting into `result`. */
  async function clear(input: EraseBatchInput, done: Target[], result: EraseBatchResult): Promise<void> {
    // Cleared only if still pointing at what was just removed: content replaced meanwhile is new bytes
    // this batch has not removed yet, so the batch fails and its retry removes them.
    const rows = done.map((t) => ({
      id: t.id, interaction_id: t.interaction_id, kind: t.kind, segment: t.segment, store_key: t.store_key,
      exported_to: t.exported_to, exported_dest: t.exported_dest, exported_path: t.exported_path,
      size_bytes: t.size_bytes === null ? null : Number(t.size_bytes),
    }));
    // The stored names of the items' exported files go in the same transaction (lib/erasure/export-names.ts).
    const cleared = await sql.begin(async (txn) => {
      const tx = txn as unknown as Sql;
      const journalled = await tx<{ content_id: string; kind: string; size_bytes: string | null }[]>`
      with targets as (
        select * from jsonb_to_recordset(${sql.json(rows as never)}) as t(
          id bigint, interaction_id bigint, kind text, segment integer, store_key text, exported_to text,
          exported_dest bigint, exported_path text, size_bytes bigint)),
      cleared as (
        update interaction_content c
        set store_key = null, size_bytes = null, sha256 = null, exported_to = null, exported_dest = null, exported_path = null,
            erased_at = now(), erased_by = ${input.actor}, erased_run = ${input.runId}
        from targets t
        where c.id = t.id and c.erased_at is null
          and c.store_key is not distinct from t.store_key and c.exported_to is not distinct from t.exported_to
        returning c.id)
      insert into erasure_journal (run_id, content_id, interaction_id, kind, segment, store_key, exported_to, exported_dest, exported_path, size_bytes)
      select ${input.runId}, t.id, t.interaction_id, t.kind, t.segment, t.store_key, t.exported_to, t.exported_dest, t.exported_path, t.size_bytes
      from targets t join cleared using (id)
      returning content_id, kind, size_bytes`;
      await scrubExportedNames(tx, keyring, journalled.map((row) => String(row.content_id)));
      return journalled;
    });
    for (const row of cleared) {
      result.erased++;
      result.bytes += Number(row.size_bytes ?? 0);
      result.erasedByKind[row.kind] = (result.erasedByKind[row.kind] ?? 0) + 1;
    }
    if (cleared.length < done.length) {
      throw new Error(`${done.length - cleared.length} item(s) of this batch changed while being erased; the batch is retried.`);
    }
  }

  return {
    async checkErasurePreview(input: { runId: string; previewId: string }): Promise<void> {
      await checkPreview(input.runId, input.previewId);
    },

    async recordErasureRequested(run: AuditedRun & { counts: Record<string, number> }): Promise<number> {
      const entry = await appendAuditOnce(sql, {
        actor: run.actor, action: ERASURE_AUDIT_ACTIONS.requested, reason: run.reason, scope: { ...run.scope },
        counts: run.counts, runId: run.runId,
      });
      return entry.seq;
    },

    async eraseBatch(input: EraseBatchInput): Promise<EraseBatchResult> {
      const page = await sql<Target[]>`
        with page as (
          select content_id from erasure_preview_items
          where preview_id = ${input.previewId} and content_id > ${input.afterContentId}
          order by content_id limit ${input.limit})
        select page.content_id, c.id, c.interaction_id, c.kind, c.segment, c.store_key, c.exported_to, c.exported_dest,
               c.exported_path, c.size_bytes
        from page left join interaction_content c on c.id = page.content_id and c.erased_at is null
        order by page.content_id`;
      const result: EraseBatchResult = {
        lastContentId: page.length ? page[page.length - 1].content_id : null, processed: page.length,
        erased: 0, bytes: 0, erasedByKind: {}, problems: [],
      };
      const targets = page.filter((t) => t.id !== null);
      if (targets.length === 0) return result;
      const ctx = activityContext();
      const { unreachable, gaveUp } = await destroyContent(targets, !!ctx && ctx.info.attempt >= ERASE_ATTEMPTS);
      result.problems = [...unreachable.values()];
      const done = targets.filter((t) => !unreachable.has(t.id!));
      if (done.length) await clear(input, done, result);
      // A destination still down after every attempt: what could be erased is (and journalled, so the end
      // entry counts it); the run ends here instead of spending every later batch's attempts on it too.
      if (gaveUp.length) {
        gaveUp.sort((x, y) => Number(x) - Number(y));
        throw ApplicationFailure.nonRetryable(
          `Erasure stopped: the destination of ${gaveUp.length} exported copies could not be reached in ${ERASE_ATTEMPTS} attempts; content ${gaveUp.slice(0, 20).join(', ')}${gaveUp.length > 20 ? ', …' : ''} and the preview's items after content ${result.lastContentId} still hold content. `
            + 'Bring the destination back, then erase again with a new preview.',
          ERASURE_FAILURES.incomplete, { remaining: gaveUp });
      }
      return result;
    },

    /**
     * Reads back every item the run erased, in the content store and at every exported location, and
     * checks the database holds no content of the preview's items (all of them, or only the erased ones
     * when the run was cancelled). Any byte left fails the run, naming the content ids. Heartbeats after
     * every item with where it stands, so a retry resumes there; on the last attempt the retry policy
     * allows, a copy that still cannot be read back counts as remaining and the run ends.
     */
    async verifyErasure(input: { runId: string; previewId: string; requireAll: boolean }): Promise<{ checked: number }> {
      const ctx = activityContext();
      const ended = await verifyErased({
        sql, store, keyring, ...input,
        resume: ctx?.info.heartbeatDetails as VerifyProgress | undefined,
        lastAttempt: !ctx || ctx.info.attempt >= VERIFY_ATTEMPTS,
        onProgress: (progress) => ctx?.heartbeat(progress),
        signal: ctx?.cancellationSignal,
      });
      if (ended.remainingCount) {
        throw ApplicationFailure.nonRetryable(remainingMessage(ended), ERASURE_FAILURES.incomplete, { remaining: ended.remaining });
      }
      // Every copy is gone: the journal need not name them any more, and an export that recorded one of the
      // items after its batch (its copy removed, the row failed) has its name scrubbed too.
      await scrubRunExportNames(sql, keyring, input.runId);
      await scrubJournalNames(sql, keyring, input.runId);
      return { checked: ended.checked };
    },

    async countErased(input: { runId: string }): Promise<ErasureCounts> {
      return countErased(input.runId);
    },

    async recordErasureEnded(run: AuditedRun & { outcome: ErasureOutcome; counts: ErasureCounts; error?: string | null }): Promise<number> {
      return (await appendEnd(run)).seq;
    },

    /**
     * The end of a run in one step: counts what it erased (from the journal, so retried batches never
     * count twice), makes sure the requested entry comes first in the log (a cancel before the first step),
     * then appends the end entry. Each part is idempotent, so the whole is safe to retry.
     */
    async recordErasureEnd(run: AuditedRun & { outcome: ErasureOutcome; error?: string | null }): Promise<ErasureCounts> {
      const counts = await countErased(run.runId);
      await appendAuditOnce(sql, {
        actor: run.actor, action: ERASURE_AUDIT_ACTIONS.requested, reason: run.reason, scope: { ...run.scope }, counts: {}, runId: run.runId,
      });
      await appendEnd({ ...run, counts });
      return counts;
    },
  };

  async function appendEnd(run: AuditedRun & { outcome: ErasureOutcome; counts: ErasureCounts; error?: string | null }) {
    // The stored names of the erased items' exported files were replaced by keyed hashes (export-names.ts).
    const exportedFileNames = { scrubbed: await countScrubbedExports(sql, run.runId), filesRenamedOrRemoved: 'registered playback copies only' };
    return appendAuditOnce(sql, {
      actor: run.actor, action: ERASURE_AUDIT_ACTIONS[run.outcome], reason: run.reason,
      scope: { ...run.scope, exportedFileNames, ...(run.error ? { error: run.error } : {}) }, counts: run.counts, runId: run.runId,
    }, END_ACTIONS);
  }

  async function countErased(runId: string): Promise<ErasureCounts> {
    const [totals] = await sql<{ interactions: number; bytes: string; kinds: Record<string, number> | null }[]>`
      with items as (select distinct on (content_id) content_id, interaction_id, kind, size_bytes from erasure_journal where run_id = ${runId}),
      kinds as (select kind, count(*)::int as n from items group by kind)
      select (select count(distinct interaction_id)::int from items) as interactions,
             (select coalesce(sum(size_bytes), 0)::bigint from erasure_journal where run_id = ${runId}) as bytes,
             (select jsonb_object_agg(kind, n) from kinds) as kinds`;
    return { interactions: totals.interactions, bytes: Number(totals.bytes), ...(totals.kinds ?? {}) };
  }
}
