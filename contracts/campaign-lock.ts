// The contract of the campaign lock: what the lock workflow, the processes that take the lock (list import,
// and list export, deletion and status change to come), their activities and the API share. Types, the
// workflow's type and id, its signals and query, the process types and failure types. Depends on nothing of
// this project, so anyone may import it; the lock row itself is written only by lib/campaign-lock/.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** The processes that run under the campaign lock, as `GET /processes` shows them (API.md "Wave 2"). */
export const LOCK_TYPES = ['import', 'export', 'delete', 'status-change'] as const;
export type LockType = (typeof LOCK_TYPES)[number];

/** One lock workflow per campaign; its type and `CcJobKind` (never a run: not cancellable through the API). */
export const CAMPAIGN_LOCK_WORKFLOW_TYPE = 'campaignLock';
export const CAMPAIGN_LOCK_KIND = 'campaign-lock';
const ID_PREFIX = 'campaign-lock/';
export const campaignLockWorkflowId = (campaignId: string) => `${ID_PREFIX}${campaignId}`;
export const isCampaignLockWorkflowId = (workflowId: string) => workflowId.startsWith(ID_PREFIX);

/** Failure types of a process that could not take, or lost, the lock. */
export const CAMPAIGN_LOCK_FAILURES = {
  /** Refused: started with `wait: false` while another process held or awaited the lock. */
  locked: 'CampaignLocked',
  /** The process's work found the lock not held by it (freed as stale); nothing was changed. */
  lost: 'CampaignLockLost',
} as const;

/** A process asking for the lock; `runId` is its workflow id. */
export interface LockRequest { runId: string; type: LockType; actingUser?: string | null; wait: boolean }
export interface LockRefusal { heldBy: string | null; reason: string }
export interface CampaignLockState { holder: LockRequest | null; queue: LockRequest[] }
export interface CampaignLockInput {
  campaignId: string;
  checkEverySeconds: number;
  state?: CampaignLockState;
  /** Continue as new once the history has this many events (default: when Temporal suggests it). */
  maxHistoryEvents?: number;
}

/** The grant activity's answer to the lock workflow ('yield': `heldBy` goes first; `type`: the holder's). */
export interface LockGrant {
  status: 'granted' | 'held' | 'yield' | 'requester-closed' | 'campaign-missing';
  heldBy?: string;
  type?: LockType;
}

// Names are part of histories in flight: never rename them.
export const acquireLockSignal = defineSignal<[LockRequest]>('acquireCampaignLock');
export const releaseLockSignal = defineSignal<[{ runId: string }]>('releaseCampaignLock');
export const lockGrantedSignal = defineSignal('campaignLockGranted');
export const lockRefusedSignal = defineSignal<[LockRefusal]>('campaignLockRefused');
export const lockStateQuery = defineQuery<CampaignLockState>('campaignLockState');
