// How an audit entry is hashed: SHA-256 over a canonical JSON of the entry (keys sorted at every level,
// no whitespace) including the previous entry's hash, so changing, inserting or removing any entry breaks
// every link after it.
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields an entry's hash covers (everything but the hash itself). */
export interface AuditContent {
  seq: number;
  at: string;            // ISO 8601, UTC, millisecond precision
  actor: string;
  action: string;
  reason: string | null;
  scope: Record<string, unknown>;
  counts: Record<string, unknown>;
  runId: string | null;
  prevHash: string;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`audit entries hold finite numbers only; got ${value}`);
    return JSON.stringify(value ?? null);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function hashAuditEntry(content: AuditContent): string {
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}
