// Temporal's visibility query language: values are single-quoted strings; a quote or backslash in a value is
// escaped, so a configured name (a task queue) can never change the query's meaning.

/** A string literal of a visibility query. */
export function visibilityString(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}
