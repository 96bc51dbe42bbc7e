// Is a Temporal Schedule's spec the one its definition asks for? Temporal describes a spec in its own
// structured form (calendars of ranges, intervals in milliseconds) whatever form it was written in (cron
// strings, "1h"), so both sides are reduced to one canonical text — each calendar as the values each field
// selects, each interval in seconds — and compared. Used by the schedule sync (which restores the
// definition's spec) and the task views (which show a drift until then).
import { DAYS_OF_WEEK, MONTHS, type CalendarSpecDescription, type Range, type ScheduleDescription } from '@temporalio/client';
import { parseCronField } from './cron.js';

/** The spec lib/temporal/schedules.ts writes: intervals like "15m", or Temporal cron expressions (UTC). */
export interface WrittenSpec {
  every?: string; cron?: string[];
  /** With `every`: the phase within the interval (e.g. "1800s"), and the first time it may run (`{ startAt, every }`). */
  offset?: string; startAt?: string;
}

interface Domain { name: string; min: number; max: number; fallback: 'all' | number }

// Field order of a canonical calendar; a field left empty in a description means `fallback`.
const DOMAINS: Domain[] = [
  { name: 'second', min: 0, max: 59, fallback: 0 },
  { name: 'minute', min: 0, max: 59, fallback: 0 },
  { name: 'hour', min: 0, max: 23, fallback: 0 },
  { name: 'day of month', min: 1, max: 31, fallback: 'all' },
  { name: 'month', min: 1, max: 12, fallback: 'all' },
  { name: 'day of week', min: 0, max: 6, fallback: 'all' },
];

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function setText(values: number[] | '*', domain: Domain): string {
  if (values === '*') return '*';
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  return sorted.length === domain.max - domain.min + 1 ? '*' : sorted.join(',');
}

function expand<T>(ranges: Range<T>[], toNumber: (v: T) => number, domain: Domain): string {
  if (!ranges.length) return domain.fallback === 'all' ? '*' : String(domain.fallback);
  const values: number[] = [];
  for (const r of ranges) {
    const start = toNumber(r.start);
    const end = Math.max(start, toNumber(r.end ?? r.start));
    for (let v = start; v <= end; v += Math.max(1, r.step || 1)) values.push(v);
  }
  return setText(values, domain);
}

function describedCalendar(c: CalendarSpecDescription): string {
  const n = (v: number) => v;
  return [
    expand(c.second, n, DOMAINS[0]), expand(c.minute, n, DOMAINS[1]), expand(c.hour, n, DOMAINS[2]),
    expand(c.dayOfMonth, n, DOMAINS[3]), expand(c.month, (m) => MONTHS.indexOf(m) + 1, DOMAINS[4]),
    expand(c.dayOfWeek, (d) => DAYS_OF_WEEK.indexOf(d), DOMAINS[5]),
  ].join(' ') + (c.year?.length ? ` year ${c.year.map((y) => `${y.start}-${y.end}`).join(',')}` : '');
}

function writtenCalendar(expression: string): string {
  const fields = expression.trim().split(/\s+/);
  return ['0', ...fields.map((f, i) => setText(parseCronField(f, DOMAINS[i + 1]), DOMAINS[i + 1]))].join(' ');
}

function canonical(calendars: string[], intervals: string[], timezone: string | undefined): string {
  const parts = [...[...calendars].sort().map((c) => `at ${c}`), ...[...intervals].sort()];
  if (timezone && timezone !== 'UTC') parts.push(`in ${timezone}`);
  return parts.join('; ');
}

/** The canonical text of the spec lib/temporal/schedules.ts writes for `spec`. */
export function writtenSpecText(spec: WrittenSpec): string {
  if (spec.cron?.length) return canonical(spec.cron.map(writtenCalendar), [], undefined);
  const m = /^(\d+)([smhd])$/.exec(spec.every ?? '');
  if (!m) throw new Error(`not an interval: ${JSON.stringify(spec.every)}`);
  const offset = /^(\d+)([smhd])$/.exec(spec.offset ?? '');
  const phase = offset ? Number(offset[1]) * UNITS[offset[2]] : 0;
  return canonical([], [`every ${Number(m[1]) * UNITS[m[2]]}s${phase ? ` offset ${phase}s` : ''}`], undefined);
}

/** The canonical text of a described schedule's spec. */
export function describedSpecText(spec: ScheduleDescription['spec']): string {
  const intervals = (spec.intervals ?? []).map((i) => `every ${Math.round(i.every / 1000)}s${i.offset ? ` offset ${Math.round(i.offset / 1000)}s` : ''}`);
  return canonical((spec.calendars ?? []).map(describedCalendar), intervals, spec.timezone);
}

/** What differs between Temporal's spec and the definition's, in words; undefined when they agree. */
export function specDrift(described: ScheduleDescription['spec'], written: WrittenSpec): string | undefined {
  const actual = describedSpecText(described);
  const wanted = writtenSpecText(written);
  return actual === wanted ? undefined : `Temporal runs it ${actual || 'never'}; the definition says ${wanted}`;
}
