// What the list-import workflow, the campaign-lock workflow, their activities and the API share: inputs,
// results, signals and ids. No I/O here (workflow code imports it).
import { defineQuery, defineSignal } from '@temporalio/workflow';
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

// The campaign-lock workflow (one per campaign) and its requesters.
export interface LockRequest { runId: string; type: 'import' | 'export' | 'delete'; actingUser?: string | null; wait: boolean }
export interface LockRefusal { heldBy: string | null; reason: string }
export interface CampaignLockState { holder: LockRequest | null; queue: LockRequest[] }
export interface CampaignLockInput {
  campaignId: string;
  checkEverySeconds: number;
  state?: CampaignLockState;
  /** Continue as new once the history has this many events (default: when Temporal suggests it). */
  maxHistoryEvents?: number;
}

export const acquireLockSignal = defineSignal<[LockRequest]>('acquireCampaignLock');
export const releaseLockSignal = defineSignal<[{ runId: string }]>('releaseCampaignLock');
export const lockGrantedSignal = defineSignal('campaignLockGranted');
export const lockRefusedSignal = defineSignal<[LockRefusal]>('campaignLockRefused');
export const lockStateQuery = defineQuery<CampaignLockState>('campaignLockState');

export const campaignLockWorkflowId = (campaignId: string) => `campaign-lock/${campaignId}`;

/** `list-import/<campaignId>/<ISO time>`: readable, unique per start. */
export function listImportWorkflowId(campaignId: string, at: Date): string {
  return `list-import/${campaignId}/${at.toISOString()}`;
}
