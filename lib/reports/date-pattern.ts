// Date patterns of the seed's file-name tags (<START:fmt>, <END:fmt>, <DATE:fmt>): the letters of Java's
// SimpleDateFormat listed in seed 003 (G y M w W D d F E a H k K h m s S z Z), text in single quotes,
// '' for a quote. Letter counts follow Java: e.g. yy = 96, yyyy = 1996, M = 7, MM = 07, MMM = Jul,
// MMMM = July, E..EEE = Tue, EEEE = Tuesday, z = PST, zzzz = Pacific Standard Time, Z = -0800.
import { DateTime } from 'luxon';

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

function field(dt: DateTime, letter: string, count: number): string {
  switch (letter) {
    case 'G': return dt.year > 0 ? 'AD' : 'BC';
    case 'y': return count === 2 ? pad(dt.year % 100, 2) : pad(dt.year, count);
    case 'M': return count >= 4 ? dt.toFormat('MMMM') : count === 3 ? dt.toFormat('MMM') : pad(dt.month, count);
    case 'w': return pad(dt.weekNumber, count);
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
    case 'z': return count >= 4 ? dt.toFormat('ZZZZZ') : dt.toFormat('ZZZZ');
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
