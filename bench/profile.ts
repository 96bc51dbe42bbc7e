// Where a run's time went, read from its Temporal history (every execution, following continue-as-new):
// seconds per activity type (scheduled → closed, so queueing and retries count) and per timer.
import type { Client } from '@temporalio/client';
import { fmt } from './lib.js';

type HistoryEvent = {
  eventId?: { toString(): string } | null;
  eventTime?: { seconds?: { toString(): string } | null; nanos?: number | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: { toString(): string } | null } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: { toString(): string } | null } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: { toString(): string } | null } | null;
  timerStartedEventAttributes?: unknown;
  timerFiredEventAttributes?: { startedEventId?: { toString(): string } | null } | null;
  workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string | null } | null;
};

const seconds = (e: HistoryEvent) => Number(e.eventTime?.seconds?.toString() ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;

/** "generateReport 7.9 s, timer 1.0 s (2), …": the slowest first. */
export async function runProfile(client: Client, workflowId: string, firstRunId?: string): Promise<string> {
  const totals = new Map<string, { s: number; n: number }>();
  const add = (name: string, s: number) => {
    const t = totals.get(name) ?? { s: 0, n: 0 };
    totals.set(name, { s: t.s + s, n: t.n + 1 });
  };
  let runId: string | undefined = firstRunId;
  for (let executions = 0; executions < 1000; executions++) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const scheduled = new Map<string, { name: string; at: number }>();
    const timers = new Map<string, number>();
    let next: string | undefined;
    for (const e of (history.events ?? []) as HistoryEvent[]) {
      const id = e.eventId?.toString() ?? '';
      if (e.activityTaskScheduledEventAttributes) scheduled.set(id, { name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at: seconds(e) });
      const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
      const s = closed?.scheduledEventId ? scheduled.get(closed.scheduledEventId.toString()) : undefined;
      if (s) add(s.name, seconds(e) - s.at);
      if (e.timerStartedEventAttributes) timers.set(id, seconds(e));
      const fired = e.timerFiredEventAttributes?.startedEventId?.toString();
      if (fired && timers.has(fired)) add('timer', seconds(e) - timers.get(fired)!);
      next = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? next;
    }
    if (!next) break;
    runId = next;
  }
  return [...totals.entries()].sort((a, b) => b[1].s - a[1].s)
    .map(([name, t]) => `${name} ${fmt(t.s, 1)} s${t.n > 1 ? ` (${t.n})` : ''}`).join(', ');
}
