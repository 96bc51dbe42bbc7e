// The worker's background loops (run reconciler, schedule sync, campaign lock sweep) share one shape: a pass
// every interval, never two passes at once, a failed pass logged and tried again at the next interval, and a
// stop that waits for the pass in flight.
import type { Logger } from 'pino';
import { errorMessage } from './error-message.js';

export interface Periodic { stop(): Promise<void> }

/** Calls `pass` every `intervalMs` until stopped; a pass still busy when the next is due is not doubled up. */
export function startPeriodic(name: string, pass: () => Promise<void>, intervalMs: number, log?: Logger): Periodic {
  let running: Promise<void> | undefined;
  const guarded = async () => {
    try {
      await pass();
    } catch (err) {
      log?.warn({ err: errorMessage(err) }, `${name} failed; retrying at the next interval`);
    }
  };
  const timer = setInterval(() => { running ??= guarded().finally(() => { running = undefined; }); }, intervalMs);
  timer.unref(); // never what keeps a process alive
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
