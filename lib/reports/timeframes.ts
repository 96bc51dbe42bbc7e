// Report timeframes and the seed's report "day": midnight to midnight in the account's report time zone
// when that zone is GMT or ahead of it, 3AM to 3AM Eastern time when it is behind GMT (seed 003).
// Ranges are half-open [start, end) on the attempt's completion time; Incremental is not here — its
// window comes from the watermark (lib/reports/watermarks.ts).
import { DateTime } from 'luxon';

export const TIMEFRAME_KINDS = ['incremental', 'explicit', 'today', 'yesterday', 'last-7-days', 'month-to-date', 'last-month', 'entire-campaign'] as const;
export type TimeframeKind = (typeof TIMEFRAME_KINDS)[number];

export interface Timeframe { kind: TimeframeKind; start?: string; end?: string; timezone?: string }

export interface ReportDayRule { zone: string; hour: number }

/** How report days are cut for an account whose report time zone is `zone`, as of `at`. */
export function reportDayRule(zone: string, at: Date): ReportDayRule {
  const offset = DateTime.fromJSDate(at, { zone }).offset;
  return offset < 0 ? { zone: 'America/New_York', hour: 3 } : { zone, hour: 0 };
}

/** The start of the report day containing `at`. */
export function reportDayStart(at: Date, rule: ReportDayRule): DateTime {
  const local = DateTime.fromJSDate(at, { zone: rule.zone });
  let start = local.startOf('day').set({ hour: rule.hour });
  if (start > local) start = start.minus({ days: 1 }).set({ hour: rule.hour });
  return start;
}

/** The start of the first report day of the month that `day` (a report day start) belongs to. */
function reportMonthStart(day: DateTime, rule: ReportDayRule, monthsBack = 0): DateTime {
  return day.startOf('month').minus({ months: monthsBack }).set({ hour: rule.hour });
}

export class TimeframeError extends Error {}

/** Parses an explicit start or end: ISO 8601 with an offset, or a local date-time read in `zone`. */
export function parseExplicitTime(value: string, zone: string): Date {
  const hasOffset = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value) && /T/.test(value);
  const dt = hasOffset ? DateTime.fromISO(value, { setZone: true }) : DateTime.fromISO(value, { zone });
  if (!dt.isValid) throw new TimeframeError(`"${value}" is not an ISO 8601 date-time (e.g. 2025-03-01T08:00 or 2025-03-01T08:00:00Z)`);
  return dt.toJSDate();
}

export function isValidZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

export interface ResolvedRange { start: Date; end: Date }

/** The [start, end) range of a non-incremental timeframe for a run at `runTime`. */
export function resolveTimeframe(tf: Timeframe, runTime: Date, options: { reportTimezone: string; campaignCreatedAt: Date }): ResolvedRange {
  const rule = reportDayRule(options.reportTimezone, runTime);
  const today = reportDayStart(runTime, rule);
  const range = (start: DateTime, end: DateTime | Date) => ({ start: start.toJSDate(), end: end instanceof Date ? end : end.toJSDate() });
  switch (tf.kind) {
    case 'today': return range(today, runTime);
    case 'yesterday': return range(today.minus({ days: 1 }).set({ hour: rule.hour }), today);
    case 'last-7-days': return range(today.minus({ days: 7 }).set({ hour: rule.hour }), today);
    case 'month-to-date': return range(reportMonthStart(today, rule), runTime);
    case 'last-month': return range(reportMonthStart(today, rule, 1), reportMonthStart(today, rule));
    case 'entire-campaign': return { start: options.campaignCreatedAt, end: runTime };
    case 'explicit': {
      const zone = tf.timezone ?? options.reportTimezone;
      if (!tf.start || !tf.end) throw new TimeframeError('an explicit timeframe needs start and end');
      const start = parseExplicitTime(tf.start, zone);
      const end = parseExplicitTime(tf.end, zone);
      if (end <= start) throw new TimeframeError(`the explicit timeframe ends (${tf.end}) before it starts (${tf.start})`);
      return { start, end };
    }
    case 'incremental': throw new TimeframeError('an incremental timeframe is resolved from its watermark, not here');
  }
}
