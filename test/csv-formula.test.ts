// CSV formula injection (issue 21): the one rule (lib/csv/formula.ts) in TypeScript and in SQL, and every
// CSV the product writes — the three report CSVs (PostgreSQL COPY) and the recording-export manifest
// (csv-stringify) — with formula values in client ids, names, statuses, dispositions, agents and phones.
// The import log and the audit log are not CSV (plain text, JSON) and are not covered here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { NEUTRALIZE_FORMULA_SQL, castSafeString, neutralizeFormula } from '../lib/csv/formula.js';
import { manifestStream, MANIFEST_COLUMNS, type ManifestRow } from '../lib/export/manifest.js';
import { createCampaign } from '../lib/generator/index.js';
import type { ReportType } from '../lib/reports/definition.js';
import { loadReportDefinition } from '../lib/reports/definitions.js';
import { generateReportFile } from '../lib/reports/generate.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { createReportDefinition, readStream, savedCsv } from './report-helpers.js';

/** Values a spreadsheet would run, each expected back with a leading quote. */
const FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("x")', '@SUM(1)', '+SUM(1)', "+1+cmd|' /C calc'!A0", '-1+1', '-A1', '\t=1+1', '\r=1+1', '\t1'];
/** Values that stay as they are: plain text, and signed numbers and phone numbers (no function, no program). */
const PLAIN = ['Alice', 'a=b', 'C-1', '', "'=already quoted", ' =1', '1+1', '+15551230001', '+1 (555) 010-2030', '-12.5', '+1'];

let env: TestEnv;

before(async () => {
  env = await createTestEnv({ env: { REPORT_TIMEZONE: 'UTC', ACCOUNT_NAME: 'Acme' } });
});

after(async () => {
  await env?.stop();
});

describe('the formula rule', () => {
  for (const value of FORMULAS) {
    test(`${JSON.stringify(value)} gets a leading quote`, () => {
      assert.equal(neutralizeFormula(value), `'${value}`);
      assert.equal(castSafeString(value), `'${value}`);
    });
  }
  for (const value of PLAIN) {
    test(`${JSON.stringify(value)} is left alone`, () => assert.equal(neutralizeFormula(value), value));
  }

  test('the SQL variant gives what the TypeScript rule gives, on real PostgreSQL (null stays null)', async () => {
    const values = [...FORMULAS, ...PLAIN, '-', '=', "'", '\\=x', 'x\t', '\n=1'];
    const rows = await env.sql<{ v: string; out: string }[]>`
      select v, ${env.sql.unsafe(NEUTRALIZE_FORMULA_SQL('v'))} as out from unnest(${values}::text[]) as t(v)`;
    assert.deepEqual(rows.map((r) => r.out), values.map(neutralizeFormula));
    const [nul] = await env.sql<{ out: string | null }[]>`select ${env.sql.unsafe(NEUTRALIZE_FORMULA_SQL('v'))} as out from (select null::text as v) t`;
    assert.equal(nul.out, null);
  });
});

describe('report CSVs (PostgreSQL COPY)', () => {
  const quoted = (v: string) => `'${v}`;

  async function reportWithFormulas(type: ReportType) {
    const campaignName = `=HYPERLINK("x") ${type} ${Date.now()}`;
    const campaignId = await createCampaign(env.sql, { name: campaignName, timezone: 'UTC', createdAt: new Date('2024-01-01T00:00:00Z') });
    for (const [i, value] of FORMULAS.entries()) {
      await env.sql`
        insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, disposition, agent)
        values (${campaignId}, ${value}, ${FORMULAS[(i + 1) % FORMULAS.length]}, now() - interval '2 minutes', now() - interval '1 minute',
                ${FORMULAS[(i + 2) % FORMULAS.length]}, ${FORMULAS[(i + 3) % FORMULAS.length]}, ${FORMULAS[(i + 4) % FORMULAS.length]})`;
    }
    const definitionId = await createReportDefinition(env.sql, { campaignId, type });
    const definition = (await loadReportDefinition(env.sql, definitionId))!;
    // A few ms ahead: collected_at has microseconds, a Date only milliseconds, so an attempt inserted in the
    // same millisecond would fall just after a run time taken now (into the next window).
    const runTime = new Date(Date.now() + 5);
    const report = await generateReportFile(env.deps, {
      runId: `report/${definitionId}/formula`, definition, runTime, now: runTime, accountName: 'Acme', reportTimezone: 'UTC',
    });
    return { campaignName, rows: await savedCsv(env.sql, env.deps.store, report.fileId) };
  }

  for (const type of ['all-attempts', 'best-contact'] as const) {
    test(`${type}: client ids, campaign, phones, statuses, dispositions and agents that start a formula are quoted`, async () => {
      const { campaignName, rows } = await reportWithFormulas(type);
      assert.equal(rows.length, FORMULAS.length);
      assert.deepEqual(rows.map((r) => r.ClientId).sort(), FORMULAS.map(quoted).sort());
      for (const column of ['Phone', 'Status', 'Disposition', 'Agent']) {
        assert.deepEqual(rows.map((r) => r[column]).sort(), FORMULAS.map(quoted).sort(), column);
      }
      assert.ok(rows.every((r) => r.Campaign === quoted(campaignName)));
      assert.ok(rows.every((r) => /^\d+$/.test(r.AttemptId) && /^\d{4}-/.test(r.CompletedAt)), 'numbers and times are not touched');
    });
  }

  test('summary: statuses that start a formula are quoted, the TOTAL row and the counts are not', async () => {
    const { rows } = await reportWithFormulas('summary');
    const statuses = rows.map((r) => r.Status);
    assert.deepEqual(statuses.filter((s) => s !== 'TOTAL').sort(), FORMULAS.map(quoted).sort());
    const total = rows.find((r) => r.Status === 'TOTAL')!;
    assert.equal(total.Attempts, String(FORMULAS.length));
  });
});

describe('recording-export manifests (csv-stringify)', () => {
  test('every text cell that starts a formula is quoted; numbers, including negative ones, are not', async () => {
    const rows: ManifestRow[] = FORMULAS.map((value, i) => {
      const row = Object.fromEntries(MANIFEST_COLUMNS.map((c) => [c, value])) as ManifestRow;
      return { ...row, duration_s: -i, size_bytes: i };
    });
    const csv = await readStream(manifestStream((async function* () { yield rows; })()));
    const parsed = parse(csv, { columns: true }) as Record<string, string>[];
    assert.equal(parsed.length, FORMULAS.length);
    for (const [i, row] of parsed.entries()) {
      for (const column of MANIFEST_COLUMNS) {
        if (column === 'duration_s') assert.equal(row[column], String(-i));
        else if (column === 'size_bytes') assert.equal(row[column], String(i));
        else assert.equal(row[column], `'${FORMULAS[i]}`, `${column} of row ${i}`);
      }
    }
  });
});
