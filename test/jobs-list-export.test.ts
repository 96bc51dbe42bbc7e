// A job's `list-export` step (issue 16): the campaign's contact export runs as a child contactProcess workflow
// under the campaign lock and hands its file on — list export → copy to SFTP, the copied bytes equal the
// export; an invalid step is refused with 400 naming it; while another process holds the campaign lock (held
// still by a contact row the test locks) the step waits, or with wait: false fails at once.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blockedInStep, holdContact, lockOf, processFile, runOf, seedProcessCampaign, waitFor } from './contact-process-helpers.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSshd, type SshdServer } from './harness/servers/index.js';
import { closedRun, createJob, runJob, stepsOf } from './jobs-helpers.js';

let env: TestEnv;
let api: Api;
let sshd: SshdServer;
let sftpDestination: string;

before(async () => {
  sshd = await startSshd();
  env = await createTestEnv({ env: { CAMPAIGN_LOCK_CHECK_SECONDS: '1' } });
  await env.startWorker();
  api = await startApi(env);
  const res = await api.call('POST', '/destinations', { body: {
    name: 'client-sftp', protocol: 'sftp', host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, path: path.join(sshd.rootDir, 'jobs'),
  } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  sftpDestination = res.json.id;
});

after(async () => {
  await api?.close();
  await env?.stop();
  await sshd?.stop();
});

const exportStep = (campaignId: string, extra: Record<string, unknown> = {}) => ({
  name: 'export list', kind: 'list-export', campaignId, fields: ['client_id', 'name', 'phone', 'region'], separator: ';', encoding: 'windows-1252',
  filter: { statuses: ['Closed'] }, ...extra,
});

describe('list-export step', () => {
  it('list export → copy to SFTP: the export runs as a child and the copied file has the export\'s bytes', async () => {
    const { campaignId } = await seedProcessCampaign(env.sql, 'job-export');
    const jobId = await createJob(api, {
      name: 'Export to client', trigger: { kind: 'manual' },
      steps: [exportStep(campaignId), { name: 'to client sftp', kind: 'copy', destinationId: sftpDestination, path: 'exports/' }],
    });
    const runId = await runJob(api, jobId);
    const run = await closedRun(env, runId);
    assert.equal(run.status, 'completed', run.error ?? '');
    const steps = await stepsOf(env, runId);
    assert.deepEqual(steps.map((s) => [s.name, s.kind, s.status]), [['export list', 'list-export', 'completed'], ['to client sftp', 'copy', 'completed']]);
    const childId = steps[0].child_id!;
    assert.ok(childId.startsWith(`${runId}/step-0-export_list`), childId);
    const child = await runOf(env.sql, childId);
    assert.equal(child.status, 'completed', 'the export ran as its own contactProcess run');
    assert.equal(steps[0].output.exported, 2, 'P1 and P5 are Closed');
    assert.equal(await lockOf(env.sql, campaignId), null, 'the lock is released');

    const exported = await processFile(api.base, api.adminKey, childId);
    assert.equal(exported.status, 200);
    assert.match(exported.bytes.toString('latin1'), /^client_id;name;phone;region\r?\nP1;Ana Ruiz;\+15550100001;north/);
    const copied = await readFile(path.join(sshd.rootDir, 'jobs', steps[1].output.path));
    assert.equal(steps[1].output.path, `exports/${steps[0].output.fileName}`);
    assert.ok(copied.equals(exported.bytes), 'the copied bytes equal the export (windows-1252, ";")');
  });

  it('refuses an invalid list-export step with 400 naming the step and field; nothing is saved', async () => {
    const { campaignId } = await seedProcessCampaign(env.sql, 'job-export-bad');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['separator', { separator: 'x' }, /^steps\.0\.separator$/],
      ['encoding', { encoding: 'ebcdic' }, /^steps\.0\.encoding$/],
      ['folder without destination', { folder: 'out' }, /^steps\.0\.folder$/],
      ['unknown field', { fields: ['client_id', 'shoe_size'] }, /^steps\.0\.fields\.1$/],
      ['unknown campaign', { campaignId: '99999999' }, /^steps\.0\.campaignId$/],
      ['unknown destination', { destinationId: '99999999' }, /^steps\.0\.destinationId$/],
      ['unknown option', { scheduledAtt: 'x' }, /^steps\.0/],
    ];
    for (const [what, extra, field] of cases) {
      const res = await api.call('POST', '/jobs', { body: { name: `bad export ${what}`, trigger: { kind: 'manual' }, steps: [exportStep(campaignId, extra)] } });
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.json)}`);
      const errors = res.json.errors as { path: string; message: string }[];
      assert.ok(errors.some((e) => field.test(e.path)), `${what}: ${JSON.stringify(errors)}`);
      if (what === 'unknown field') assert.match(errors.map((e) => e.message).join('\n'), /step "export list": unknown export field "shoe_size"/);
    }
    const [{ count }] = await env.sql<{ count: number }[]>`select count(*)::int as count from job_definitions where kind = 'job' and name like 'bad export %'`;
    assert.equal(count, 0);
  });

  it('waits while another process holds the campaign lock, then exports; with wait: false it fails at once', async () => {
    const { campaignId } = await seedProcessCampaign(env.sql, 'job-export-lock');
    const held = await holdContact(env.sql, campaignId, 'P3');
    try {
      const deletion = await api.call('POST', `/campaigns/${campaignId}/deletions`, { body: { filter: { statuses: ['Postponed'] } } });
      assert.equal(deletion.status, 202, JSON.stringify(deletion.json));
      await blockedInStep(env.sql, deletion.json.runId, 'deleting');
      assert.equal((await lockOf(env.sql, campaignId))?.held_by, deletion.json.runId);

      const refusing = await createJob(api, { name: 'Export no wait', trigger: { kind: 'manual' }, steps: [exportStep(campaignId, { wait: false })] });
      const refused = await closedRun(env, await runJob(api, refusing));
      assert.equal(refused.status, 'failed');
      assert.match(refused.error!, /export list/);
      assert.match(refused.error!, new RegExp(`locked by|${deletion.json.runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

      const waiting = await createJob(api, { name: 'Export waits', trigger: { kind: 'manual' }, steps: [exportStep(campaignId)] });
      const runId = await runJob(api, waiting);
      const childId = await waitFor('the export child to wait for the lock', async () => {
        const [step] = await stepsOf(env, runId);
        if (!step?.child_id) return undefined;
        const child = await runOf(env.sql, step.child_id);
        return child?.step === 'waiting for campaign lock' ? step.child_id : undefined;
      });
      assert.equal((await runOf(env.sql, runId)).status, 'running', 'the job waits in its step');
      assert.equal((await lockOf(env.sql, campaignId))?.held_by, deletion.json.runId, 'the deletion still holds the lock');
      await held.release();
      const run = await closedRun(env, runId);
      assert.equal(run.status, 'completed', run.error ?? '');
      assert.equal((await runOf(env.sql, deletion.json.runId)).status, 'completed');
      assert.equal((await runOf(env.sql, childId)).status, 'completed');
      const [step] = await stepsOf(env, runId);
      assert.equal(step.output.exported, 2);
    } finally {
      await held.release();
    }
  });
});
