// Waiting in tests for something another process does (a worker, Temporal, the database): poll until the
// probe returns a truthy value and return it, or fail naming what never happened.
import { setTimeout as sleep } from 'node:timers/promises';

export async function until<T>(
  what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
