// Text in, validated rows out, each with the line it starts on. csv-parse does the quoting; records it
// cannot parse (broken quoting) are skipped by it and come out here as rejections, so one bad row never
// stops the file. Line numbers count every physical line, empty ones included, from 1 (the header).
import { Transform, type TransformCallback } from 'node:stream';
import { parse, type CsvError, type Info, type InfoRecord, type Options } from 'csv-parse';
import { columnMap, SEPARATORS, toStagedRow, type ColumnMap, type Separator, type StagedRow } from './rows.js';

/** A record longer than this is broken quoting swallowing the file, not a contact. */
const MAX_RECORD_CHARS = 256 * 1024;

const SKIP_REASONS: Record<string, string> = {
  INVALID_OPENING_QUOTE: 'broken quoting: a quote inside an unquoted field',
  CSV_INVALID_CLOSING_QUOTE: 'broken quoting: characters after a closing quote',
  CSV_QUOTE_NOT_CLOSED: 'broken quoting: a quote is never closed (the rest of the file is part of this row)',
  CSV_MAX_RECORD_SIZE: `broken quoting or a row longer than ${MAX_RECORD_CHARS} characters`,
};

export interface ParseOptions { separator: Separator; hasHeader: boolean }

/** The two streams of a parse: csv-parse (text in) piped into the row builder (StagedRow objects out). */
export function createRowParser(options: ParseOptions): { parser: Transform; rows: Transform } {
  let map: ColumnMap | null = options.hasHeader ? null : columnMap(null);
  let lastEnd = 0;
  let lastEmpty = 0;
  const skipped: StagedRow[] = [];
  // csv-parse's own line counter counts CRLF inside a quoted field twice, so lines are counted here: a row
  // starts after the previous one and the empty lines skipped since, and spans the line breaks inside it.
  const startLine = (emptyLines: number, breaksInside: number) => {
    const start = lastEnd + 1 + (emptyLines - lastEmpty);
    lastEnd = start + breaksInside;
    lastEmpty = emptyLines;
    return start;
  };
  const parser = parse({
    delimiter: SEPARATORS[options.separator], bom: false, skip_empty_lines: true, relax_column_count: true,
    skip_records_with_error: true, max_record_size: MAX_RECORD_CHARS,
    // Lines are counted here, synchronously in file order, for records and skipped rows alike.
    on_record: ((record: string[], context: InfoRecord) => ({ record, line: startLine(context.empty_lines, lineBreaks(record)) })) as unknown as Options['on_record'],
    on_skip: (err: CsvError | undefined) => {
      const info = err as unknown as Info | undefined;
      const line = startLine(info?.empty_lines ?? lastEmpty, 0);
      skipped.push({
        line, clientId: null, name: null, email: null, phones: [null, null, null], custom: null,
        rejectReason: SKIP_REASONS[err?.code ?? ''] ?? `unreadable row (${err?.code ?? 'parse error'})`,
      });
      return undefined;
    },
  });
  const rows = new Transform({
    objectMode: true,
    transform(item: { record: string[]; line: number }, _enc, done: TransformCallback) {
      try {
        for (const reject of skipped.splice(0)) this.push(reject);
        if (!map) {
          map = columnMap(item.record);
          return done();
        }
        done(null, toStagedRow(map, item.record, item.line));
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      for (const reject of skipped.splice(0)) this.push(reject);
      done();
    },
  });
  return { parser, rows };
}

function lineBreaks(record: string[]): number {
  let breaks = 0;
  for (const field of record) if (field.includes('\n') || field.includes('\r')) breaks += field.match(/\r\n|\r|\n/g)!.length;
  return breaks;
}
