// Text in, validated rows out, each with the line it starts on. csv-parse does the quoting; records it
// cannot parse (broken quoting) are skipped by it and come out here as rejections, so one bad row never
// stops the file. Line numbers count every physical line, empty ones included, from 1 (the header).
import type { Transform } from 'node:stream';
import { parse, type CsvError, type Info, type InfoRecord, type Options } from 'csv-parse';
import { columnMap, toStagedRow, type ColumnMap, type StagedRow } from './rows.js';
import { SEPARATORS, type Separator } from '../../contracts/list-import.js';

/** A record longer than this is broken quoting swallowing the file, not a contact. */
const MAX_RECORD_CHARS = 256 * 1024;

const SKIP_REASONS: Record<string, string> = {
  INVALID_OPENING_QUOTE: 'broken quoting: a quote inside an unquoted field',
  CSV_INVALID_CLOSING_QUOTE: 'broken quoting: characters after a closing quote',
  CSV_QUOTE_NOT_CLOSED: 'broken quoting: a quote is never closed (the rest of the file is part of this row)',
  CSV_MAX_RECORD_SIZE: `broken quoting or a row longer than ${MAX_RECORD_CHARS} characters`,
};

export interface ParseOptions { separator: Separator; hasHeader: boolean }

/** What csv-parse emits per record: the fields and the line the record starts on. */
export interface ParsedRecord { record: string[]; line: number }

/** Turns parsed records into staged rows, in file order (rows csv-parse skipped come out before the record
 *  that follows them). Called synchronously by the stage that consumes the parser, so no extra stream hop
 *  (and no per-row callback and buffer slot) sits between parsing and the COPY encoder. */
export interface RowBuilder {
  push(item: ParsedRecord, emit: (row: StagedRow) => void): void;
  end(emit: (row: StagedRow) => void): void;
}

/** csv-parse (text in, ParsedRecords out) and the builder of validated rows from its records. */
export function createRowParser(options: ParseOptions): { parser: Transform; rows: RowBuilder } {
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
    on_record: ((record: string[], context: InfoRecord): ParsedRecord => ({ record, line: startLine(context.empty_lines, lineBreaks(record)) })) as unknown as Options['on_record'],
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
  avoidRecordInfoCopies(parser);
  const drainSkipped = (emit: (row: StagedRow) => void) => {
    if (skipped.length === 0) return;
    for (const reject of skipped) emit(reject);
    skipped.length = 0;
  };
  const rows: RowBuilder = {
    push(item, emit) {
      drainSkipped(emit);
      if (!map) {
        map = columnMap(item.record);
        return;
      }
      emit(toStagedRow(map, item.record, item.line));
    },
    end: drainSkipped,
  };
  return { parser, rows };
}

/**
 * With `on_record` set, csv-parse builds a fresh context object for every record by spreading its running
 * `info` counters twice (`__infoRecord`). Those copies are the one thing in the parse that survives young-
 * generation collections (~14% of what the parse allocates, ~2 MB per scavenge), so they pile up in the old
 * generation until a full GC: at 1M rows that was 200+ MB of heap on a worker whose heap was already large,
 * and it doubled the parse time. `on_record` here reads only `empty_lines`, synchronously, so the live
 * counters serve as the context. csv-parse's error paths copy what this returns, so they are unaffected.
 * If a csv-parse upgrade renames the hook, parsing stays correct; only the copies come back — so this answers
 * whether it applied, and a test (list-import-files) fails when it no longer does.
 */
export function avoidRecordInfoCopies(parser: Transform): boolean {
  const api = (parser as unknown as { api?: { info?: object; __infoRecord?: () => object } }).api;
  if (!api || typeof api.__infoRecord !== 'function' || !api.info) return false;
  api.__infoRecord = function (this: { info: object }) { return this.info; };
  return true;
}

function lineBreaks(record: string[]): number {
  let breaks = 0;
  for (const field of record) if (field.includes('\n') || field.includes('\r')) breaks += field.match(/\r\n|\r|\n/g)!.length;
  return breaks;
}
