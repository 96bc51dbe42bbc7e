// CSV formula injection (OWASP "CSV Injection"): a spreadsheet opening a CSV runs a cell that starts with
// `=`, `+`, `-`, `@`, a tab or a carriage return as a formula (`=cmd|' /C calc'!A0`, `=HYPERLINK(…)`). Every
// text value that came from outside (names, client ids, dispositions, agents, file names) is written through
// `neutralizeFormula`, which prefixes such a value with a single quote so the spreadsheet shows it as text.
// Numbers and timestamps we format ourselves are not passed through it; a value that is only a signed number or
// phone number is left alone (see SIGNED_NUMBER).

const FORMULA_START = /^[=+\-@\t\r]/;
/**
 * A signed number or phone number (`+15551230001`, `+1 (555) 010-2030`, `-12.5`): digits, spaces, dots,
 * parentheses and dashes only, so a spreadsheet can at most compute a number from it, never call a function
 * or another program. Left as it is, so E.164 phones and negative amounts reach their readers unchanged.
 */
const SIGNED_NUMBER = /^[+-]?[0-9][0-9 ().-]*$/;

/** The value, prefixed with `'` when a spreadsheet would read it as a formula. */
export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) && !SIGNED_NUMBER.test(value) ? `'${value}` : value;
}

/** csv-stringify `cast.string`: every string cell neutralized. */
export const castSafeString = (value: string): string => neutralizeFormula(value);

/**
 * The same rule in SQL, for CSVs PostgreSQL writes itself (`COPY … csv`): wrap a text column in it.
 * Kept here beside the TypeScript rule so the two cannot drift; `test/csv-formula.test.ts` runs both.
 */
export const NEUTRALIZE_FORMULA_SQL = (column: string): string =>
  `case when ${column} ~ '^[=+\\-@\\t\\r]' and ${column} !~ '^[+-]?[0-9][0-9 ().-]*$' then '''' || ${column} else ${column} end`;
