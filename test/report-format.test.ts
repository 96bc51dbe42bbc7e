// Report definitions without servers: the seed crontab (day-of-week 1-7, Monday = 1) converted for Temporal,
// file-name tags and the seed's date patterns, forbidden characters, and the report "day" of each timeframe.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CronError, seedCronToTemporal } from '../lib/schedules/cron.js';
import { formatDatePattern } from '../lib/reports/date-pattern.js';
import { FileNameFormatError, renderFileName, validateFileNameFormat } from '../lib/reports/file-name.js';
import { reportDayRule, resolveTimeframe } from '../lib/reports/timeframes.js';

describe('crontab strings (GMT, day-of-week 1-7 with 1 = Monday) become Temporal cron expressions', () => {
  const cases: [string, string, string][] = [
    ['every hour on the hour', '0 * * * *', '0 * * * *'],
    ['Monday 06:30', '30 6 * * 1', '30 6 * * 1'],
    ['day 7 is Sunday, which Temporal numbers 0', '0 8 * * 7', '0 8 * * 0'],
    ['a list of days with Sunday', '15 2 * * 1,3,7', '15 2 * * 0,1,3'],
    ['a range across the weekend (Friday to Sunday)', '0 23 * * 5-7', '0 23 * * 0,5,6'],
    ['weekdays as a range', '0 7 * * 1-5', '0 7 * * 1,2,3,4,5'],
    ['lists and ranges in the other fields keep their values', '0,30 9-11 1,15 1-3 *', '0,30 9,10,11 1,15 1,2,3 *'],
    ['a step in minutes', '*/15 * * * *', '0,15,30,45 * * * *'],
    ['day-of-month and day-of-week: either (crontab), two expressions', '0 6 1 * 1', '0 6 1 * * | 0 6 * * 1'],
    ['lists in both day fields: either', '0 6 1,15 * 5-7', '0 6 1,15 * * | 0 6 * * 0,5,6'],
    ['a day-of-month starting with * is ANDed, as in crontab', '0 6 */2 * 1', '0 6 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 * 1'],
  ];
  for (const [name, seed, temporal] of cases) {
    test(`${name}: "${seed}" → "${temporal}"`, () => assert.equal(seedCronToTemporal(seed), temporal));
  }
  const invalid: [string, string][] = [
    ['day-of-week 0 (the seed counts 1-7)', '0 0 * * 0'],
    ['day-of-week 8', '0 0 * * 8'],
    ['hour 24', '0 24 * * *'],
    ['four fields', '0 0 * *'],
    ['words', '0 0 * * MON'],
    ['a backwards range', '0 0 * * 5-2'],
  ];
  for (const [name, cron] of invalid) {
    test(`refuses ${name}`, () => assert.throws(() => seedCronToTemporal(cron), CronError));
  }
});

describe('file names: tags, date patterns, forbidden characters', () => {
  const values = {
    report: 'All Attempts', campaign: 'WidgetCampaign', account: 'AcmeWidgets', reportId: 'report/7/2003-01-22T17:54:32.000Z',
    start: new Date('2003-01-17T05:00:00Z'), end: new Date('2003-01-22T17:54:32.978Z'), date: new Date('2003-01-22T17:54:32.978Z'),
    timezone: 'America/New_York',
  };

  test('the seed example renders with its date patterns (the extension is .csv)', () => {
    assert.equal(renderFileName('<CAMPAIGN>_<ACCOUNT>_<START:yyyyMMdd>_<END:yyyyMMdd hh:mm:ss z>.txt', values),
      'WidgetCampaign_AcmeWidgets_20030717_20030122 12:54:32 EST.csv'.replace('20030717', '20030117'));
  });

  test('every tag is replaced; <REPORTID> is made safe for a file name', () => {
    assert.equal(renderFileName('<REPORT>-<CAMPAIGN>-<ACCOUNT>-<REPORTID>', values),
      'All Attempts-WidgetCampaign-AcmeWidgets-report_7_2003-01-22T17_54_32.000Z.csv');
  });

  test('a date tag without a pattern is a Julian date (year and day of the year)', () => {
    assert.equal(renderFileName('<START>_<END>', values), '2003017_2003022.csv');
  });

  test('the default name is report, campaign and run time', () => {
    assert.equal(renderFileName(undefined, values), 'All Attempts_WidgetCampaign_20030122125432.csv');
  });

  test('a campaign name with a slash cannot create a folder', () => {
    assert.equal(renderFileName('<CAMPAIGN>', { ...values, campaign: 'north/south: "A"' }), 'north_south_ _A_.csv');
  });

  const patterns: [string, string][] = [
    ['G', 'AD'], ['yy', '03'], ['yyyy', '2003'], ['M', '1'], ['MM', '01'], ['MMM', 'Jan'], ['MMMM', 'January'],
    ['w', '4'], ['W', '4'], ['D', '22'], ['DDD', '022'], ['d', '22'], ['F', '4'], ['E', 'Wed'], ['EEEE', 'Wednesday'],
    ['a', 'PM'], ['H', '12'], ['k', '12'], ['K', '0'], ['h', '12'], ['mm', '54'], ['ss', '32'], ['SSS', '978'],
    ['z', 'EST'], ['zzzz', 'Eastern Standard Time'], ['Z', '-0500'], ["yyyy'T'HH", '2003T12'], ["h 'o''clock' a", "12 o'clock PM"],
  ];
  for (const [pattern, expected] of patterns) {
    test(`date pattern "${pattern}" → "${expected}"`, () => assert.equal(formatDatePattern(values.date, pattern, values.timezone), expected));
  }

  // Java's SimpleDateFormat in Locale.US (the seed's patterns), printed by OpenJDK 17 for these instants.
  const javaWeeks: [string, string][] = [
    ['2026-01-01', '1'], ['2026-01-03', '1'], ['2026-01-04', '2'], ['2026-12-26', '52'], ['2026-12-27', '1'], ['2026-12-31', '1'],
    ['2027-01-02', '1'], ['2027-01-03', '2'], ['2021-01-01', '1'], ['2021-01-03', '2'], ['2020-12-31', '1'], ['2022-01-01', '1'],
    ['2022-12-31', '53'], ['2023-01-01', '1'], ['2024-12-29', '1'], ['2025-06-15', '25'], ['2026-04-09', '15'],
  ];
  for (const [day, week] of javaWeeks) {
    test(`w is Java's week of year (from Sunday, week 1 holds January 1), not ISO's: ${day} → ${week}`, () => {
      assert.equal(formatDatePattern(new Date(`${day}T12:00:00Z`), 'w', 'UTC'), week);
      assert.equal(formatDatePattern(new Date(`${day}T12:00:00Z`), 'ww', 'UTC'), week.padStart(2, '0'));
    });
  }
  const javaZones: [string, string, string][] = [
    ['Europe/Berlin', 'CEST', 'CET'], ['Europe/London', 'BST', 'GMT'], ['America/New_York', 'EDT', 'EST'],
    ['America/Los_Angeles', 'PDT', 'PST'], ['UTC', 'UTC', 'UTC'], ['Asia/Tokyo', 'JST', 'JST'], ['Asia/Kolkata', 'IST', 'IST'],
    ['Australia/Sydney', 'AEST', 'AEDT'], ['Europe/Moscow', 'MSK', 'MSK'], ['America/Sao_Paulo', 'BRT', 'BRT'],
    ['Asia/Kathmandu', 'NPT', 'NPT'], ['Pacific/Auckland', 'NZST', 'NZDT'], ['Asia/Jerusalem', 'IDT', 'IST'],
    ['Europe/Dublin', 'IST', 'GMT'], ['America/St_Johns', 'NDT', 'NST'], ['Etc/GMT+3', 'GMT-03:00', 'GMT-03:00'],
  ];
  for (const [zone, july, january] of javaZones) {
    test(`z is Java's zone abbreviation, not "GMT+2": ${zone} → ${july} in July, ${january} in January`, () => {
      assert.equal(formatDatePattern(new Date('2026-07-01T12:00:00Z'), 'z', zone), july);
      assert.equal(formatDatePattern(new Date('2026-01-15T12:00:00Z'), 'zzz', zone), january);
    });
  }

  test('k counts hours 1-24 and K 0-11 at midnight', () => {
    const midnight = new Date('2003-01-22T05:00:00Z');
    assert.equal(formatDatePattern(midnight, 'k K h a', 'America/New_York'), '24 0 12 AM');
  });

  const forbidden = ['Report <for> x', 'Report for: <CAMPAIGN>', 'a*b', 'what?', 'a|b', 'say "hi"', 'dir/<REPORT>', '<NOPE>', '<DATE:yyyyQQ>', '<CAMPAIGN:x>'];
  for (const format of forbidden) {
    test(`refuses the format ${JSON.stringify(format)}`, () => assert.throws(() => validateFileNameFormat(format), FileNameFormatError));
  }

  test('accepts < > : inside tags', () => {
    assert.doesNotThrow(() => validateFileNameFormat('<CAMPAIGN>_<DATE:yyyyMMdd HH:mm>'));
  });
});

describe('report days and timeframes', () => {
  const opts = (reportTimezone: string) => ({ reportTimezone, campaignCreatedAt: new Date('2024-01-01T00:00:00Z') });
  const iso = (r: { start: Date; end: Date }) => [r.start.toISOString(), r.end.toISOString()];

  test('a GMT- account cuts days at 3AM Eastern; GMT and GMT+ accounts at their own midnight', () => {
    assert.deepEqual(reportDayRule('America/Los_Angeles', new Date()), { zone: 'America/New_York', hour: 3 });
    assert.deepEqual(reportDayRule('Europe/Berlin', new Date()), { zone: 'Europe/Berlin', hour: 0 });
    assert.deepEqual(reportDayRule('UTC', new Date()), { zone: 'UTC', hour: 0 });
  });

  test('Yesterday for a GMT- account is 3AM to 3AM Eastern, before 3AM still counting as the previous day', () => {
    // 2025-03-12 02:30 Eastern (EDT, UTC-4) is still report day 2025-03-11.
    const run = new Date('2025-03-12T06:30:00Z');
    assert.deepEqual(iso(resolveTimeframe({ kind: 'yesterday' }, run, opts('America/Chicago'))),
      ['2025-03-10T07:00:00.000Z', '2025-03-11T07:00:00.000Z']);
  });

  test('Yesterday across the spring DST change is 23 hours long', () => {
    assert.deepEqual(iso(resolveTimeframe({ kind: 'yesterday' }, new Date('2025-03-31T12:00:00Z'), opts('Europe/Berlin'))),
      ['2025-03-29T23:00:00.000Z', '2025-03-30T22:00:00.000Z']);
    // US clocks jump at 2AM on March 9th, inside the report day that ends at 3AM.
    assert.deepEqual(iso(resolveTimeframe({ kind: 'yesterday' }, new Date('2025-03-09T12:00:00Z'), opts('America/New_York'))),
      ['2025-03-08T08:00:00.000Z', '2025-03-09T07:00:00.000Z']);
  });

  test('Today runs from the report day start to the run time', () => {
    const run = new Date('2025-06-15T10:00:00Z');
    assert.deepEqual(iso(resolveTimeframe({ kind: 'today' }, run, opts('Europe/London'))), ['2025-06-14T23:00:00.000Z', '2025-06-15T10:00:00.000Z']);
  });

  test('Last 7 days are the seven whole report days before today', () => {
    const run = new Date('2025-06-15T10:00:00Z');
    assert.deepEqual(iso(resolveTimeframe({ kind: 'last-7-days' }, run, opts('UTC'))), ['2025-06-08T00:00:00.000Z', '2025-06-15T00:00:00.000Z']);
  });

  test('Month to date and Last month follow the report day', () => {
    const run = new Date('2025-03-01T05:00:00Z'); // 00:00 Eastern on March 1st: still report day February 28th
    assert.deepEqual(iso(resolveTimeframe({ kind: 'month-to-date' }, run, opts('America/New_York'))), ['2025-02-01T08:00:00.000Z', '2025-03-01T05:00:00.000Z']);
    assert.deepEqual(iso(resolveTimeframe({ kind: 'last-month' }, run, opts('America/New_York'))), ['2025-01-01T08:00:00.000Z', '2025-02-01T08:00:00.000Z']);
    assert.deepEqual(iso(resolveTimeframe({ kind: 'last-month' }, new Date('2025-03-15T00:00:00Z'), opts('UTC'))), ['2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z']);
  });

  test('Explicit dates without an offset are read in the given time zone', () => {
    const tf = { kind: 'explicit' as const, start: '2010-11-01T04:00', end: '2010-12-01T04:00', timezone: 'GMT' };
    assert.deepEqual(iso(resolveTimeframe(tf, new Date(), opts('UTC'))), ['2010-11-01T04:00:00.000Z', '2010-12-01T04:00:00.000Z']);
    const withOffset = { kind: 'explicit' as const, start: '2025-01-01T00:00:00-05:00', end: '2025-01-02T00:00:00-05:00' };
    assert.deepEqual(iso(resolveTimeframe(withOffset, new Date(), opts('UTC'))), ['2025-01-01T05:00:00.000Z', '2025-01-02T05:00:00.000Z']);
  });

  test('Entire campaign runs from the campaign start to the run time', () => {
    const run = new Date('2025-06-15T10:00:00Z');
    assert.deepEqual(iso(resolveTimeframe({ kind: 'entire-campaign' }, run, opts('UTC'))), ['2024-01-01T00:00:00.000Z', '2025-06-15T10:00:00.000Z']);
  });
});
