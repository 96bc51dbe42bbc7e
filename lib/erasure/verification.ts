// Reading an erasure back: every item a run erased must be gone from the content store and from every
// exported location, and the database must hold no content of the preview's items. The check walks the
// run's journal in small chunks and reports its progress after each item, so a retry (worker crash,
// heartbeat timeout on a slow destination) resumes after the last chunk it finished instead of starting
// over. A copy that cannot be read back is never taken as gone: it is reported as remaining.
import type { Sql } from '../../db/sql.js';
import { eachLimit } from '../content-store/bulk.js';
import { stillHeld, type ContentStore } from '../content-store/index.js';
import type { Keyring } from '../crypto/keys.js';
import { isPermanentFailure } from '../failures.js';
import { TransferError } from '../transfer/index.js';
import { ExportedCopyUnreachableError, openExportedCopies, type ExportedCopies } from './exported-copies.js';
import { isScrubbedName } from './export-names.js';

/** Journal rows fetched per query. */
const VERIFY_PAGE = 512;
/** Journal rows read back between progress marks: small, so a resumed check repeats little and a slow
 *  store or destination still lets the activity heartbeat well within its timeout. */
export const VERIFY_CHUNK = 64;
/** Exported copies read back at once (over one connection per destination). */
const EXPORTED_CONCURRENCY = 8;
/** Remaining items kept by content id; beyond it only the count grows (the message and details stay small). */
const REMAINING_KEPT = 1000;

/** Where a check stands: the heartbeat details of the verify activity. */
export interface VerifyProgress {
  /** The last journal content id whose chunk was read back completely. */
  afterContentId: string;
  checked: number;
  /** Items still holding content, by content id and place (never a path: it may hold a phone number). */
  remaining: string[];
  remainingCount: number;
}

export interface VerifyOptions {
  sql: Sql;
  store: ContentStore;
  keyring: Keyring;
  runId: string;
  previewId: string;
  /** All items of the preview must be gone (a completed run), or only those this run erased (a cancelled one). */
  requireAll: boolean;
  resume?: VerifyProgress;
  /**
   * The last attempt the retry policy allows: a copy that cannot be read back because of a transient fault
   * is then reported as remaining instead of failing the attempt, so the run ends and says what is left.
   */
  lastAttempt: boolean;
  /** Called after every item read back and after every chunk (the activity heartbeats with it). */
  onProgress?: (progress: VerifyProgress) => void;
  /** Stops the check between items (a cancelled run). */
  signal?: AbortSignal;
}

interface JournalRow {
  content_id: string; store_key: string | null; exported_to: string | null; exported_dest: string | null; exported_path: string | null;
}

export function startingProgress(resume?: VerifyProgress): VerifyProgress {
  return {
    afterContentId: resume?.afterContentId ?? '0', checked: resume?.checked ?? 0,
    remaining: [...(resume?.remaining ?? [])], remainingCount: resume?.remainingCount ?? resume?.remaining?.length ?? 0,
  };
}

function addRemaining(progress: VerifyProgress, item: string): void {
  progress.remainingCount++;
  if (progress.remaining.length < REMAINING_KEPT) progress.remaining.push(item);
}

/** Why a copy could not be read back, when asking again cannot help (no destination holds it, refused). */
function permanentReason(err: unknown): string | undefined {
  if (err instanceof ExportedCopyUnreachableError) return 'no destination holds it';
  if (err instanceof TransferError && isPermanentFailure(err)) return `its destination refused (${err.stage})`;
  return undefined;
}

async function readBackCopy(exported: ExportedCopies, row: JournalRow, progress: VerifyProgress, lastAttempt: boolean): Promise<void> {
  try {
    if (await exported.remains({ location: row.exported_to!, destinationId: row.exported_dest, path: row.exported_path })) {
      addRemaining(progress, `${row.content_id} (exported copy)`);
    }
  } catch (err) {
    const why = permanentReason(err) ?? (lastAttempt ? `still failing on the last attempt: ${err instanceof TransferError ? `${err.stage} failed` : (err as Error)?.name ?? 'error'}` : undefined);
    if (!why) throw err;
    addRemaining(progress, `${row.content_id} (exported copy not read back: ${why})`);
  }
}

/** Reads back the run's journal and the preview's rows; returns where it ended (remaining empty = all gone). */
export async function verifyErased(options: VerifyOptions): Promise<VerifyProgress> {
  const { sql, runId } = options;
  const progress = startingProgress(options.resume);
  const exported = openExportedCopies(sql, options.keyring);
  try {
    for (;;) {
      const page = await sql<JournalRow[]>`
        select content_id, store_key, exported_to, exported_dest, exported_path from erasure_journal
        where run_id = ${runId} and content_id > ${progress.afterContentId}
        order by content_id limit ${VERIFY_PAGE}`;
      if (page.length === 0) break;
      for (let i = 0; i < page.length; i += VERIFY_CHUNK) {
        options.signal?.throwIfAborted();
        const rows = page.slice(i, i + VERIFY_CHUNK);
        const keyed = rows.filter((row) => row.store_key);
        const held = new Set(await stillHeld(options.store, keyed.map((row) => row.store_key!)));
        for (const row of keyed) if (held.has(row.store_key!)) addRemaining(progress, `${row.content_id} (content store)`);
        options.onProgress?.(progress);
        // A scrubbed location was read back as gone before its name was scrubbed (a retried, finished check).
        await eachLimit(rows.filter((row) => row.exported_to && !isScrubbedName(row.exported_to)), EXPORTED_CONCURRENCY, async (row) => {
          options.signal?.throwIfAborted();
          await readBackCopy(exported, row, progress, options.lastAttempt);
          options.onProgress?.(progress);
        });
        // Only now is the whole chunk read back: a retry starts after it.
        progress.afterContentId = rows[rows.length - 1].content_id;
        progress.checked += rows.length;
        options.onProgress?.(progress);
      }
    }
  } finally {
    await exported.close();
  }
  const inDatabase = await sql<{ id: string }[]>`
    select c.id from erasure_preview_items p join interaction_content c on c.id = p.content_id
    where p.preview_id = ${options.previewId}
      and (c.store_key is not null or c.exported_to is not null or c.sha256 is not null)
      and (${options.requireAll} or c.erased_run = ${runId})
    order by c.id limit ${REMAINING_KEPT}`;
  // The database part is read fresh on every attempt, never carried over from a resumed one.
  const result = { ...progress, remaining: [...progress.remaining] };
  for (const row of inDatabase) addRemaining(result, `${row.id} (database)`);
  return result;
}

/** The failure message of a check that found content left: what, how many, and what to do. */
export function remainingMessage(progress: VerifyProgress): string {
  const shown = progress.remaining.slice(0, 20).join(', ');
  return `Erasure verification failed: ${progress.remainingCount} item(s) still hold content or could not be read back: ${shown}${progress.remainingCount > 20 ? ', …' : ''}. `
    + 'Fix the cause (see the run\'s errors; restore a deleted destination), then erase again with a new preview.';
}
