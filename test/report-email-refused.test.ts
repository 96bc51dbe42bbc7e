// A mail server that refuses the report for good (a wrong login in SMTP_URL, a mailbox refused with 5xx)
// fails the e-mail delivery at once with the server's reason, as lib/failures.ts classifies SMTP errors;
// before, every SMTP error was retried for minutes (8 attempts with backoff) and then reported raw.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, type TestEnv } from './harness/env.js';
import { startSmtp, type SmtpSink } from './harness/servers/index.js';
import { createReportDefinition, newCampaign, startReport } from './report-helpers.js';

let env: TestEnv;
let smtp: SmtpSink;

before(async () => {
  smtp = await startSmtp({ username: 'reports', password: 'right-password' });
  env = await createTestEnv({ env: { SMTP_URL: `smtp://reports:wrong-password@${smtp.host}:${smtp.port}` } });
  await env.startWorker();
});

after(async () => {
  await env?.stop();
  await smtp?.stop();
});

/** The attempt on which each activity of a workflow's history last started, by activity type. */
async function attempts(workflowId: string): Promise<Map<string, number>> {
  const { events } = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const types = new Map<string, string>();
  const result = new Map<string, number>();
  for (const event of events ?? []) {
    if (event.activityTaskScheduledEventAttributes) types.set(String(event.eventId), event.activityTaskScheduledEventAttributes.activityType!.name!);
    const started = event.activityTaskStartedEventAttributes;
    if (started) result.set(types.get(String(started.scheduledEventId))!, started.attempt!);
  }
  return result;
}

describe('e-mail delivery refused by the mail server', () => {
  it('a wrong SMTP login fails the delivery on its first attempt, naming the refused login', async () => {
    const campaign = await newCampaign(env.sql);
    const definitionId = await createReportDefinition(env.sql, { campaignId: campaign.id, output: { emails: ['ops@example.com'] } });
    const handle = await startReport(env, { definitionId });
    await assert.rejects(handle.result(), (err: Error) => {
      const text = `${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`;
      assert.match(text, /e-mail: The mail server refused the report \(EAUTH 535\): the login was refused/, text);
      return true;
    });
    assert.equal((await attempts(handle.workflowId)).get('emailReport'), 1);
    assert.equal(smtp.messages.length, 0);
  });
});
