// Activities of jobs made of steps (seed 002): the definition snapshot a run takes at its start, the per-step
// history, the file a child workflow produced, the list import's input, and the steps run as activities
// (copy, e-mail) plus the failure notification.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Sql } from '../db/sql.js';
import { admitLockRequest, CampaignLockAwaitedError, runOpenOrUnknownIn } from '../lib/campaign-lock/index.js';
import { CampaignLockedError } from '../lib/campaign-lock/row.js';
import { processResult } from '../lib/contact-processes/results.js';
import { DestinationNotFoundError } from '../lib/destinations.js';
import { classifyFailure, isPermanentFailure } from '../lib/failures.js';
import { heartbeating } from '../lib/heartbeat.js';
import { pollArrivals, settleArrivedFile } from '../lib/jobs/arrivals.js';
import { setCampaignState } from '../lib/jobs/campaign-state.js';
import { loadJobDefinition } from '../lib/jobs/definitions.js';
import { copyJobFile, JobFileMissingError, openJobFile } from '../lib/jobs/files.js';
import { recordJobStep } from '../lib/jobs/history.js';
import { sendFailureNotice, sendStepMail, type FailureNotice } from '../lib/jobs/mail.js';
import { loadExportJob, runDestinationId } from '../lib/export/queries.js';
import { savedReportOfRun } from '../lib/reports/definitions.js';
import { EmailConfigError } from '../lib/reports/email.js';
import { TransferError } from '../lib/transfer/index.js';
import { JOB_FAILURES, type ArrivedFile, type JobFile, type JobSnapshot, type JobStep, type JobStepRecord } from '../contracts/job.js';
import type { ContactProcessInput } from '../contracts/contact-process.js';
import type { ListImportInput } from '../contracts/list-import.js';
import type { ActivityDeps } from './deps.js';

type ListImportStep = Extract<JobStep, { kind: 'list-import' }>;
type ListExportStep = Extract<JobStep, { kind: 'list-export' }>;

/** A failure that retrying cannot help becomes non-retryable with the job's failure type; others are retried. */
function asStepFailure(err: unknown, type: string, what: string): unknown {
  if (err instanceof DestinationNotFoundError) return ApplicationFailure.nonRetryable(err.message, JOB_FAILURES.destinationNotFound);
  if (err instanceof JobFileMissingError) return ApplicationFailure.nonRetryable(err.message, JOB_FAILURES.noFile);
  if (err instanceof EmailConfigError) return ApplicationFailure.nonRetryable(err.message, JOB_FAILURES.emailNotConfigured);
  if (err instanceof TransferError && isPermanentFailure(err)) return ApplicationFailure.nonRetryable(`${what} (${err.stage}): ${err.message}`, type);
  if ((err as { responseCode?: number }).responseCode !== undefined && classifyFailure('smtp', err) === 'permanent') {
    return ApplicationFailure.nonRetryable(`The mail server refused the message (${(err as { code?: string }).code ?? ''} ${(err as { responseCode?: number }).responseCode}): check the addresses and SMTP_URL`, type);
  }
  return err;
}

export function createJobActivities(deps: ActivityDeps) {
  const { sql, config } = deps;
  const fileDeps = { sql, store: deps.store, keyring: deps.keyring };

  return {
    async loadJobSnapshot({ definitionId }: { definitionId: string }): Promise<JobSnapshot & { campaignName: string | null }> {
      const def = await loadJobDefinition(sql, definitionId);
      if (!def) throw ApplicationFailure.nonRetryable(`Job ${definitionId} does not exist (deleted?); nothing was run.`, JOB_FAILURES.definitionNotFound);
      const [campaign] = def.campaignId ? await sql<{ name: string }[]>`select name from campaigns where id = ${def.campaignId}` : [];
      return {
        definitionId: def.id, name: def.name, campaignId: def.campaignId, campaignName: campaign?.name ?? null,
        trigger: def.config.trigger, steps: def.config.steps, notify: def.config.notify ?? {},
      };
    },

    async recordJobStep(step: JobStepRecord): Promise<void> {
      await recordJobStep(sql, step);
    },

    /** The file a report child run left: its packaged delivery file when there is one, else its CSV. */
    async reportStepFile({ childRunId }: { childRunId: string }): Promise<JobFile | null> {
      const saved = (await savedReportOfRun(sql, childRunId, 'delivery')) ?? (await savedReportOfRun(sql, childRunId, 'report'));
      return saved ? { source: 'saved-report', savedReportId: saved.id, fileName: saved.fileName } : null;
    },

    /** The manifest a recording export child run uploaded, on the destination the run sent to. */
    async exportStepFile({ jobId, childRunId, manifest }: { jobId: string; childRunId: string; manifest: string | null }): Promise<JobFile | null> {
      const job = await loadExportJob(sql, jobId);
      if (!job || !manifest) return null;
      return { source: 'destination', destinationId: await runDestinationId(sql, job, childRunId), path: manifest, fileName: manifest.split('/').pop()! };
    },

    /** The list import's input: the step's options, its source (the trigger's file or a path) and the campaign's name. */
    async planListImportStep({ step, file, actingUser }: { step: ListImportStep; file: JobFile | null; actingUser: string | null }): Promise<ListImportInput> {
      const [campaign] = await sql<{ name: string }[]>`select name from campaigns where id = ${step.campaignId}`;
      if (!campaign) throw ApplicationFailure.nonRetryable(`Campaign ${step.campaignId} of step "${step.name}" does not exist.`, JOB_FAILURES.stepNotRunnable);
      let source: ListImportInput['source'];
      if (step.source === 'trigger-file') {
        if (file?.source !== 'destination') throw ApplicationFailure.nonRetryable(`Step "${step.name}" imports the trigger's file, but the run has no file on a destination (it was not started by a file arrival).`, JOB_FAILURES.noFile);
        source = { destinationId: file.destinationId, path: file.path };
      } else {
        source = { destinationId: step.source.destinationId, path: step.source.path };
      }
      const { name: _n, kind: _k, onSuccess: _s, onFailure: _f, source: _src, campaignId, ...options } = step;
      return {
        separator: ',', hasHeader: true, importRule: 'append', updateRule: 'nothing', mergeRule: 'nothing', deleteAllBeforeImport: false,
        ...(options as Partial<ListImportInput>), campaignId, campaignName: campaign.name, source, keyField: 'clientId', wait: true,
        scheduledAt: null, actingUser,
      };
    },

    /** A list-export step's input, admitted under the campaign lock exactly as POST /campaigns/{id}/exports
     *  admits it (admitLockRequest in a transaction, the request recorded under the child's workflow id) before
     *  the child starts: `wait: false` fails the step at once while another process holds or awaits the lock. */
    async admitListExportStep({ step, childId, actingUser }: { step: ListExportStep; childId: string; actingUser: string | null }): Promise<ContactProcessInput> {
      const [campaign] = await sql<{ name: string }[]>`select name from campaigns where id = ${step.campaignId}`;
      if (!campaign) throw ApplicationFailure.nonRetryable(`Campaign ${step.campaignId} of step "${step.name}" does not exist.`, JOB_FAILURES.stepNotRunnable);
      const wait = step.wait ?? true;
      const { client } = Context.current();
      try {
        await sql.begin(async (tx) => {
          await admitLockRequest(tx as unknown as Sql, step.campaignId, { runId: childId, type: 'export', wait, asksNow: true }, runOpenOrUnknownIn(client));
        });
      } catch (err) {
        if (err instanceof CampaignLockedError || err instanceof CampaignLockAwaitedError) {
          throw ApplicationFailure.nonRetryable(`Step "${step.name}" (wait: false): ${err.message}`, JOB_FAILURES.stepNotRunnable);
        }
        throw err;
      }
      const { name: _n, kind: _k, onSuccess: _s, onFailure: _f, campaignId, wait: _w, ...options } = step;
      const o = options as Partial<ContactProcessInput & { type: 'export' }>;
      return {
        type: 'export', campaignId, filter: o.filter ?? {}, fields: o.fields!, separator: o.separator ?? ',', hasHeader: o.hasHeader ?? true,
        encoding: o.encoding ?? 'utf8', destinationId: o.destinationId ?? null, folder: o.folder ?? null, wait,
        scheduledAt: null, comment: `job step "${step.name}"`, actingUser,
      };
    },

    /** The file a list-export child run left in the content store. */
    async listExportStepFile({ childRunId }: { childRunId: string }): Promise<JobFile | null> {
      const stored = await processResult(sql, childRunId);
      return stored?.fileKey && stored.fileName ? { source: 'process-file', runId: childRunId, fileName: stored.fileName } : null;
    },

    async copyJobFile({ file, destinationId, path }: { file: JobFile; destinationId: string; path: string }): Promise<Extract<JobFile, { source: 'destination' }> & { location: string }> {
      try {
        return await heartbeating(() => copyJobFile(fileDeps, file, destinationId, path));
      } catch (err) {
        throw asStepFailure(err, JOB_FAILURES.copyRefused, `Destination ${destinationId} refused the copy`);
      }
    },

    async emailJobStep(input: { to: string[]; subject: string; text: string; file: JobFile | null }): Promise<{ accepted: number; attached: string | null }> {
      let opened: Awaited<ReturnType<typeof openJobFile>> | undefined;
      try {
        if (input.file) opened = await openJobFile(fileDeps, input.file);
        const sent = await heartbeating(() => sendStepMail(config, {
          to: input.to, subject: input.subject, text: input.text, file: opened && input.file ? { fileName: input.file.fileName, opened } : undefined,
        }));
        return { accepted: sent.accepted, attached: input.file?.fileName ?? null };
      } catch (err) {
        throw asStepFailure(err, JOB_FAILURES.emailRefused, 'The e-mail could not be sent');
      } finally {
        opened?.content.destroy();
        await opened?.close();
      }
    },

    /** One poll of a file-arrival job's folder: starts one run per arrived, settled file (lib/jobs/arrivals.ts). */
    async pollArrivedFiles({ definitionId }: { definitionId: string }): Promise<{ started: string[]; waiting: number }> {
      const { client, info } = Context.current();
      return pollArrivals({ sql, keyring: deps.keyring, client, taskQueue: info.taskQueue, now: deps.clock() }, definitionId);
    },

    /** Moves a run's arrived file to processed/ or failed/ once the run has ended. */
    async settleArrivedFile({ definitionId, arrived, outcome }: { definitionId: string; arrived: ArrivedFile; outcome: 'processed' | 'failed' }): Promise<{ movedTo: string }> {
      try {
        return { movedTo: await heartbeating(() => settleArrivedFile({ sql, keyring: deps.keyring }, definitionId, arrived, outcome)) };
      } catch (err) {
        throw asStepFailure(err, JOB_FAILURES.copyRefused, `Destination ${arrived.destinationId} refused moving ${arrived.path}`);
      }
    },

    /** A campaign's automatic start or stop: running or stopped (a completed campaign stays completed). */
    async applyCampaignTrigger({ campaignId, action }: { campaignId: string; action: 'start' | 'stop' }): Promise<{ state: string; previous: string }> {
      const state = action === 'start' ? 'running' : 'stopped';
      const previous = await setCampaignState(sql, campaignId, state, { keepCompleted: true });
      if (!previous) throw ApplicationFailure.nonRetryable(`Campaign ${campaignId} does not exist (deleted?); its trigger did nothing.`, JOB_FAILURES.stepNotRunnable);
      return { state: previous === 'completed' ? previous : state, previous };
    },

    /** Best effort for the run: a notification that cannot be sent is reported in the run's result, never fails it. */
    async notifyJobFailure(notice: FailureNotice): Promise<{ sent: boolean; error: string | null }> {
      try {
        await sendFailureNotice(config, notice);
        return { sent: true, error: null };
      } catch (err) {
        const failure = asStepFailure(err, JOB_FAILURES.emailRefused, 'The failure notification could not be sent');
        if (failure instanceof ApplicationFailure) return { sent: false, error: failure.message };
        throw err;
      }
    },
  };
}

export type JobActivities = ReturnType<typeof createJobActivities>;
