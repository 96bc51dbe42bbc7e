// What the job workflow (a chain of steps, seed 002), its activities and its callers share: the definition as a
// run sees it, the file passed from step to step, inputs, results and ids. No I/O here (workflow code imports it).

export const JOB_WORKFLOW = 'jobRun';
/** One poll of a file-arrival job's folder (run by the job's schedule). */
export const JOB_FILE_POLL_WORKFLOW = 'jobFilePoll';

export interface JobFilePollInput { definitionId: string }

export const SCHEDULE_PRESETS = ['end-of-day', 'hourly', 'weekly', 'monthly'] as const;
export type SchedulePreset = (typeof SCHEDULE_PRESETS)[number];

export type JobTrigger =
  | { kind: 'manual' }
  | { kind: 'schedule'; cron?: string; preset?: SchedulePreset }
  | { kind: 'campaign-end'; campaignId: string }
  | { kind: 'file-arrival'; destinationId: string; folder: string; pattern: string; moveTo?: string };

/** Where a step's link leads: another step by name, or the end of the run. */
export const END = 'end';
export const FAIL = 'fail';

export type ListImportStepSource = 'trigger-file' | { destinationId: string; path: string };

export type JobStepParams =
  | { kind: 'report'; reportId: string }
  | { kind: 'recording-export'; jobId: string }
  | { kind: 'results-export'; jobId: string }
  | { kind: 'salesforce-export'; jobId: string }
  | { kind: 'list-import'; campaignId: string; source: ListImportStepSource; [option: string]: unknown }
  | { kind: 'list-export'; campaignId: string; wait?: boolean; destinationId?: string; folder?: string; [option: string]: unknown }
  | { kind: 'email'; to: string[]; subject?: string; attach?: 'previous' }
  | { kind: 'copy'; destinationId: string; path: string };

export type JobStepKind = JobStepParams['kind'];

export type JobStep = JobStepParams & { name: string; onSuccess?: string; onFailure?: string };

export interface JobNotify { onFailure?: string[] }

/** The definition as the run took it when it started: later edits do not change the run. */
export interface JobSnapshot {
  definitionId: string;
  name: string;
  campaignId: string | null;
  trigger: JobTrigger;
  steps: JobStep[];
  notify: JobNotify;
}

/** A file a step produced (or the trigger brought), handed to the next step. */
export type JobFile =
  | { source: 'saved-report'; savedReportId: string; fileName: string }
  | { source: 'destination'; destinationId: string; path: string; fileName: string }
  /** A list export's file in the content store (GET /processes/{runId}/file). */
  | { source: 'process-file'; runId: string; fileName: string };

/** The file that started a file-arrival run, and where it goes once the run has ended. */
export interface ArrivedFile {
  destinationId: string;
  path: string;
  fileKey: string;
  processedFolder: string;
  failedFolder: string;
}

export interface JobRunInput {
  definitionId: string;
  /** 'schedule', 'campaign-end', 'file-arrival', or the API caller's actor. */
  triggeredBy?: string | null;
  arrived?: ArrivedFile;
}

export type JobStepStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobStepRecord {
  runId: string;
  seq: number;
  name: string;
  kind: string;
  status: JobStepStatus;
  childId?: string | null;
  error?: string | null;
  output?: unknown;
}

export interface JobRunResult {
  outcome: 'completed' | 'failed';
  steps: { name: string; status: JobStepStatus; error?: string }[];
  failedStep: string | null;
  error: string | null;
  file: JobFile | null;
}

/** Failure types of job runs (ApplicationFailure.type). */
export const JOB_FAILURES = {
  definitionNotFound: 'JobDefinitionNotFound',
  stepFailed: 'JobStepFailed',
  noFile: 'JobStepHasNoFile',
  copyRefused: 'JobCopyRefused',
  emailRefused: 'JobEmailRefused',
  emailNotConfigured: 'JobEmailNotConfigured',
  destinationNotFound: 'JobDestinationNotFound',
  stepNotRunnable: 'JobStepNotRunnable',
} as const;

/** `job/<definitionId>/<ISO time>`: a run started by hand. */
export const jobManualWorkflowId = (definitionId: string, at: Date) => `job/${definitionId}/${at.toISOString()}`;
/** The schedule of a scheduled job, and the prefix of the workflow ids it starts. */
export const jobScheduleId = (definitionId: string) => `job/${definitionId}`;
export const jobScheduledWorkflowIdPrefix = (definitionId: string) => `job/${definitionId}/scheduled`;
export const jobFilePollWorkflowIdPrefix = (definitionId: string) => `job/${definitionId}/poll`;
/** The one run a campaign's end starts of a job: the same id however often the campaign is completed. */
export const jobCampaignEndWorkflowId = (definitionId: string, campaignId: string) => `job/${definitionId}/campaign-end-${campaignId}`;
/** The one run an arrived file starts (fileKey: a digest of destination, path, size and mtime). */
export const jobFileArrivalWorkflowId = (definitionId: string, fileKey: string) => `job/${definitionId}/file-${fileKey}`;
/** A step run as a child workflow: `<job run id>/step-<seq>-<step name>`. */
export const jobStepWorkflowId = (runId: string, seq: number, stepName: string) =>
  `${runId}/step-${seq}-${stepName.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)}`;
