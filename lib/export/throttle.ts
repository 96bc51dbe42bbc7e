// A byte-rate limit shared by the streams of one export batch (the provider's bandwidth for export tasks).
import { setTimeout as delay } from 'node:timers/promises';

export interface Throttle { take(bytes: number): Promise<void> }

export function createThrottle(kilobytesPerSecond: number | undefined): Throttle {
  if (!kilobytesPerSecond) return { take: async () => {} };
  const bytesPerMs = (kilobytesPerSecond * 1024) / 1000;
  let nextFree = Date.now();
  return {
    async take(bytes: number) {
      const now = Date.now();
      nextFree = Math.max(nextFree, now) + bytes / bytesPerMs;
      const wait = nextFree - now - bytes / bytesPerMs;
      if (wait > 0) await delay(wait);
    },
  };
}
