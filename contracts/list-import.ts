// What the list-import workflow, its activities and the API share: inputs, results, signals and ids. No I/O
// here (workflow code imports it). The campaign lock's contract is contracts/campaign-lock.ts.
import { defineSignal } from '@temporalio/workflow';
import type { ImportRules } from '../lib/import/rules.js';
import type { Separator } from '../lib/import/rows.js';
import type { ImportSource } from '../lib/import/source.js';

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

export const importProgressSignal = defineSignal<[ImportProgress]>('importProgress');

/** `list-import/<campaignId>/<ISO time>`: readable, unique per start. */
export function listImportWorkflowId(campaignId: string, at: Date): string {
  return `list-import/${campaignId}/${at.toISOString()}`;
}
