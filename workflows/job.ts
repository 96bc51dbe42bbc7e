// A job made of steps (seed 002): one run interprets the definition as it was when the run started (a snapshot
// taken by its first activity), follows each step's success and failure links, and hands the file a step
// produced to the next. Job kinds we already have run as child workflows (report, recording export, list
// import: their own workflows, not copies); copy and e-mail are activities. Cancelling the run cancels the
// running step (the child, or the activity) and no further step runs. A failed run notifies `notify.onFailure`.
import {
  ApplicationFailure, CancellationScope, executeChild, isCancellation, patched, proxyActivities, workflowInfo,
} from '@temporalio/workflow';
import type { JobActivities } from '../activities/jobs.js';
import type { createRunActivities } from '../activities/runs.js';
import { failureOf, successOf } from '../contracts/job-graph.js';
import {
  END, FAIL, JOB_FAILURES, jobStepWorkflowId, type JobFile, type JobFilePollInput, type JobRunInput, type JobRunResult, type JobSnapshot, type JobStep,
} from '../contracts/job.js';
import { CONTACT_PROCESS_WORKFLOW_TYPE, type ContactProcessResult } from '../contracts/contact-process.js';
import type { ListImportResult } from '../contracts/list-import.js';
import { RECORDING_EXPORT_WORKFLOW, type RecordingExportResult } from '../contracts/recording-export.js';
import { REPORT_WORKFLOW, type ReportRunResult } from '../contracts/report.js';
import { RESULTS_EXPORT_WORKFLOW, type ResultsExportResult } from '../contracts/results.js';
import { SALESFORCE_EXPORT_WORKFLOW, type SalesforceExportResult } from '../contracts/salesforce-export.js';
import { trackRunStatus } from './shared/run-status.js';
import { JOB_KINDS, runSearchAttributes, type JobKind } from '../contracts/search-attributes.js';

const runs = proxyActivities<ReturnType<typeof createRunActivities>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } });
const quick = proxyActivities<JobActivities>({
  startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
// Copies and mails heartbeat every 3 s: a worker that dies is noticed, and the step retried, within 10 s.
const transfer = proxyActivities<JobActivities>({
  startToCloseTimeout: '2h', heartbeatTimeout: '10s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 8 },
});

const message = (err: unknown): string => {
  let e: unknown = err;
  // A child's failure wraps the child's own; the innermost message says what happened.
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(err);
};

interface StepContext { runId: string; seq: number; job: JobSnapshot; file: JobFile | null; triggerFile: JobFile | null; triggeredBy: string | null }
interface StepOutcome { file?: JobFile | null; output: unknown; childId?: string }

export async function jobRun(input: JobRunInput): Promise<JobRunResult> {
  const runId = workflowInfo().workflowId;
  const status = trackRunStatus({ step: 'starting' });
  const job = await quick.loadJobSnapshot({ definitionId: input.definitionId });
  await runs.recordRunStart({
    runId, type: JOB_KINDS.job, name: job.name, objectName: job.campaignName ?? job.name, definitionId: input.definitionId,
    campaignId: job.campaignId, actingUser: input.triggeredBy ?? null,
  });
  const result: JobRunResult = { outcome: 'completed', steps: [], failedStep: null, error: null, file: null };
  const triggerFile: JobFile | null = input.arrived
    ? { source: 'destination', destinationId: input.arrived.destinationId, path: input.arrived.path, fileName: input.arrived.path.split('/').pop()! }
    : null;
  let file: JobFile | null = triggerFile;
  let seq = 0;
  let current: JobStep | undefined;
  try {
    let next: string = job.steps[0].name;
    // The graph was checked acyclic on save; the bound keeps a run finite whatever the snapshot holds.
    while (next !== END && next !== FAIL && seq <= job.steps.length) {
      const index = job.steps.findIndex((s) => s.name === next);
      if (index < 0) throw ApplicationFailure.nonRetryable(`The job links to step "${next}", which it does not have.`, JOB_FAILURES.stepNotRunnable);
      current = job.steps[index];
      status.setStep(current.name);
      status.progress = { done: seq, total: null };
      const childId = childOf(current) ? jobStepWorkflowId(runId, seq, current.name) : null;
      await quick.recordJobStep({ runId, seq, name: current.name, kind: current.kind, status: 'running', childId });
      await runs.recordRunProgress({ runId, step: current.name, done: seq });
      try {
        const outcome = await runStep(current, { runId, seq, job, file, triggerFile, triggeredBy: input.triggeredBy ?? null });
        if (outcome.file !== undefined && outcome.file !== null) file = outcome.file;
        await quick.recordJobStep({ runId, seq, name: current.name, kind: current.kind, status: 'completed', output: outcome.output });
        result.steps.push({ name: current.name, status: 'completed' });
        next = successOf(job.steps, index);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const error = message(err);
        status.addError(`${current.name}: ${error}`);
        await quick.recordJobStep({ runId, seq, name: current.name, kind: current.kind, status: 'failed', error });
        result.steps.push({ name: current.name, status: 'failed', error });
        result.failedStep = current.name;
        result.error = error;
        next = failureOf(job.steps, index);
      }
      seq++;
      current = undefined;
    }
    result.file = file;
    result.outcome = next === END ? 'completed' : 'failed';
    status.setStep(result.outcome === 'completed' ? 'done' : `failed at ${result.failedStep}`);
  } catch (err) {
    return await CancellationScope.nonCancellable(async () => {
      const cancelled = isCancellation(err);
      const error = cancelled ? 'cancelled' : message(err);
      if (current) await quick.recordJobStep({ runId, seq, name: current.name, kind: current.kind, status: cancelled ? 'cancelled' : 'failed', error });
      if (!cancelled) await notify(job, runId, current?.name ?? null, error);
      const unmoved = await settle(input, 'failed');
      await runs.recordRunEnd({ runId, status: cancelled ? 'cancelled' : 'failed', step: current?.name ?? status.step, error: unmoved ? `${error}; ${unmoved}` : error });
      throw err;
    });
  }
  const unmoved = await settle(input, result.outcome === 'completed' ? 'processed' : 'failed');
  if (unmoved !== null) {
    // Every step ran, but the arrived file stayed where it was: the run fails and the recipients are told.
    status.addError(unmoved);
    result.outcome = 'failed';
    result.error = result.error ? `${result.error}; ${unmoved}` : unmoved;
  }
  if (result.outcome === 'failed') {
    await notify(job, runId, result.failedStep, result.error ?? 'failed');
    const error = result.failedStep === null && unmoved !== null ? result.error! : `step "${result.failedStep}" failed: ${result.error}`;
    await runs.recordRunEnd({ runId, status: 'failed', step: result.failedStep ?? status.step, error, result });
    throw ApplicationFailure.nonRetryable(
      result.failedStep === null && unmoved !== null ? `Job "${job.name}" failed: ${error}` : `Job "${job.name}" failed at step "${result.failedStep}": ${result.error}`,
      JOB_FAILURES.stepFailed,
    );
  }
  await runs.recordRunEnd({ runId, status: 'completed', step: result.steps.at(-1)?.name ?? 'done', result, done: seq, total: seq });
  return result;
}

/**
 * A file-arrival run's file goes to processed/ or failed/ (a cancelled run's too, or it would sit there untaken).
 * A move that fails for good (after its retries) is returned as the run's error, so the run still ends recorded
 * and notified; runs started before this was patched let it fail the workflow, as they did.
 */
async function settle(input: JobRunInput, outcome: 'processed' | 'failed'): Promise<string | null> {
  if (!input.arrived) return null;
  try {
    await transfer.settleArrivedFile({ definitionId: input.definitionId, arrived: input.arrived, outcome });
    return null;
  } catch (err) {
    if (isCancellation(err) || !patched('job-settle-failure-ends-run')) throw err;
    return `the arrived file ${input.arrived.path} could not be moved to ${outcome === 'processed' ? input.arrived.processedFolder : input.arrived.failedFolder}/: ${message(err)}`;
  }
}

/** One poll of a file-arrival job's folder (its schedule runs this every minute). */
export async function jobFilePoll(input: JobFilePollInput): Promise<{ started: string[]; waiting: number }> {
  return quick.pollArrivedFiles({ definitionId: input.definitionId });
}

async function notify(job: JobSnapshot, runId: string, step: string | null, error: string): Promise<void> {
  const to = job.notify.onFailure ?? [];
  if (to.length) await quick.notifyJobFailure({ to, jobName: job.name, definitionId: job.definitionId, runId, step, error });
}

const childOf = (step: JobStep): JobKind | null => {
  if (step.kind === 'report') return JOB_KINDS.report;
  if (step.kind === 'recording-export') return JOB_KINDS.recordingExport;
  if (step.kind === 'list-import') return JOB_KINDS.listImport;
  if (step.kind === 'list-export') return JOB_KINDS.listExport;
  if (step.kind === 'results-export') return JOB_KINDS.resultsExport;
  if (step.kind === 'salesforce-export') return JOB_KINDS.salesforceExport;
  return null;
};

function childOptions(ctx: StepContext, step: JobStep, kind: JobKind, input: unknown, campaignId?: string) {
  const definitionId = step.kind === 'report' ? step.reportId
    : step.kind === 'recording-export' || step.kind === 'results-export' || step.kind === 'salesforce-export' ? step.jobId : null;
  return {
    workflowId: jobStepWorkflowId(ctx.runId, ctx.seq, step.name), args: [input] as [unknown],
    typedSearchAttributes: runSearchAttributes({ kind, campaignId, definitionId, triggeredBy: `job-${ctx.job.definitionId}` }),
  };
}

async function runStep(step: JobStep, ctx: StepContext): Promise<StepOutcome> {
  const triggeredBy = ctx.triggeredBy ?? `job ${ctx.job.definitionId}`;
  switch (step.kind) {
    case 'report': {
      const options = childOptions(ctx, step, JOB_KINDS.report, { definitionId: step.reportId, triggeredBy });
      const report = await executeChild<(i: unknown) => Promise<ReportRunResult>>(REPORT_WORKFLOW, options);
      const file = report.skipped ? null : await quick.reportStepFile({ childRunId: options.workflowId });
      return { file, output: { childId: options.workflowId, fileName: file?.fileName ?? null, rows: report.rows, skipped: report.skipped } };
    }
    case 'recording-export': {
      const options = childOptions(ctx, step, JOB_KINDS.recordingExport, { definitionId: step.jobId, triggeredBy });
      const exported = await executeChild<(i: unknown) => Promise<RecordingExportResult>>(RECORDING_EXPORT_WORKFLOW, options);
      const file = await quick.exportStepFile({ jobId: step.jobId, childRunId: options.workflowId, manifest: exported.manifest });
      return { file, output: { childId: options.workflowId, exported: exported.exported, failed: exported.failed, manifest: exported.manifest } };
    }
    case 'results-export': {
      const options = childOptions(ctx, step, JOB_KINDS.resultsExport, { jobId: step.jobId, triggeredBy });
      const exported = await executeChild<(i: unknown) => Promise<ResultsExportResult>>(RESULTS_EXPORT_WORKFLOW, options);
      return { output: { childId: options.workflowId, exported: exported.exported, fileName: exported.fileName ?? null, rows: exported.rows ?? 0, sent: exported.sent } };
    }
    case 'salesforce-export': {
      const options = childOptions(ctx, step, JOB_KINDS.salesforceExport, { definitionId: step.jobId, triggeredBy });
      const exported = await executeChild<(i: unknown) => Promise<SalesforceExportResult>>(SALESFORCE_EXPORT_WORKFLOW, options);
      return { output: { childId: options.workflowId, ...exported } };
    }
    case 'list-import': {
      const importInput = await quick.planListImportStep({ step, file: ctx.triggerFile, actingUser: triggeredBy });
      const options = childOptions(ctx, step, JOB_KINDS.listImport, importInput, step.campaignId);
      const imported = await executeChild<(i: unknown) => Promise<ListImportResult>>('listImport', options);
      return { output: { childId: options.workflowId, file: imported.file, imported: imported.imported, updated: imported.updated, rejected: imported.rejected } };
    }
    case 'list-export': {
      const childId = jobStepWorkflowId(ctx.runId, ctx.seq, step.name);
      const exportInput = await quick.admitListExportStep({ step, childId, actingUser: triggeredBy });
      const options = childOptions(ctx, step, JOB_KINDS.listExport, exportInput, step.campaignId);
      const exported = await executeChild<(i: unknown) => Promise<ContactProcessResult>>(CONTACT_PROCESS_WORKFLOW_TYPE, options);
      const file = await quick.listExportStepFile({ childRunId: options.workflowId });
      return { file, output: { childId: options.workflowId, fileName: exported.fileName, exported: exported.exported ?? 0, location: exported.location } };
    }
    case 'copy': {
      const file = needFile(step, ctx.file);
      const copied = await transfer.copyJobFile({ file, destinationId: step.destinationId, path: step.path });
      const { location, ...next } = copied;
      return { file: next, output: { destinationId: step.destinationId, path: copied.path, location } };
    }
    case 'email': {
      const file = step.attach === 'previous' ? needFile(step, ctx.file) : null;
      const subject = step.subject ?? `Job "${ctx.job.name}"${file ? `: ${file.fileName}` : ''}`;
      const text = `The job "${ctx.job.name}" (job ${ctx.job.definitionId}) ran step "${step.name}" in run ${ctx.runId}.`
        + `${file ? `\nAttached: ${file.fileName}` : ''}\n`;
      const sent = await transfer.emailJobStep({ to: step.to, subject, text, file });
      return { output: { recipients: step.to.length, accepted: sent.accepted, attached: sent.attached } };
    }
  }
}

function needFile(step: JobStep, file: JobFile | null): JobFile {
  if (!file) throw ApplicationFailure.nonRetryable(`Step "${step.name}" needs the previous step's file, but no earlier step produced one (an empty report is skipped).`, JOB_FAILURES.noFile);
  return file;
}
