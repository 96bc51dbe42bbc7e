// Report file names (seed 003 "File name format"): literal text plus the tags <REPORT>, <CAMPAIGN>,
// <ACCOUNT>, <REPORTID>, <START:fmt>, <END:fmt>, <DATE:fmt>. The characters * ? | " / < > : may not appear
// in the literal text (< > : only inside tags); a format breaking that is refused when the report is saved.
// Values put in by tags (a campaign named "a/b") are cleaned of those characters so they cannot create
// folders; date patterns may produce ':' as the seed's own example does.
import { DatePatternError, formatDatePattern, julianDate, tokenizeDatePattern } from './date-pattern.js';

export const FORBIDDEN_FILE_NAME_CHARS = ['*', '?', '|', '"', '/', '<', '>', ':'];
export const DEFAULT_FILE_NAME_FORMAT = '<REPORT>_<CAMPAIGN>_<DATE:yyyyMMddHHmmss>';

const VALUE_TAGS = ['REPORT', 'CAMPAIGN', 'ACCOUNT', 'REPORTID'] as const;
const DATE_TAGS = ['START', 'END', 'DATE'] as const;

type Part = { text: string } | { tag: (typeof VALUE_TAGS)[number] } | { date: (typeof DATE_TAGS)[number]; pattern?: string };

export class FileNameFormatError extends Error {}

export function parseFileNameFormat(format: string): Part[] {
  const parts: Part[] = [];
  const re = /<([A-Z_]+)(?::([^>]*))?>/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    if (m.index > last) parts.push({ text: format.slice(last, m.index) });
    const [, tag, pattern] = m;
    if ((VALUE_TAGS as readonly string[]).includes(tag) && pattern === undefined) parts.push({ tag: tag as Part & never });
    else if ((DATE_TAGS as readonly string[]).includes(tag)) {
      if (pattern !== undefined) {
        try { tokenizeDatePattern(pattern); } catch (err) {
          throw new FileNameFormatError(`<${tag}:${pattern}>: ${(err as DatePatternError).message}`);
        }
      }
      parts.push({ date: tag as (typeof DATE_TAGS)[number], pattern: pattern || undefined });
    } else {
      throw new FileNameFormatError(`unknown tag <${tag}${pattern !== undefined ? ':' + pattern : ''}>; use ${[...VALUE_TAGS, ...DATE_TAGS.map((t) => `${t}:fmt`)].map((t) => `<${t}>`).join(', ')}`);
    }
    last = re.lastIndex;
  }
  if (last < format.length) parts.push({ text: format.slice(last) });
  for (const part of parts) {
    if (!('text' in part)) continue;
    const bad = FORBIDDEN_FILE_NAME_CHARS.filter((c) => part.text.includes(c));
    if (bad.length) {
      throw new FileNameFormatError(`the text "${part.text}" contains ${bad.map((c) => `"${c}"`).join(', ')}: the characters * ? | " / < > : cannot be used in a file name (< > : only inside tags such as <DATE:yyyyMMdd>)`);
    }
  }
  if (/\\/.test(format) || hasControlChar(format)) throw new FileNameFormatError('the file name format contains a backslash or a control character');
  return parts;
}

/** Throws a FileNameFormatError naming the problem, or returns nothing when the format is usable. */
export function validateFileNameFormat(format: string): void {
  if (format.trim() === '') throw new FileNameFormatError('the file name format is empty');
  if (format.length > 200) throw new FileNameFormatError('the file name format is longer than 200 characters');
  parseFileNameFormat(format);
}

export interface FileNameValues {
  report: string;
  campaign: string;
  account: string;
  reportId: string;
  start: Date;
  end: Date;
  date: Date;
  timezone: string;
}

const hasControlChar = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20);
const clean = (value: string) => [...value].map((c) => (c.charCodeAt(0) < 0x20 || '*?|"/<>:\\'.includes(c) ? '_' : c)).join('');

/** The file name for a report run, always ending in `.csv` (a .txt/.csv the format ends with is replaced). */
export function renderFileName(format: string | undefined, values: FileNameValues): string {
  const parts = parseFileNameFormat(format || DEFAULT_FILE_NAME_FORMAT);
  const rendered = parts.map((part) => {
    if ('text' in part) return part.text;
    if ('tag' in part) {
      const map = { REPORT: values.report, CAMPAIGN: values.campaign, ACCOUNT: values.account, REPORTID: values.reportId };
      return clean(map[part.tag]);
    }
    const at = part.date === 'START' ? values.start : part.date === 'END' ? values.end : values.date;
    return part.pattern ? formatDatePattern(at, part.pattern, values.timezone).replace(/[/\\]/g, '_') : julianDate(at, values.timezone);
  }).join('').trim();
  const name = rendered === '' || rendered === '.' || rendered === '..' ? 'report' : rendered;
  // The extension is the system's choice (seed: .csv without an output specification file).
  return `${name.replace(/\.(csv|txt)$/i, '')}.csv`;
}
