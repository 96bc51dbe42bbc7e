// Custom search attributes set on every run, so engineers can filter runs in Temporal UI by job kind,
// campaign, job definition and who triggered them. Ids and role names only: search attributes are not
// encrypted, so nothing personal goes here.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const JOB_KIND = defineSearchAttributeKey('CcJobKind', SearchAttributeType.KEYWORD);
export const CAMPAIGN_ID = defineSearchAttributeKey('CcCampaignId', SearchAttributeType.KEYWORD);
export const JOB_DEFINITION_ID = defineSearchAttributeKey('CcJobDefinitionId', SearchAttributeType.KEYWORD);
export const TRIGGERED_BY = defineSearchAttributeKey('CcTriggeredBy', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [JOB_KIND, CAMPAIGN_ID, JOB_DEFINITION_ID, TRIGGERED_BY];

/** The job kinds; also the `type` of a run in the task views. */
export const JOB_KINDS = {
  recordingExport: 'recording-export',
  report: 'report',
  listImport: 'list-import',
  listExport: 'list-export',
  listDelete: 'list-delete',
  listStatusChange: 'list-status-change',
  exclusionsImport: 'exclusions-import',
  erasure: 'erasure',
  salesforceExport: 'salesforce-export',
  contentExpiry: 'content-expiry',
  job: 'job',
  campaignTrigger: 'campaign-trigger',
  resultsDownload: 'results-download',
  resultsExport: 'results-export',
  demo: 'demo',
} as const;
export type JobKind = (typeof JOB_KINDS)[keyof typeof JOB_KINDS];

/** Whether a `CcJobKind` (or workflow type) names a run of ours; plumbing such as a campaign's lock
 *  workflow (`campaign-lock`) and other applications' workflows do not. */
export function isJobKind(kind: string | undefined): kind is JobKind {
  return kind !== undefined && (Object.values(JOB_KINDS) as string[]).includes(kind);
}

/** `CcTriggeredBy` of a run a schedule started. */
export const TRIGGERED_BY_SCHEDULE = 'schedule';

/** `CcTriggeredBy` of a run an API key started: the key's id, never its name (search attributes are
 *  readable by anyone reaching Temporal, and one format keeps filtering in Temporal UI working). Runs
 *  started before this rule keep their `key:<name>` values. */
export function triggeredByKey(keyId: string): string {
  return `key-${keyId}`;
}

export interface RunLabels {
  kind: JobKind;
  campaignId?: string | number | null;
  definitionId?: string | number | null;
  triggeredBy?: string | null;
}

/** The typed search attributes for a run's start options. */
export function runSearchAttributes(labels: RunLabels) {
  const pairs = [{ key: JOB_KIND, value: labels.kind as string }];
  if (labels.campaignId != null) pairs.push({ key: CAMPAIGN_ID, value: String(labels.campaignId) });
  if (labels.definitionId != null) pairs.push({ key: JOB_DEFINITION_ID, value: String(labels.definitionId) });
  if (labels.triggeredBy) pairs.push({ key: TRIGGERED_BY, value: labels.triggeredBy });
  return pairs;
}
