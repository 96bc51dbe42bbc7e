// What the list-import workflow, its activities and the API share: inputs, results, signals and ids. No I/O
// here (workflow code imports it). The campaign lock's contract is contracts/campaign-lock.ts.
import { defineSignal } from '@temporalio/workflow';

/** The separators a calling list may use, by the name the API takes. */
export const SEPARATORS = { ',': ',', ';': ';', ':': ':', tab: '\t', space: ' ' } as const;
export type Separator = keyof typeof SEPARATORS;

/** The import, update and merge rules of seed 001 (what each does: lib/import/rules.ts). */
export const IMPORT_RULES = ['nothing', 'append'] as const;
export const UPDATE_RULES = ['nothing', 'activate-contact', 'activate-contact-phone', 'inactivate', 'delete'] as const;
export const MERGE_RULES = ['nothing', 'activate-contact', 'activate-contact-phone', 'inactivate', 'delete', 'append', 'replace'] as const;
export type ImportRule = (typeof IMPORT_RULES)[number];
export type UpdateRule = (typeof UPDATE_RULES)[number];
export type MergeRule = (typeof MERGE_RULES)[number];

export interface ImportRules { importRule: ImportRule; updateRule: UpdateRule; mergeRule: MergeRule; deleteAllBeforeImport: boolean }

/** Where an import reads its file: a destination path (`$rdatetime$` resolved to the newest file) or an upload. */
export type ImportSource = { destinationId: string; path: string } | { uploadId: string };

/** Failures of an import that no retry can fix (ApplicationFailure.type; lib/import/errors.ts throws them). */
export const IMPORT_FAILURES = {
  emptyFile: 'ImportFileEmpty',
  undecidableEncoding: 'ImportEncodingUndecidable',
  notAList: 'ImportNotAList',
  sourceMissing: 'ImportSourceMissing',
  campaignLocked: 'CampaignLocked',
  campaignMissing: 'CampaignMissing',
} as const;
export type ImportFailureType = (typeof IMPORT_FAILURES)[keyof typeof IMPORT_FAILURES];


export interface ListImportInput extends ImportRules {
  campaignId: string;
  campaignName?: string | null;
  source: ImportSource;
  separator: Separator;
  hasHeader: boolean;
  keyField: 'clientId';
  /** false: fail with CampaignLocked at once when another process holds the campaign. */
  wait: boolean;
  scheduledAt?: string | null;
  actingUser?: string | null;
  /** The list the new contacts join (default "default"; a new name creates it). Absent in runs started before lists. */
  listName?: string | null;
}

export interface ImportCounts { rowsRead: number; imported: number; updated: number; deleted: number; replaced: number; rejected: number }

export interface ListImportResult extends ImportCounts {
  file: string;
  encoding: string;
  rejectedRows: { line: number; reason: string }[];   // the first 50; all of them are in the log
  logKey: string | null;
  logLocation: string | null;
  startedAt: string;
  finishedAt: string;
}

export interface ImportProgress { bytesRead: number; totalBytes: number | null; rowsRead: number; rejected: number }

/** Sent by the stage activity up to once a second before issue 12; kept so runs started before replay (the
 *  workflow's `list-import-no-progress-signals` patch). Nothing sends it any more. */
export const importProgressSignal = defineSignal<[ImportProgress]>('importProgress');

/** `list-import/<campaignId>/<ISO time>`: readable, unique per start. */
export function listImportWorkflowId(campaignId: string, at: Date): string {
  return `list-import/${campaignId}/${at.toISOString()}`;
}
