// What every content store shares: how object keys look (the plaintext is measured by lib/meter.ts).
import { randomUUID } from 'node:crypto';

// Keys are relative, '/'-separated and plain, so a key read back from the database can never point
// outside the store (no '..', no absolute paths, no backslashes).
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `<prefix>/<yyyy>/<mm>/<uuid>.enc` (UTC month); the prefix may itself have several segments. */
export function newObjectKey(prefix: string | undefined, now: Date = new Date()): string {
  const parts = prefix ? prefix.split('/').filter((part) => part !== '') : [];
  for (const part of parts) {
    if (!SEGMENT.test(part) || part.includes('..')) {
      throw new Error(`Content prefix ${JSON.stringify(prefix)} is not valid; use letters, digits, '.', '_', '-' and '/'.`);
    }
  }
  const month = String(now.getUTCMonth() + 1).padStart(2, '0');
  return [...parts, String(now.getUTCFullYear()), month, `${randomUUID()}.enc`].join('/');
}

export function checkObjectKey(key: string): string {
  const parts = key.split('/');
  if (parts.some((part) => !SEGMENT.test(part) || part.includes('..'))) {
    throw new Error(`Content key ${JSON.stringify(key)} is not a key this store hands out.`);
  }
  return key;
}
