// A calling list's columns and the checks every row passes before it is staged. With a header, columns are
// matched by name (case-insensitive) and unknown ones become custom fields; without one the order is
// client_id, name, phone, email (API.md "Job 3"). A bad row is kept as a rejection with its reason.
import { ImportFileError } from './errors.js';
import { IMPORT_FAILURES } from '../../contracts/list-import.js';

const STANDARD = ['client_id', 'name', 'phone', 'phone2', 'phone3', 'email'] as const;
type Standard = (typeof STANDARD)[number];
export const HEADERLESS_COLUMNS: readonly string[] = ['client_id', 'name', 'phone', 'email'];

export const LIMITS = { clientId: 100, name: 200, email: 320, customName: 100, customValue: 1000 } as const;
const PHONE = /^\+?[0-9][0-9 ().-]{2,29}$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;

export interface StagedRow {
  line: number;
  clientId: string | null;
  name: string | null;
  email: string | null;
  phones: [string | null, string | null, string | null];
  custom: Record<string, string> | null;
  rejectReason: string | null;
}

export interface ColumnMap { count: number; exact: boolean; standard: Partial<Record<Standard, number>>; custom: [string, number][] }

/** The column layout from the header record (or the fixed order without one); fails when it is no list. */
export function columnMap(header: string[] | null): ColumnMap {
  const names = (header ?? HEADERLESS_COLUMNS).map((name) => name.trim());
  const map: ColumnMap = { count: names.length, exact: header !== null, standard: {}, custom: [] };
  const seen = new Set<string>();
  names.forEach((name, index) => {
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw new ImportFileError(IMPORT_FAILURES.notAList, `The header names column "${name}" twice; each column name must be unique.`);
    seen.add(lower);
    if ((STANDARD as readonly string[]).includes(lower)) map.standard[lower as Standard] = index;
    else if (!name || name.length > LIMITS.customName) {
      throw new ImportFileError(IMPORT_FAILURES.notAList, `Header column ${index + 1} ${name ? 'is longer than 100 characters' : 'is empty'}; name every column (1-100 characters).`);
    } else map.custom.push([name, index]);
  });
  if (map.standard.client_id === undefined) {
    throw new ImportFileError(IMPORT_FAILURES.notAList,
      `The header has no client_id column (found: ${names.slice(0, 10).map((n) => JSON.stringify(n.slice(0, 40))).join(', ')}); is the separator right? The key column must be named client_id.`);
  }
  return map;
}

const rejected = (line: number, reason: string): StagedRow => ({
  line, clientId: null, name: null, email: null, phones: [null, null, null], custom: null, rejectReason: reason,
});

/** A standard column's value, trimmed; null when the column is absent or empty. */
function valueAt(map: ColumnMap, fields: string[], column: Standard): string | null {
  const index = map.standard[column];
  if (index === undefined || index >= fields.length) return null;
  const value = fields[index].trim();
  return value === '' ? null : value;
}

/** Validates one parsed record; the row carries a reject reason instead of throwing. Runs once per row of
 *  the file, so it allocates only the row it returns (no closures, no padded copy of the fields). */
export function toStagedRow(map: ColumnMap, fields: string[], line: number): StagedRow {
  // With a header every row has its columns; without one, trailing columns may be left off (client_id only).
  if (fields.length > map.count || (map.exact && fields.length !== map.count)) {
    return rejected(line, `expected ${map.exact ? '' : 'at most '}${map.count} columns, found ${fields.length}`);
  }
  for (let i = 0; i < fields.length; i++) if (fields[i].includes('\0')) return rejected(line, 'contains a NUL character');
  const clientId = valueAt(map, fields, 'client_id');
  if (!clientId) return rejected(line, 'client_id is empty');
  if (clientId.length > LIMITS.clientId) return rejected(line, `client_id is longer than ${LIMITS.clientId} characters`);
  const name = valueAt(map, fields, 'name');
  if (name && name.length > LIMITS.name) return rejected(line, `name is longer than ${LIMITS.name} characters`);
  const email = valueAt(map, fields, 'email');
  if (email && (email.length > LIMITS.email || !EMAIL.test(email))) return rejected(line, `email ${JSON.stringify(email.slice(0, 60))} is not a valid address`);
  const phones: StagedRow['phones'] = [valueAt(map, fields, 'phone'), valueAt(map, fields, 'phone2'), valueAt(map, fields, 'phone3')];
  for (const phone of phones) {
    if (phone !== null && !PHONE.test(phone)) {
      return rejected(line, `phone ${JSON.stringify(phone.slice(0, 40))} is not a phone number (digits, optionally +, spaces, dots, dashes, parentheses; 3-30 characters)`);
    }
  }
  let custom: Record<string, string> | null = null;
  for (const [key, index] of map.custom) {
    if (index >= fields.length) continue;
    const value = fields[index].trim();
    if (value.length > LIMITS.customValue) return rejected(line, `${key} is longer than ${LIMITS.customValue} characters`);
    if (value !== '') (custom ??= {})[key] = value;
  }
  return { line, clientId, name, email, phones, custom, rejectReason: null };
}
