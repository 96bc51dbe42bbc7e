// What the exclusions-import workflow (seed 000 task type "Import exclusions by account"), its activities and
// the API share. No I/O here (workflow code imports it).
import type { ImportSource } from './list-import.js';

export const EXCLUSIONS_IMPORT_WORKFLOW = 'exclusionsImport';

export interface ExclusionsImportInput {
  source: ImportSource;
  actingUser?: string | null;
}

export interface ExclusionsImportCounts {
  /** Physical lines of the file, the header and empty lines included. */
  linesRead: number;
  /** Entries this run added to the blacklist. */
  added: number;
  /** Valid entries already on the blacklist (added before, or earlier in the same file). */
  duplicates: number;
  /** Lines that are neither a phone number nor an e-mail address. */
  rejected: number;
  /** Contact phones Excluded because of the entries this run added. */
  phonesExcluded: number;
}

export interface ExclusionsImportResult extends ExclusionsImportCounts {
  file: string;
  /** The first 50 rejected lines. */
  rejectedLines: { line: number; reason: string }[];
}

/** `exclusions-import/<ISO time>`: readable, unique per start. */
export function exclusionsImportWorkflowId(at: Date): string {
  return `exclusions-import/${at.toISOString()}`;
}
