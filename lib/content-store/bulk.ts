// Many keys at once, for erasure: a store's own bulk operation when it has one, otherwise one key at a
// time, BULK_CONCURRENCY in flight.
import { ContentMissingError, type ContentStore } from './types.js';

export const BULK_CONCURRENCY = 16;

export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Deletes every object; one already gone is not an error. */
export async function removeAll(store: ContentStore, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  if (store.removeMany) return store.removeMany(keys);
  await eachLimit(keys, BULK_CONCURRENCY, (key) => store.remove(key));
}

/** The keys whose object can still be read. */
export async function stillHeld(store: ContentStore, keys: readonly string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  if (store.stillHeld) return store.stillHeld(keys);
  const held: string[] = [];
  await eachLimit(keys, BULK_CONCURRENCY, async (key) => {
    try {
      (await store.get(key)).destroy();
      held.push(key);
    } catch (err) {
      if (!(err instanceof ContentMissingError)) throw err;
    }
  });
  return held;
}
