// CSV formula injection (OWASP "CSV Injection"): a spreadsheet opening a CSV runs a cell that starts with
// `=`, `+`, `-`, `@`, a tab or a carriage return as a formula (`=cmd|' /C calc'!A0`, `=HYPERLINK(…)`). Every
// text value that came from outside (names, client ids, dispositions, agents, file names) is written through
// `neutralizeFormula`, which prefixes such a value with a single quote so the spreadsheet shows it as text.
// Numbers and timestamps we format ourselves are not passed through it (a negative count stays a number).

const FORMULA_START = /^[=+\-@\t\r]/;

/** The value, prefixed with `'` when a spreadsheet would read it as a formula. */
export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** csv-stringify `cast.string`: every string cell neutralized. */
export const castSafeString = (value: string): string => neutralizeFormula(value);

/**
 * The same rule in SQL, for CSVs PostgreSQL writes itself (`COPY … csv`): wrap a text column in it.
 * Kept here beside the TypeScript rule so the two cannot drift; `test/csv-formula.test.ts` runs both.
 */
export const NEUTRALIZE_FORMULA_SQL = (column: string): string =>
  `case when ${column} ~ '^[=+\\-@\\t\\r]' then '''' || ${column} else ${column} end`;
