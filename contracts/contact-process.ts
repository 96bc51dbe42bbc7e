// What the contact-process workflow (list export, bulk delete, bulk status change), its activities and the API
// share: inputs, results, ids, failure types. No I/O here (workflow code imports it). The campaign lock's
// contract is contracts/campaign-lock.ts; the filter's schema and SQL are lib/contacts/filter.ts.
import type { ContactFilter } from './contact-filter.js';
import type { Separator } from './list-import.js';

/** The three processes, as `GET /processes` types them (also their campaign-lock type). */
export type ContactProcessType = 'export' | 'delete' | 'status-change';

/** The encodings an export writes (seed 001 "FileEncoding": UTF8, UTF16_LE, ANSI). */
export const EXPORT_ENCODINGS = ['utf8', 'utf16le', 'windows-1252'] as const;
export type ExportEncoding = (typeof EXPORT_ENCODINGS)[number];

/** The standard fields of an export, in the seed's order; any other name is a custom field. */
export const STANDARD_EXPORT_FIELDS = ['client_id', 'name', 'phone', 'phone2', 'phone3', 'email', 'status'] as const;

interface Common {
  campaignId: string;
  filter: ContactFilter;
  /** false: fail with CampaignLocked at once when another process holds the campaign. */
  wait: boolean;
  scheduledAt?: string | null;
  comment?: string | null;
  actingUser?: string | null;
}

export interface ExportOptions {
  fields: string[];
  separator: Separator;
  hasHeader: boolean;
  encoding: ExportEncoding;
  destinationId?: string | null;
  folder?: string | null;
}

export type ContactProcessInput =
  | (Common & { type: 'export' } & ExportOptions)
  | (Common & { type: 'delete' })
  | (Common & {
    type: 'status-change';
    set: { status?: 'Remaining' | 'Inactive'; priority?: number };
    clearRetryCount: boolean;
    activatePhones: boolean;
  });

export interface ContactProcessCounts {
  matched: number;
  exported?: number;
  deleted?: number;
  changed?: number;
  phonesChanged?: number;
  /** Bytes of the produced file (export, deleted contacts). */
  sizeBytes?: number;
}

export interface ContactProcessResult extends ContactProcessCounts {
  /** The file in the content store (the export, or the deleted contacts), downloadable from GET /processes/{runId}/file. */
  fileKey: string | null;
  fileName: string | null;
  /** Where an export was sent ("<destination>:<path>"), its log beside it. */
  location: string | null;
}

export const CONTACT_PROCESS_WORKFLOW_TYPE = 'contactProcess';

/** Failure types of a contact process no retry can fix. */
export const CONTACT_PROCESS_FAILURES = {
  campaignMissing: 'CampaignMissing',
  campaignNotRunning: 'CampaignNotRunning',
  destinationMissing: 'DestinationMissing',
} as const;

const ID_PREFIX: Record<ContactProcessType, string> = { export: 'list-export', delete: 'list-delete', 'status-change': 'list-status-change' };

/** `list-export/<campaignId>/<ISO time>` (and list-delete/…, list-status-change/…): readable, unique per start. */
export function contactProcessWorkflowId(type: ContactProcessType, campaignId: string, at: Date): string {
  return `${ID_PREFIX[type]}/${campaignId}/${at.toISOString()}`;
}
