// Failed console sign-ins, counted per client address and per key prefix in a sliding window: past the limit a
// sign-in is refused with 429 and Retry-After before its key is even checked, so guessing keys from one client,
// or guessing one key's rest from many clients, stalls. Counts live in this process (each API instance counts
// its own). Nothing here keeps or logs a key: a prefix is kept as a hash.
import { createHash } from 'node:crypto';

export interface SignInLimits {
  /** failed sign-ins a client address may make in `windowMs` before it is refused */
  perClient: number;
  /** failed sign-ins with keys starting with the same `prefixLength` characters, from any client */
  perPrefix: number;
  windowMs: number;
  prefixLength: number;
}

export const SIGN_IN_LIMITS: SignInLimits = { perClient: 10, perPrefix: 20, windowMs: 15 * 60_000, prefixLength: 12 };
const MAX_TRACKED = 10_000;

export type Refusal = { limit: 'client' | 'key prefix'; retryAfterSeconds: number };

export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limits: SignInLimits = SIGN_IN_LIMITS, private readonly now: () => number = Date.now) {}

  private keysOf(client: string, key: string): { client: string; prefix: string } {
    const prefix = createHash('sha256').update(key.slice(0, this.limits.prefixLength)).digest('base64url');
    return { client: `client:${client}`, prefix: `prefix:${prefix}` };
  }

  /** The failure times of `id` still in the window (older ones dropped). */
  private recent(id: string): number[] {
    const since = this.now() - this.limits.windowMs;
    const times = (this.failures.get(id) ?? []).filter((t) => t > since);
    if (times.length) this.failures.set(id, times);
    else this.failures.delete(id);
    return times;
  }

  /** Whether a sign-in from `client` with `key` may be tried now; a refusal says which limit and until when. */
  check(client: string, key: string): Refusal | undefined {
    const ids = this.keysOf(client, key);
    for (const [limit, id, max] of [['client', ids.client, this.limits.perClient], ['key prefix', ids.prefix, this.limits.perPrefix]] as const) {
      const times = this.recent(id);
      if (times.length >= max) {
        // Free again when enough of the oldest failures have left the window.
        const freeAt = times[times.length - max] + this.limits.windowMs;
        return { limit, retryAfterSeconds: Math.max(1, Math.ceil((freeAt - this.now()) / 1000)) };
      }
    }
    return undefined;
  }

  /** Counts a failed sign-in; returns the client's failures in the window. */
  failed(client: string, key: string): number {
    const ids = this.keysOf(client, key);
    if (this.failures.size >= MAX_TRACKED) this.prune();
    let clientFailures = 0;
    for (const id of [ids.client, ids.prefix]) {
      const times = [...this.recent(id), this.now()];
      this.failures.set(id, times);
      if (id === ids.client) clientFailures = times.length;
    }
    return clientFailures;
  }

  /** A successful sign-in clears its client's failures (not the prefix's: a guesser may hold a valid key). */
  succeeded(client: string): void {
    this.failures.delete(`client:${client}`);
  }

  private prune(): void {
    for (const id of [...this.failures.keys()]) this.recent(id);
    // Still full (a flood of distinct clients): forget the oldest entries rather than grow without bound.
    for (const id of this.failures.keys()) {
      if (this.failures.size < MAX_TRACKED / 2) break;
      this.failures.delete(id);
    }
  }
}
