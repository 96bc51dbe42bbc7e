// The one heartbeat timer of activities. Cancellation and heartbeat timeouts reach an activity only through
// its heartbeats, so one that waits on I/O (a lock, a long COPY, a slow destination) heartbeats on a timer.
import { Context } from '@temporalio/activity';

/** Heartbeats every `everyMs` with `details()` until the returned function is called. Keep `everyMs` well
 *  under the activity's heartbeat timeout. */
export function keepHeartbeating(details: () => unknown = () => undefined, everyMs = 2_000): () => void {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details()), everyMs);
  return () => clearInterval(timer);
}

/** Runs `work`, heartbeating at once and then every `everyMs` with the latest detail it reports. */
export async function heartbeating<T>(work: (progress: (detail: unknown) => void) => Promise<T>, everyMs = 3_000): Promise<T> {
  let detail: unknown;
  const stop = keepHeartbeating(() => detail, everyMs);
  try {
    Context.current().heartbeat();
    return await work((d) => { detail = d; });
  } finally {
    stop();
  }
}
