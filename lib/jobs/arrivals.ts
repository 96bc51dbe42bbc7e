// File arrival (seed 002 "FTPin"): a job's folder on a destination is polled; each file matching the glob starts
// exactly one run once it has stopped growing, and is moved to processed/ (or failed/) when the run ends.
// - Not taken while written: a file is taken once two polls in a row saw the same size and modification time
//   (what the last poll saw is kept in job_definitions.state.arrivals, under the definition's row lock).
// - Exactly one run per file: the run's workflow id is derived from destination, path, size and mtime, and
//   Temporal refuses a second start of it (REJECT_DUPLICATE), so a restarted or second poller cannot start it
//   again; job_file_arrivals keeps the ledger (which run took which file, where it went).
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Sql } from '../../db/sql.js';
import type { Keyring } from '../crypto/keys.js';
import { openDestination } from '../destinations.js';
import type { ListedFile, Transfer } from '../transfer/index.js';
import { JOB_WORKFLOW, jobFileArrivalWorkflowId, type ArrivedFile, type JobRunInput, type JobTrigger } from '../../contracts/job.js';
import { JOB_KINDS, runSearchAttributes } from '../../contracts/search-attributes.js';
import { JOB_KIND } from './definition.js';

type FileArrival = Extract<JobTrigger, { kind: 'file-arrival' }>;

/** A glob over file names: `*` any run of characters, `?` one character; everything else literal. */
export function globMatcher(pattern: string): (name: string) => boolean {
  const source = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}

export const folderOf = (trigger: FileArrival) => trigger.folder.replace(/^\/+|\/+$/g, '');
export const processedFolder = (trigger: FileArrival) => (trigger.moveTo ?? posix.join(folderOf(trigger), 'processed')).replace(/^\/+|\/+$/g, '');
export const failedFolder = (trigger: FileArrival) => posix.join(folderOf(trigger), 'failed');

const sighting = (file: ListedFile) => `${file.sizeBytes}:${file.modifiedAt?.getTime() ?? 0}`;

export function fileKey(destinationId: string, file: ListedFile): string {
  return createHash('sha256').update(`${destinationId}\n${file.path}\n${sighting(file)}`).digest('hex').slice(0, 24);
}

/** How long a file must keep its size and mtime before it is taken: two polls a minute apart see it unchanged,
 *  and two pollers running at once (two workers, a restart) do not count as two looks. */
export const SETTLE_MS = 30_000;

interface Sighting { s: string; at: number }

/** Files unchanged (size and mtime) for `settleMs` by `now`; remembers when each sighting was first made. */
async function stableFiles(sql: Sql, definitionId: string, files: ListedFile[], now: Date, settleMs: number): Promise<ListedFile[]> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ state: { arrivals?: Record<string, Sighting> } }[]>`
      select state from job_definitions where id = ${definitionId} and kind = ${JOB_KIND} for no key update`;
    if (!row) return [];
    const before = row.state.arrivals ?? {};
    const seen: Record<string, Sighting> = {};
    for (const f of files) {
      const s = sighting(f);
      seen[f.path] = before[f.path]?.s === s ? before[f.path] : { s, at: now.getTime() };
    }
    await tx`update job_definitions set state = jsonb_set(state, '{arrivals}', ${tx.json(seen as never)}) where id = ${definitionId}`;
    return files.filter((f) => now.getTime() - seen[f.path].at >= settleMs);
  });
}

export interface PollDeps { sql: Sql; keyring: Keyring; client: Client; taskQueue: string; now: Date; settleMs?: number }

/** One poll of a file-arrival job: starts a run for each arrived, settled file; returns the runs it started. */
export async function pollArrivals(deps: PollDeps, definitionId: string): Promise<{ started: string[]; waiting: number }> {
  const [def] = await deps.sql<{ enabled: boolean; trigger: JobTrigger }[]>`
    select enabled, config->'trigger' as trigger from job_definitions where id = ${definitionId} and kind = ${JOB_KIND}`;
  if (!def?.enabled || def.trigger.kind !== 'file-arrival') return { started: [], waiting: 0 };
  const trigger = def.trigger;
  const matches = globMatcher(trigger.pattern);
  const transfer = await openDestination(deps.sql, deps.keyring, trigger.destinationId);
  let files: ListedFile[];
  try {
    files = (await transfer.list(folderOf(trigger))).filter((f) => matches(f.name));
  } finally {
    await transfer.close().catch(() => {});
  }
  files = await withoutImportLogs(deps.sql, definitionId, files);
  const settled = await stableFiles(deps.sql, definitionId, files, deps.now, deps.settleMs ?? SETTLE_MS);
  const started: string[] = [];
  for (const file of settled) {
    if (await startArrivalRun(deps, definitionId, trigger, file)) started.push(jobFileArrivalWorkflowId(definitionId, fileKey(trigger.destinationId, file)));
  }
  return { started, waiting: files.length - settled.length };
}

/** The list import writes its statistics log beside the file it read (`<file>.log`, seed 001): in the watched
 *  folder that log is the job's own output, not an arrival — taken, it would be imported as a list, fail, and
 *  notify, once for every file (with a pattern such as `*`). */
async function withoutImportLogs(sql: Sql, definitionId: string, files: ListedFile[]): Promise<ListedFile[]> {
  const logOf = files.filter((f) => f.path.endsWith('.log')).map((f) => f.path.slice(0, -'.log'.length));
  if (!logOf.length) return files;
  const taken = new Set((await sql<{ path: string }[]>`
    select path from job_file_arrivals where definition_id = ${definitionId} and path = any(${logOf})`).map((r) => r.path));
  return files.filter((f) => !(f.path.endsWith('.log') && taken.has(f.path.slice(0, -'.log'.length))));
}

/** Starts the file's run unless it was started before (by this poller, an earlier one, or another one). */
async function startArrivalRun(deps: PollDeps, definitionId: string, trigger: FileArrival, file: ListedFile): Promise<boolean> {
  const key = fileKey(trigger.destinationId, file);
  const runId = jobFileArrivalWorkflowId(definitionId, key);
  const arrived: ArrivedFile = {
    destinationId: trigger.destinationId, path: file.path, fileKey: key, processedFolder: processedFolder(trigger), failedFolder: failedFolder(trigger),
  };
  await deps.sql`
    insert into job_file_arrivals (definition_id, file_key, path, run_id) values (${definitionId}, ${key}, ${file.path}, ${runId})
    on conflict do nothing`;
  const input: JobRunInput = { definitionId, triggeredBy: 'file-arrival', arrived };
  try {
    await deps.client.workflow.start(JOB_WORKFLOW, {
      taskQueue: deps.taskQueue, workflowId: runId, args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: runSearchAttributes({ kind: JOB_KINDS.job, definitionId, triggeredBy: 'file-arrival' }),
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/** Moves the arrived file to `processed/` or `failed/` (copy, then remove: a repeat after a crash finds it moved). */
export async function settleArrivedFile(deps: { sql: Sql; keyring: Keyring }, definitionId: string, arrived: ArrivedFile, outcome: 'processed' | 'failed'): Promise<string> {
  const target = posix.join(outcome === 'processed' ? arrived.processedFolder : arrived.failedFolder, posix.basename(arrived.path));
  const transfer = await openDestination(deps.sql, deps.keyring, arrived.destinationId);
  try {
    if (await exists(transfer, arrived.path)) {
      await transfer.put(target, await transfer.get(arrived.path));
      await transfer.remove(arrived.path);
    }
  } finally {
    await transfer.close().catch(() => {});
  }
  await deps.sql`
    update job_file_arrivals set status = ${outcome}, moved_to = ${target}, ended_at = coalesce(ended_at, now())
    where definition_id = ${definitionId} and file_key = ${arrived.fileKey}`;
  return target;
}

async function exists(transfer: Transfer, path: string): Promise<boolean> {
  const dir = posix.dirname(path);
  return (await transfer.list(dir === '.' ? '' : dir)).some((f) => f.path === path);
}
