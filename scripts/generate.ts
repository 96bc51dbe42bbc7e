// Synthetic contact-center data into DATABASE_URL, content into the local content store at
// <DATA_DIR>/content (encrypted with the master key of lib/crypto/keys.ts). The same flags give the same
// data; pass --from and --to to pin the date range (they default to the 30 days before today, UTC).
//   npm run generate -- --seed 7 --campaigns 2 --contacts 100000 --attempts 4 --interactions 200 \
//     --from 2024-06-01 --to 2024-07-01 [--no-content]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { config } from '../lib/config.js';
import { createLocalContentStore } from '../lib/content-store/local.js';
import { loadKeyring } from '../lib/crypto/keys.js';
import { connect } from '../db/sql.js';
import { generate, type GenerateOptions } from '../lib/generator/index.js';
import { errorMessage } from '../shared/error-message.js';

const USAGE = 'usage: npm run generate -- [--seed N] [--campaigns N] [--contacts N] [--attempts N] [--interactions N] [--from DATE] [--to DATE] [--no-content]';

function wholeNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new Error(`--${flag} must be a whole number; got ${JSON.stringify(text)}.\n${USAGE}`);
  return n;
}

function date(flag: string, text: string): Date {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new Error(`--${flag} must be a date like 2024-06-01 or 2024-06-01T08:00:00Z; got ${JSON.stringify(text)}.`);
  return d;
}

/** The generate() options the flags ask for, or undefined for --help. */
function optionsFromFlags(): GenerateOptions | undefined {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      campaigns: { type: 'string', default: '2' },
      contacts: { type: 'string', default: '1000' },
      attempts: { type: 'string', default: '3' },
      interactions: { type: 'string', default: '50' },
      from: { type: 'string' },
      to: { type: 'string' },
      'no-content': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;

  const today = new Date(new Date().toISOString().slice(0, 10));
  const to = values.to ? date('to', values.to) : today;
  const from = values.from ? date('from', values.from) : new Date(to.getTime() - 30 * 86_400_000);
  return {
    seed: wholeNumber('seed', values.seed),
    campaigns: wholeNumber('campaigns', values.campaigns),
    contactsPerCampaign: wholeNumber('contacts', values.contacts),
    attemptsPerContact: wholeNumber('attempts', values.attempts),
    interactionsPerCampaign: wholeNumber('interactions', values.interactions),
    from,
    to,
    withContent: !values['no-content'],
  };
}

async function main(): Promise<void> {
  const options = optionsFromFlags();
  if (!options) {
    console.log(USAGE);
    return;
  }
  const cfg = config();
  if (!cfg.DATABASE_URL) throw new Error('DATABASE_URL is not set; point it at the platform database (postgres://user:pass@host:5432/db).');
  const sql = connect(cfg.DATABASE_URL, { max: 2 });
  try {
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from completion_statuses`.catch(() => [{ n: 0 }]);
    if (n === 0) throw new Error('The database has no completion statuses: run the migrations first (npm run migrate).');
    const keyring = await loadKeyring({
      dataDir: cfg.dataDir, masterKey: cfg.MASTER_KEY, masterKeyId: cfg.MASTER_KEY_ID, previousKeys: cfg.MASTER_KEY_PREVIOUS,
    });
    const store = createLocalContentStore({ dir: path.join(cfg.dataDir, 'content'), keyring });
    const started = performance.now();
    const summary = await generate(sql, store, { ...options, onProgress: (message) => console.log(message) });
    const seconds = (performance.now() - started) / 1000;
    const { campaignIds, ...counts } = summary;
    console.log(`campaign ids: ${campaignIds.join(', ')}`);
    for (const [name, count] of Object.entries(counts)) console.log(`${name.padEnd(14)} ${count}`);
    console.log(`done in ${seconds.toFixed(1)} s (${Math.round(summary.attempts / seconds)} attempts/s)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// Errors here are the user's to fix (a flag, a variable, a database without migrations): say what, not where.
await main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exitCode = 1;
});
