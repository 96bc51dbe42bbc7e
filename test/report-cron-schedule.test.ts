// A report's crontab as a Temporal Schedule gives the next run crontab gives (issue 20): with both
// day-of-month and day-of-week restricted, a day matching either runs (`0 6 1 * 1`: every Monday and the
// 1st), which Temporal alone would AND. Table-driven: each row's next run time read from the real
// schedule (what the API shows as nextRunAt) against a minute-by-minute crontab evaluation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seedCronToTemporal } from '../lib/schedules/cron.js';
import { upsertReportSchedule } from '../lib/reports/schedules.js';
import { deleteJobSchedule, nextRunTime } from '../lib/temporal/schedules.js';
import { reportScheduleId } from '../contracts/report.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
const scheduleIds: string[] = [];
/** Definition ids of this file's schedules: unique on the shared Temporal server. */
const idBase = 100_000_000 + Math.floor(Math.random() * 800_000_000);

before(async () => {
  env = await createTestEnv();
});

after(async () => {
  for (const id of scheduleIds) await deleteJobSchedule(env.client, id).catch(() => {});
  await env?.stop();
});

/** Values of one seed crontab field (day-of-week 1-7, Monday = 1). */
function values(text: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, step] = part.split('/');
    const [from, to] = range === '*' ? [min, max] : range.includes('-') ? range.split('-').map(Number) : [Number(range), step ? max : Number(range)];
    for (let v = from; v <= to; v += Number(step ?? 1)) out.add(v);
  }
  return out;
}

/** The first minute after `from` that crontab (Vixie's rules, UTC) runs the seed string at. */
function crontabNext(cron: string, from: Date): Date {
  const [mi, h, dom, mon, dow] = cron.split(' ');
  const f = { mi: values(mi, 0, 59), h: values(h, 0, 23), dom: values(dom, 1, 31), mon: values(mon, 1, 12), dow: values(dow, 1, 7) };
  const t = new Date(Math.floor(from.getTime() / 60_000) * 60_000 + 60_000);
  for (let i = 0; i < 400 * 24 * 60; i++, t.setTime(t.getTime() + 60_000)) {
    const byMonthDay = f.dom.has(t.getUTCDate());
    const byWeekDay = f.dow.has(t.getUTCDay() === 0 ? 7 : t.getUTCDay());
    const day = dom.startsWith('*') || dow.startsWith('*') ? byMonthDay && byWeekDay : byMonthDay || byWeekDay;
    if (day && f.mi.has(t.getUTCMinutes()) && f.h.has(t.getUTCHours()) && f.mon.has(t.getUTCMonth() + 1)) return t;
  }
  throw new Error(`no run of ${cron} within 400 days`);
}

const table: [string, string][] = [
  ['the 1st or any Monday', '0 6 1 * 1'],
  ['the 13th or any Friday', '30 22 13 * 5'],
  ['the 1st or 15th, or a weekend day', '0 6 1,15 * 6-7'],
  ['the 29th of February or a Sunday', '0 0 29 2 7'],
  ['an odd day that is a Monday (a day field starting with * is ANDed)', '0 6 */2 * 1'],
  ['every Monday (no day-of-month)', '0 6 * * 1'],
];

for (const [name, cron] of table) {
  test(`nextRunAt of "${cron}" is crontab's: ${name}`, async () => {
    const definitionId = String(idBase + scheduleIds.length);
    scheduleIds.push(reportScheduleId(definitionId));
    const before = new Date();
    await upsertReportSchedule(env.client, {
      definitionId, campaignId: '1', temporalCron: seedCronToTemporal(cron), enabled: true, taskQueue: env.taskQueue, name,
    });
    const next = await nextRunTime(env.client, reportScheduleId(definitionId));
    assert.ok(next);
    assert.equal(next.toISOString(), crontabNext(cron, before).toISOString());
  });
}
