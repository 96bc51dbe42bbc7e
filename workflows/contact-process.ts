// List export, bulk delete and bulk status change (issue 14; seed 001 "Contact List Processes") under the
// campaign lock, exactly like the list import: wait for the scheduled time, then for the lock, run the one
// transaction (export: the snapshot streamed to the content store, then sent to the destination with its log),
// record the end. The lock is released in a non-cancellable finally on success, failure and cancel; if the run
// is terminated (no code runs), the campaign's lock workflow sees the holder closed and frees it.
import { CancellationScope, isCancellation, sleep, workflowInfo } from '@temporalio/workflow';
import type { createContactProcessActivities } from '../activities/contact-processes.js';
import type { createRunActivities } from '../activities/runs.js';
import { campaignLockRequester } from './campaign-lock-requester.js';
import type { ContactProcessInput, ContactProcessResult } from '../contracts/contact-process.js';
import { trackRunStatus } from './shared/run-status.js';
import { failureMessage } from '../shared/error-message.js';
import { listProcessActivities } from './shared/activity-options.js';

type Activities = ReturnType<typeof createContactProcessActivities> & ReturnType<typeof createRunActivities>;

const { quick, long } = listProcessActivities<Activities>();

const WORKING: Record<ContactProcessInput['type'], string> = { export: 'exporting', delete: 'deleting', 'status-change': 'changing' };

export async function contactProcess(input: ContactProcessInput): Promise<ContactProcessResult> {
  const runId = workflowInfo().workflowId;
  const status = trackRunStatus({ step: input.scheduledAt ? 'scheduled' : 'waiting for campaign lock', counts: {} });
  const lock = campaignLockRequester(input.campaignId, { runId, type: input.type, actingUser: input.actingUser, wait: input.wait });

  const step = async (name: string) => {
    status.setStep(name);
    await quick.markContactProcessStep(runId, name);
  };

  await quick.recordContactProcessStart(runId, input);
  try {
    const wait = input.scheduledAt ? Date.parse(input.scheduledAt) - Date.now() : 0;
    if (wait > 0) await sleep(wait);

    await step('waiting for campaign lock');
    await lock.acquire();

    await step(WORKING[input.type]);
    let result = await long.runContactProcess(runId, input);
    Object.assign(status.counts, counted(result));

    if (input.type === 'export' && input.destinationId) {
      await step('sending');
      result = { ...result, location: await long.sendContactExport(runId, input) };
    }
    await quick.recordRunEnd({ runId, status: 'completed', step: 'finished', result, done: result.matched, total: result.matched });
    return result;
  } catch (err) {
    return await CancellationScope.nonCancellable(async () => {
      // A cancel that arrives after the change committed does not undo it: report what happened.
      const applied = isCancellation(err) && input.type !== 'export' ? await quick.contactProcessOutcome(runId) : null;
      if (applied) {
        await quick.recordRunEnd({ runId, status: 'completed', step: 'finished', result: applied, done: applied.matched, total: applied.matched });
        return applied;
      }
      status.addError(failureMessage(err));
      await quick.recordRunEnd({ runId, status: isCancellation(err) ? 'cancelled' : 'failed', step: status.step, error: failureMessage(err) });
      throw err;
    });
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await quick.cleanupContactProcess(runId);
      await lock.release();
    });
  }
}

function counted(result: ContactProcessResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [key, value] of Object.entries(result)) if (typeof value === 'number') counts[key] = value;
  return counts;
}
