// What every benchmark shares: the run's sizes, timing, peak RSS of a worker child process, running the
// baseline command-line tools, and the row each figure becomes in bench/RESULTS.md.
import { execFile, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BenchContext {
  /** 'full' or 'small' (×10 smaller); both already multiplied by BENCH_SCALE. */
  size: 'full' | 'small';
  /** Multiplies every count of this size: 1 for full, 0.1 for small, times BENCH_SCALE. */
  factor: number;
  log(message: string): void;
}

export interface Figure {
  benchmark: string;
  size: string;           // e.g. "1,000,000 rows"
  ours: number;           // seconds (or the figure's unit)
  baseline: number | null;
  unit: string;
  /** ours / baseline for times; baseline / ours (throughput ratio) when `higherIsBetter`. */
  ratio: number | null;
  goal: string;
  met: boolean | null;
  notes: string;
}

/** A count scaled to the context, never below `min`. */
export function scaled(ctx: BenchContext, full: number, min = 1): number {
  return Math.max(min, Math.round(full * ctx.factor));
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}

/** The peak resident set size of a live process (VmHWM), in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

export async function currentRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Waits until a spawned worker has polled its task queue (its RSS settles after module loading). */
export async function workerReady(child: ChildProcess): Promise<number> {
  if (child.pid === undefined) throw new Error('the worker process did not start');
  await new Promise((resolve) => setTimeout(resolve, 4000));
  if (child.exitCode !== null) throw new Error(`the worker exited with code ${child.exitCode}`);
  return currentRss(child.pid);
}

export async function sh(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  try {
    const { stdout } = await run(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${command} failed: ${e.stderr || e.message}`);
  }
}

/** psql against a database URL, stopping at the first error; `script` is given on stdin via -f. */
export async function psql(url: string, scriptFile: string): Promise<string> {
  return sh('/usr/bin/psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', scriptFile]);
}

export const MB = 1024 * 1024;
export const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const count = (n: number) => n.toLocaleString('en-US');

export function timeFigure(input: Omit<Figure, 'ratio' | 'met' | 'unit'> & { limit: number }): Figure {
  const ratio = input.baseline ? input.ours / input.baseline : null;
  const { limit, ...rest } = input;
  return { ...rest, unit: 's', ratio, met: ratio === null ? null : ratio <= limit };
}

export function throughputFigure(input: Omit<Figure, 'ratio' | 'met' | 'unit'> & { unit: string; atLeast: number }): Figure {
  const ratio = input.baseline ? input.ours / input.baseline : null;
  const { atLeast, ...rest } = input;
  return { ...rest, ratio, met: ratio === null ? null : ratio >= atLeast };
}

export function plainFigure(input: Omit<Figure, 'ratio' | 'baseline'> & { baseline?: number | null }): Figure {
  return { ...input, baseline: input.baseline ?? null, ratio: null };
}

/**
 * Starts this database's campaign ids at a random offset. Campaign-lock workflows are named
 * `campaign-lock/<campaignId>` in the one Temporal namespace every test database shares, so two fresh
 * databases would otherwise both have campaign 1 and signal each other's lock workflow.
 */
export async function distinctCampaignIds(sql: import('../db/sql.js').Sql): Promise<void> {
  const start = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  await sql`select setval(pg_get_serial_sequence('campaigns', 'id'), ${start})`;
}
