// Date patterns of the seed's file-name tags (<START:fmt>, <END:fmt>, <DATE:fmt>): the letters of Java's
// SimpleDateFormat listed in seed 003 (G y M w W D d F E a H k K h m s S z Z), text in single quotes,
// '' for a quote. Letter counts follow Java: e.g. yy = 96, yyyy = 1996, M = 7, MM = 07, MMM = Jul,
// MMMM = July, E..EEE = Tue, EEEE = Tuesday, z = PST, zzzz = Pacific Standard Time, Z = -0800.
// Java's defaults are Locale.US's: `w` counts weeks from Sunday, week 1 being the week holding January 1
// (so Dec 27-31, 2026 are week 1 of 2027) — not the ISO week; `z` is Java's abbreviation (CEST, JST, MSK),
// or GMT-03:00 for a zone Java has no name for — never Intl's "GMT+2".
import { DateTime } from 'luxon';
import { JAVA_SHORT_ZONE_NAMES } from './java-zone-names.js';

const LETTERS = 'GyMwWDdFEaHkKhmsSzZ';

export type PatternToken = { letter: string; count: number } | { text: string };

export class DatePatternError extends Error {}

export function tokenizeDatePattern(pattern: string): PatternToken[] {
  const tokens: PatternToken[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === "'") {
      if (pattern[i + 1] === "'") { tokens.push({ text: "'" }); i += 2; continue; }
      // Quoted text runs to the next lone quote; '' inside it is a quote.
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new DatePatternError(`the date pattern "${pattern}" has an unclosed quote`);
        if (pattern[j] === "'" && pattern[j + 1] === "'") { text += "'"; j += 2; continue; }
        if (pattern[j] === "'") break;
        text += pattern[j++];
      }
      tokens.push({ text });
      i = j + 1;
    } else if (/[A-Za-z]/.test(ch)) {
      if (!LETTERS.includes(ch)) throw new DatePatternError(`"${ch}" is not a date pattern letter; use ${LETTERS.split('').join(' ')} (quote literal text with '...')`);
      let count = 1;
      while (pattern[i + count] === ch) count++;
      tokens.push({ letter: ch, count });
      i += count;
    } else {
      tokens.push({ text: ch });
      i++;
    }
  }
  return tokens;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Java's WEEK_OF_YEAR in Locale.US: weeks start on Sunday; week 1 is the week holding January 1. */
function javaWeekOfYear(dt: DateTime): number {
  const sunday = dt.startOf('day').minus({ days: dt.weekday % 7 });
  if (sunday.plus({ days: 6 }).year > dt.year) return 1;
  return Math.floor((dt.ordinal - 1 + (dt.startOf('year').weekday % 7)) / 7) + 1;
}

const intlZoneName = (dt: DateTime, locale: string) => new Intl.DateTimeFormat(locale, { timeZone: dt.zoneName ?? 'UTC', timeZoneName: 'short' })
  .formatToParts(dt.toJSDate()).find((p) => p.type === 'timeZoneName')?.value ?? '';

/** Java's short zone name ("z"): its own table where Intl differs, else Intl's en-US or en-GB name, else GMT±hh:mm. */
function javaShortZoneName(dt: DateTime): string {
  const listed = dt.zoneName ? JAVA_SHORT_ZONE_NAMES[dt.zoneName] : undefined;
  if (listed) {
    const [standard, daylight = standard] = listed.split('/');
    return dt.isInDST ? daylight : standard;
  }
  for (const locale of ['en-US', 'en-GB']) {
    const name = intlZoneName(dt, locale);
    if (name && !/^GMT[+-]/.test(name)) return name;
  }
  const minutes = Math.abs(dt.offset);
  return `GMT${dt.offset < 0 ? '-' : '+'}${pad(Math.floor(minutes / 60), 2)}:${pad(minutes % 60, 2)}`;
}

function field(dt: DateTime, letter: string, count: number): string {
  switch (letter) {
    case 'G': return dt.year > 0 ? 'AD' : 'BC';
    case 'y': return count === 2 ? pad(dt.year % 100, 2) : pad(dt.year, count);
    case 'M': return count >= 4 ? dt.toFormat('MMMM') : count === 3 ? dt.toFormat('MMM') : pad(dt.month, count);
    case 'w': return pad(javaWeekOfYear(dt), count);
    case 'W': return pad(Math.ceil((dt.day + (dt.startOf('month').weekday % 7)) / 7), count);
    case 'D': return pad(dt.ordinal, count);
    case 'd': return pad(dt.day, count);
    case 'F': return pad(Math.ceil(dt.day / 7), count);
    case 'E': return count >= 4 ? dt.toFormat('cccc') : dt.toFormat('ccc');
    case 'a': return dt.hour < 12 ? 'AM' : 'PM';
    case 'H': return pad(dt.hour, count);
    case 'k': return pad(dt.hour === 0 ? 24 : dt.hour, count);
    case 'K': return pad(dt.hour % 12, count);
    case 'h': return pad(dt.hour % 12 === 0 ? 12 : dt.hour % 12, count);
    case 'm': return pad(dt.minute, count);
    case 's': return pad(dt.second, count);
    case 'S': return pad(dt.millisecond, count);
    case 'z': return count >= 4 ? dt.toFormat('ZZZZZ') : javaShortZoneName(dt);
    case 'Z': return dt.toFormat('ZZZ');
    default: throw new DatePatternError(`unknown date pattern letter ${letter}`);
  }
}

/** Formats a time in a zone with a seed date pattern. */
export function formatDatePattern(at: Date, pattern: string, zone: string): string {
  const dt = DateTime.fromJSDate(at, { zone }).setLocale('en-US');
  return tokenizeDatePattern(pattern).map((t) => ('text' in t ? t.text : field(dt, t.letter, t.count))).join('');
}

/** The seed's "Julian date format" when a tag has no pattern: year and day of the year, e.g. 2003198. */
export function julianDate(at: Date, zone: string): string {
  return formatDatePattern(at, 'yyyyDDD', zone);
}
