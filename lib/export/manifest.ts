// The manifest CSV of a recording export run (SPEC "Job 1"): one row per file the run exported or failed to
// export. Rows are streamed from the database through csv-stringify to the destination, never collected.
import { stringify } from 'csv-stringify';
import { Readable } from 'node:stream';
import { castSafeString } from '../csv/formula.js';

export const MANIFEST_COLUMNS = [
  'file_path', 'interaction_id', 'recording_id', 'segment', 'campaign', 'call_start', 'call_end', 'duration_s',
  'customer_phone', 'agents', 'segment_agent', 'disposition', 'size_bytes', 'sha256', 'result', 'error',
] as const;

export type ManifestRow = Record<(typeof MANIFEST_COLUMNS)[number], string | number | null>;

/** A CSV stream (header first) of the rows an async iterable of batches yields. */
export function manifestStream(batches: AsyncIterable<ManifestRow[]>): Readable {
  const csv = stringify({ header: true, columns: [...MANIFEST_COLUMNS], cast: { number: String, string: castSafeString } });
  const source = Readable.from((async function* () {
    for await (const rows of batches) yield* rows;
  })(), { objectMode: true });
  source.on('error', (err) => csv.destroy(err));
  return source.pipe(csv);
}
