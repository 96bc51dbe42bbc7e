// Bulk import of blacklist entries (the exclusions-import process): a file with one entry per line, or a CSV with
// a `uri` column (and optionally `name`), read as a stream in any encoding the list import reads. Bad lines are
// reported with their line number and skipped. Entries are written in batches, each in one transaction that adds
// them (marked with the run) and excludes the phones they match; a batch retried after a crash adds nothing twice
// (the entries are unique), and the counts are read back from what the run added, so they are exact however often
// the run was retried.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import type { Sql } from '../../db/sql.js';
import { createTextDecoder, detectEncoding, NotUtf8Error, SAMPLE_BYTES, type DetectedEncoding } from '../import/encoding.js';
import { peek } from '../import/stage.js';
import { lockBlacklistForChange, phonesWithKeys, reconcileBlacklistedPhones } from './apply.js';
import { BLACKLIST_URI_RULE, parseBlacklistUri, type BlacklistUri } from './uri.js';

export const EXCLUSIONS_BATCH = 1000;
const MAX_REJECTED_KEPT = 50;

export interface ExclusionsProgress { linesRead: number; valid: number; rejected: number }
export interface ExclusionsReadResult extends ExclusionsProgress { encoding: string; rejectedLines: { line: number; reason: string }[] }

type Entry = BlacklistUri & { name: string | null; line: number };

/** The header's layout when the first non-empty line names a `uri` column. */
function headerOf(line: string): { separator: string; uri: number; name: number } | null {
  for (const separator of [',', ';', '\t', '|']) {
    const cells = splitLine(line, separator).map((c) => c.trim().toLowerCase());
    const uri = cells.indexOf('uri');
    if (uri >= 0) return { separator, uri, name: cells.indexOf('name') };
  }
  return null;
}

function splitLine(line: string, separator: string): string[] {
  try {
    return (parse(line, { delimiter: separator, relax_quotes: true, relax_column_count: true }) as string[][])[0] ?? [];
  } catch {
    return line.split(separator);
  }
}

/**
 * Reads the file and hands each batch of valid entries to `write` (in file order; at most EXCLUSIONS_BATCH).
 * Stops between batches when `signal` aborts.
 */
export async function readExclusions(
  open: () => Promise<Readable>, write: (batch: Entry[]) => Promise<void>,
  options: { signal?: AbortSignal; onProgress?: (progress: ExclusionsProgress) => void } = {},
): Promise<ExclusionsReadResult> {
  const attempt = async (forced?: DetectedEncoding): Promise<ExclusionsReadResult> => {
    const { sample, complete, stream } = await peek(await open(), SAMPLE_BYTES);
    const detected = forced ?? detectEncoding(sample, { complete });
    const progress: ExclusionsProgress = { linesRead: 0, valid: 0, rejected: 0 };
    const rejectedLines: { line: number; reason: string }[] = [];
    let header: ReturnType<typeof headerOf> | undefined;
    let batch: Entry[] = [];
    const lines = createInterface({ input: stream.pipe(createTextDecoder(detected)), crlfDelay: Infinity });
    for await (const raw of lines) {
      const line = ++progress.linesRead;
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() === '') continue;
      if (header === undefined) {
        header = headerOf(text);
        if (header) continue;
      }
      const cells = header ? splitLine(text, header.separator) : [text];
      const value = (header ? cells[header.uri] : cells[0]) ?? '';
      const uri = parseBlacklistUri(value);
      if (!uri) {
        progress.rejected++;
        if (rejectedLines.length < MAX_REJECTED_KEPT) {
          rejectedLines.push({ line, reason: value.trim() === '' ? 'no uri' : `"${value.trim().slice(0, 80)}" ${BLACKLIST_URI_RULE}` });
        }
        continue;
      }
      progress.valid++;
      const name = header && header.name >= 0 ? (cells[header.name]?.trim() || null) : null;
      batch.push({ ...uri, name: name?.slice(0, 200) ?? null, line });
      if (batch.length >= EXCLUSIONS_BATCH) {
        if (options.signal?.aborted) throw new Error('exclusions import cancelled');
        await write(batch);
        batch = [];
        options.onProgress?.({ ...progress });
      }
    }
    if (batch.length > 0) await write(batch);
    options.onProgress?.({ ...progress });
    const name = detected.encoding === 'utf-8' && detected.bom ? 'utf-8 (BOM)' : detected.encoding;
    return { ...progress, encoding: name, rejectedLines };
  };
  try {
    return await attempt();
  } catch (err) {
    if (!(err instanceof NotUtf8Error)) throw err;
    return attempt({ encoding: 'windows-1252', bom: false });
  }
}

/** One batch in one transaction: the entries not on the blacklist yet are added for `runId` and their phones excluded. */
export async function writeExclusionsBatch(sql: Sql, runId: string, actor: string | null, batch: Entry[]): Promise<void> {
  const rows = batch.map((e) => ({ kind: e.kind, uri: e.uri, match_key: e.matchKey, name: e.name }));
  await sql.begin(async (begun) => {
    const tx = begun as unknown as Sql;
    await lockBlacklistForChange(tx);
    const added = await tx<{ kind: string; match_key: string }[]>`
      insert into blacklist_entries (kind, uri, match_key, name, added_by, run_id)
      select distinct on (e.match_key) e.kind, e.uri, e.match_key, e.name, ${actor}, ${runId}
      from jsonb_to_recordset(${tx.json(rows)}) as e(kind text, uri text, match_key text, name text)
      order by e.match_key
      on conflict (match_key) do nothing
      returning kind, match_key`;
    const phoneKeys = added.filter((a) => a.kind === 'phone').map((a) => a.match_key);
    if (phoneKeys.length > 0) await reconcileBlacklistedPhones(tx, phonesWithKeys(tx, phoneKeys), { actor, runId });
  });
}

/** What the run added and excluded, read back (exact after any number of retries). */
export async function exclusionsOutcome(sql: Sql, runId: string): Promise<{ added: number; phonesExcluded: number }> {
  const [row] = await sql<{ added: number; phones_excluded: number }[]>`
    select (select count(*)::int from blacklist_entries where run_id = ${runId}) as added,
           (select count(*)::int from blacklist_entries b join contact_phones p
              on regexp_replace(p.number, '[^0-9]', '', 'g') = b.match_key and p.state_before_blacklist is not null
            where b.run_id = ${runId} and b.kind = 'phone') as phones_excluded`;
  return { added: row.added, phonesExcluded: row.phones_excluded };
}
