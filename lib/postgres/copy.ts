// COPY ... FROM STDIN in PostgreSQL's text format, fed from a generator of rows in ~1 MB chunks so
// memory stays flat however many rows go in. postgres.js issue #1173: a COPY the server rejects may never
// settle, so rows are checked before they are sent (copyField refuses what the format cannot carry)
// and the formats stay simple: text columns, ISO timestamps, JSON, integers.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';

const CHUNK_CHARS = 1 << 20;

export type CopyValue = string | number | boolean | null | undefined | Date;

function escapeText(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : text;
}

export function copyField(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`COPY value ${value} is not a finite number.`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('COPY value is an invalid Date.');
    return value.toISOString();
  }
  if (value.includes('\0')) throw new Error(`COPY text ${JSON.stringify(value.slice(0, 40))} contains a NUL byte.`);
  return escapeText(value);
}

export function copyLine(values: readonly CopyValue[]): string {
  return values.map(copyField).join('\t') + '\n';
}

/** Groups lines into strings of about 1 MB: fewer, larger writes to the socket. */
export function* inChunks(lines: Iterable<string>): Generator<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/**
 * Streams lines into a `copy ... from stdin` query (pass the pending query, e.g.
 * tx`copy t (a, b) from stdin`.writable()). Resolves when the server has taken every row.
 */
export async function copyIn(target: Promise<Writable>, lines: Iterable<string>): Promise<void> {
  const writable = await target;
  await pipeline(Readable.from(inChunks(lines), { objectMode: false }), writable);
}
