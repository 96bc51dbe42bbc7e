// The recurring list import of seed 001 ("Scheduled Contact List Import") as a job (issue 16): a scheduled job whose
// list-import step reads `{ destinationId, path }` with `$rdatetime$` in the file name imports the file with the most
// recent yyyymmddhhMMss time stamp on a real SFTP server — by the name's stamp, not the file's modification time;
// names without a valid stamp, or with another prefix, are not candidates — and the next run takes a newer file.
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';
import { until } from './harness/wait.js';
import { closedRun, createJob, stepsOf } from './jobs-helpers.js';
import { seededCampaign } from './list-import-helpers.js';

let env: TestEnv;
let api: Api;
let sshd: SshdServer;

before(async () => {
  sshd = await startSshd();
  env = await createTestEnv();
  await env.startWorker();
  api = await startApi(env);
});

after(async () => {
  await api?.close();
  await env?.stop();
  await sshd?.stop();
});

const list = (ids: string[]) => `client_id,name,phone\n${ids.map((id, i) => `${id},Name ${id},+1555123${String(i).padStart(4, '0')}`).join('\n')}\n`;

it('a scheduled job\'s list-import step with $rdatetime$ imports the newest time-stamped file; the next run a newer one', async () => {
  const campaignId = await seededCampaign(env.sql, 'rdatetime');
  const folder = path.join(sshd.rootDir, 'feeds', 'in');
  await mkdir(folder, { recursive: true });
  const files: [string, string[], string][] = [
    // name, client ids, modification time (the newest stamp is the oldest file on disk)
    ['list_20250301090000.csv', ['OLD1'], '2025-03-03T00:00:00Z'],
    ['list_20250302090000.csv', ['NEW1', 'NEW2'], '2025-03-01T00:00:00Z'],
    ['list_20241231235959.csv', ['OLDER1'], '2025-03-04T00:00:00Z'],
    ['list_20251399000000.csv', ['BADSTAMP1'], '2025-03-04T00:00:00Z'], // month 13: not a time stamp
    ['list_2025030209000.csv', ['SHORT1'], '2025-03-04T00:00:00Z'], // 13 digits
    ['other_20260101000000.csv', ['OTHER1'], '2025-03-04T00:00:00Z'], // another prefix
    ['list_20260101000000.txt', ['SUFFIX1'], '2025-03-04T00:00:00Z'], // another extension
  ];
  for (const [name, ids, mtime] of files) {
    await writeFile(path.join(folder, name), list(ids));
    await utimes(path.join(folder, name), new Date(mtime), new Date(mtime));
  }
  const dest = await api.call('POST', '/destinations', { body: {
    name: 'feeds', protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: path.join(sshd.rootDir, 'feeds'),
  } });
  assert.equal(dest.status, 201, JSON.stringify(dest.json));
  const jobId = await createJob(api, {
    name: 'Daily list feed', trigger: { kind: 'schedule', cron: '0 6 * * *' },
    steps: [{ name: 'import feed', kind: 'list-import', campaignId, source: { destinationId: dest.json.id, path: 'in/list_$rdatetime$.csv' }, importRule: 'append' }],
  });
  const schedule = env.client.schedule.getHandle(`job/${jobId}`);
  const scheduledRun = async (seen: number) => {
    await schedule.trigger();
    const runId = await until('the scheduled run to start', async () => {
      const actions = (await schedule.describe()).info.recentActions;
      return actions.length > seen ? actions.at(-1)!.action.workflow.workflowId : undefined;
    });
    assert.match(runId, new RegExp(`^job/${jobId}/scheduled-`));
    assert.equal((await closedRun(env, runId)).status, 'completed');
    return (await stepsOf(env, runId))[0];
  };
  const imported = async () => (await env.sql<{ client_id: string }[]>`
    select client_id from contacts where campaign_id = ${campaignId} and client_id !~ '^K' order by client_id`).map((c) => c.client_id);

  const first = await scheduledRun(0);
  assert.equal(first.status, 'completed');
  assert.equal(first.output.file, 'in/list_20250302090000.csv', 'the most recent yyyymmddhhMMss stamp, whatever the modification times');
  assert.equal(first.output.imported, 2);
  assert.deepEqual(await imported(), ['NEW1', 'NEW2']);

  await writeFile(path.join(folder, 'list_20250303090000.csv'), list(['NEXT1']));
  const second = await scheduledRun(1);
  assert.equal(second.output.file, 'in/list_20250303090000.csv', 'the next run takes the newer file');
  assert.deepEqual(await imported(), ['NEW1', 'NEW2', 'NEXT1']);
});
