// The orchestration benchmark's floor (bench/orchestration.ts): the smallest useful workflow, one local
// activity and nothing else — no database, no payload codec, no search attributes.
import { proxyLocalActivities } from '@temporalio/workflow';

const { noop } = proxyLocalActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

export async function minimalRun(): Promise<void> {
  await noop();
}
