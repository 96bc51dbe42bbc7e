// Worker processes SIGKILLed again and again at seeded random points of one exclusions import (FAULT_TRIALS kills,
// default 10; FAULT_SEED): after a last worker finishes it, every entry is on the blacklist once, the counts are
// exact, and each contact whose phone it excluded has that phone Excluded and one history line for it.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { exclusionsImportWorkflowId, type ExclusionsImportInput, type ExclusionsImportResult } from '../../contracts/exclusions-import.js';
import { runSearchAttributes } from '../../contracts/search-attributes.js';
import { newCampaign } from '../erasure-fixtures.js';
import { crashLoop, faultSuiteEnv, rngFor, TRIALS } from './crash-helpers.js';

const suite = faultSuiteEnv();
const ENTRIES = 200_000;
const CONTACTS = 2_000;   // each with one blacklisted phone and one other
const number = (i: number) => `+1556${String(i).padStart(7, '0')}`;

describe(`SIGKILL of the worker at ${TRIALS} random points`, () => {
  test('exclusions import: every entry once, counts exact, matching phones excluded once', async () => {
    const { env } = suite;
    const campaignId = await newCampaign(env);
    await env.sql`
      with c as (insert into contacts (campaign_id, client_id) select ${campaignId}, 'E' || g from generate_series(1, ${CONTACTS}::int) g returning id, client_id)
      insert into contact_phones (contact_id, position, number)
      select id, p.position, case p.position when 1 then '+1556' || lpad((substr(client_id, 2)::int * 7)::text, 7, '0') else '+1557' || lpad(substr(client_id, 2), 7, '0') end
      from c cross join (values (1), (2)) p(position)`;
    // One entry per line; every 1000th line is bad, every 500th repeats the line before.
    const lines = ['uri'];
    let bad = 0, repeated = 0;
    for (let i = 1; i <= ENTRIES; i++) {
      if (i % 1000 === 0) { lines.push(`bad-${i}`); bad++; continue; }
      if (i % 500 === 0) { lines.push(number(i - 1)); repeated++; continue; }
      lines.push(number(i));
    }
    const stored = await env.deps.store.put(Readable.from([lines.join('\n')]), { prefix: 'uploads' });
    await env.sql`insert into uploads (id, store_key, size_bytes, sha256) values ('fault-exclusions', ${stored.key}, ${stored.sizeBytes}, ${stored.sha256})`;
    const input: ExclusionsImportInput = { source: { uploadId: 'fault-exclusions' }, actingUser: 'faults' };
    const workflowId = exclusionsImportWorkflowId(new Date());
    const handle = await env.client.workflow.start('exclusionsImport', {
      workflowId, taskQueue: env.taskQueue, args: [input], typedSearchAttributes: runSearchAttributes({ kind: 'exclusions-import', triggeredBy: 'faults' }),
    });
    const added = ENTRIES - bad - repeated;
    // Contact E<k>'s first phone is number(7k): blacklisted unless 7k is a bad or repeated line, or beyond the file.
    const expectedExcluded = Array.from({ length: CONTACTS }, (_, k) => 7 * (k + 1)).filter((i) => i <= ENTRIES && i % 500 !== 0).length;
    await crashLoop(env, {
      workflowId,
      workerEnv: {},
      progress: async () => (await env.sql<{ n: number }[]>`select count(*)::int as n from blacklist_entries where run_id = ${workflowId}`)[0].n,
      async finish() {
        const result = (await handle.result()) as ExclusionsImportResult;
        assert.deepEqual([result.linesRead, result.added, result.duplicates, result.rejected, result.phonesExcluded],
          [ENTRIES + 1, added, repeated, bad, expectedExcluded]);
        const [entries] = await env.sql`
          select count(*)::int as n, count(distinct match_key)::int as keys from blacklist_entries where run_id = ${workflowId}`;
        assert.deepEqual({ ...entries }, { n: added, keys: added });
        const [phones] = await env.sql`
          select count(*) filter (where p.state = 'Excluded')::int as excluded, count(*) filter (where p.position = 2 and p.state <> 'Active')::int as others
          from contact_phones p join contacts c on c.id = p.contact_id where c.campaign_id = ${campaignId}`;
        assert.deepEqual({ ...phones }, { excluded: expectedExcluded, others: 0 });
        const [events] = await env.sql`
          select count(*)::int as n, count(distinct e.contact_id)::int as contacts
          from contact_events e join contacts c on c.id = e.contact_id where c.campaign_id = ${campaignId} and e.kind = 'blacklist'`;
        assert.deepEqual({ ...events }, { n: expectedExcluded, contacts: expectedExcluded }, 'one history line per excluded contact, however often retried');
        const [row] = await env.sql`select counts from exclusion_imports where run_id = ${workflowId}`;
        assert.equal(row.counts.added, added);
      },
    }, rngFor('exclusions-import'), { maxExtraMs: 4000, waitForProgress: false });
  });
});
