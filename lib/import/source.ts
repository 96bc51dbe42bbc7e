// Where an import reads its file: a destination path (with `$rdatetime$` resolved to the newest
// `yyyymmddhhMMss` file) or an upload in the content store.
import { posix } from 'node:path';
import type { ListedFile } from '../transfer/types.js';
import { ImportFileError } from './errors.js';
import { IMPORT_FAILURES, type ImportSource } from '../../contracts/list-import.js';

export const RDATETIME = '$rdatetime$';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The folder to list and the pattern file names must match when the path has `$rdatetime$`. */
export function rdatetimePattern(path: string): { dir: string; pattern: RegExp } | undefined {
  if (!path.includes(RDATETIME)) return undefined;
  const dir = posix.dirname(path);
  const base = posix.basename(path);
  if (dir.includes(RDATETIME) || base.split(RDATETIME).length !== 2) {
    throw new ImportFileError(IMPORT_FAILURES.sourceMissing, `The import path "${path}" may use $rdatetime$ once, in the file name only.`);
  }
  const [before, after] = base.split(RDATETIME);
  return { dir: dir === '.' ? '' : dir, pattern: new RegExp(`^${escapeRegExp(before)}(\\d{14})${escapeRegExp(after)}$`) };
}

/** The file with the most recent timestamp among those matching the pattern, or a clear failure. */
export function pickNewestFile(path: string, files: ListedFile[]): string {
  const { dir, pattern } = rdatetimePattern(path)!;
  let best: { stamp: string; name: string } | undefined;
  for (const file of files) {
    const stamp = pattern.exec(file.name)?.[1];
    if (stamp && isTimestamp(stamp) && (!best || stamp > best.stamp)) best = { stamp, name: file.name };
  }
  if (!best) {
    throw new ImportFileError(IMPORT_FAILURES.sourceMissing,
      `No file in "${dir || '.'}" matches "${posix.basename(path)}" ($rdatetime$ = yyyymmddhhMMss); ${files.length} file(s) listed. Check the path and that the list was delivered.`);
  }
  return dir ? `${dir}/${best.name}` : best.name;
}

function isTimestamp(stamp: string): boolean {
  const [month, day, hour, minute, second] = [4, 6, 8, 10, 12].map((at) => Number(stamp.slice(at, at + 2)));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59;
}

export function describeSource(source: ImportSource): string {
  return 'uploadId' in source ? `upload ${source.uploadId}` : `destination ${source.destinationId}: ${source.path}`;
}
