// The one crontab convention of the whole API (API.md "Wave 2 — Schedules"), the seed's "Crontab String (GMT)":
// minute hour day-of-month month day-of-week, where day-of-week runs 1-7 with 1 = Monday (seed 003). Every
// job kind (reports, recording exports, the next wave's) validates and converts its crontab here, nowhere else.
// Temporal's cron counts days of the week 0-6 from Sunday, so the fifth
// field is rewritten (7 = Sunday becomes 0) and ranges are expanded into lists, since a range such as 5-7
// (Friday to Sunday) has no contiguous equivalent. The other fields keep their meaning; times are UTC.
//
// When both day-of-month and day-of-week are restricted (neither starts with *), crontab runs on days
// matching EITHER (`0 6 1 * 1`: the 1st of each month and every Monday), while Temporal matches days
// satisfying BOTH. Such a string becomes two Temporal expressions, one per day field (the other at *),
// which the schedule unions; they are kept in one string joined by " | " (TEMPORAL_CRON_SEPARATOR).

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

interface Field { name: string; min: number; max: number }

const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 1, max: 7 },
];

/** The values a field selects, or '*' for all. Accepts n, a-b, a step (every n) and comma lists of those. */
export function parseCronField(text: string, field: Field): number[] | '*' {
  if (text === '*') return '*';
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(?:(\*)|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) throw new CronError(`the ${field.name} field "${text}" is not valid: use one or two digits, a range a-b, a comma-separated list or *`);
    const from = m[1] ? field.min : Number(m[2]);
    const to = m[1] ? field.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? field.max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < field.min || to > field.max || from > to || step < 1) {
      throw new CronError(`the ${field.name} field "${text}" is out of range: values go from ${field.min} to ${field.max}`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/** Validates a seed crontab string and returns the equivalent Temporal cron expression (UTC). */
export function seedCronToTemporal(cron: string): string {
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new CronError(`a crontab string has five fields (minute hour day-of-month month day-of-week, GMT); got ${parts.length} in "${cron}"`);
  }
  const fields = parts.map((part, i) => parseCronField(part, FIELDS[i]));
  const out = fields.map((values, i) => {
    if (values === '*') return '*';
    // Seed day-of-week 1..7 (Mon..Sun) → Temporal 0..6 (Sun..Sat).
    const mapped = i === 4 ? [...new Set(values.map((d) => d % 7))].sort((a, b) => a - b) : values;
    return mapped.join(',');
  });
  // Crontab's (Vixie cron's) rule: the days are either-or unless one of the two fields starts with *
  // (`*`, `*/2`), then both must match — which is what Temporal does.
  const restricted = (i: number) => !parts[i].startsWith('*');
  if (restricted(2) && restricted(4)) {
    const [minute, hour, dayOfMonth, month, dayOfWeek] = out;
    return [[minute, hour, dayOfMonth, month, '*'], [minute, hour, '*', month, dayOfWeek]].map((e) => e.join(' ')).join(TEMPORAL_CRON_SEPARATOR);
  }
  return out.join(' ');
}

export const TEMPORAL_CRON_SEPARATOR = ' | ';

/** The Temporal cron expressions of a converted string (one, or two for a day-of-month OR day-of-week). */
export function temporalCronExpressions(temporalCron: string): string[] {
  return temporalCron.split(TEMPORAL_CRON_SEPARATOR.trim()).map((e) => e.trim()).filter(Boolean);
}
