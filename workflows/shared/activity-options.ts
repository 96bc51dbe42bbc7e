// The activity options the list processes share (list import, exclusions import, list export / bulk delete /
// bulk status change): `quick` for bookkeeping, `long` for the file or table work that heartbeats and waits for
// its own cancellation. Changing a value changes what new runs schedule, never an old run's replay.
import { ActivityCancellationType, proxyActivities, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';

export const QUICK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
};

export const LONG_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '20s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 20 },
};

/** `quick` and `long` proxies of a list process's activities. */
export function listProcessActivities<A>(): { quick: ActivityInterfaceFor<A>; long: ActivityInterfaceFor<A> } {
  return { quick: proxyActivities<A>(QUICK_ACTIVITY), long: proxyActivities<A>(LONG_ACTIVITY) };
}
