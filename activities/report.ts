// Activities of Job 2 (incremental reports): generate the CSV into the saved reports, package it (ZIP,
// PGP), deliver it to destinations and e-mail recipients, and remove saved reports after 30 days.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Readable } from 'node:stream';
import type { Sql } from '../db/sql.js';
import { DestinationNotFoundError, openDestination } from '../lib/destinations.js';
import { errorMessage } from '../shared/error-message.js';
import { classifyFailure, isPermanentFailure } from '../lib/failures.js';
import { heartbeating } from '../lib/heartbeat.js';
import { REPORT_TITLES, SAVED_REPORT_DAYS, type ReportDefinition } from '../lib/reports/definition.js';
import {
  getSavedReport, insertSavedReport, loadPgpKey, loadReportDefinition, removeExpiredSavedReports, savedReportOfRun, type SavedReport,
} from '../lib/reports/definitions.js';
import { generateReportFile, type GeneratedReport } from '../lib/reports/generate.js';
import { RunClosedError } from '../lib/reports/run-guard.js';
import { lockRunObject, notePendingObject, ownPendingObject, removeAbandonedObjects, reportObjectKey } from '../lib/reports/run-objects.js';
import { TransferError } from '../lib/transfer/index.js';
import { REPORT_FAILURES, type DeliveredFile } from '../contracts/report.js';
import type { ActivityDeps } from './deps.js';

export interface ReportPlan {
  name: string;
  type: string;
  campaignId: string;
  campaignName: string;
  destinationIds: string[];
  emails: string[];
  packaged: boolean;
}

// Packaging (archiver, openpgp) and e-mail (nodemailer) are loaded on first use, not at worker start: a
// worker that never packages or mails a report (every import and export) does not carry them in memory.
const packaging = () => import('../lib/reports/package.js');
const mail = () => import('../lib/reports/email.js');

/** A permanent SMTP failure in words; the server's reply only for a refused login, as other replies may
 *  quote a recipient's address (addresses are never logged). */
function mailRefusal(err: unknown): string {
  const { code, responseCode } = err as { code?: string; responseCode?: number };
  const what = code === 'EAUTH' || code === 'ENOAUTH' ? `the login was refused (${errorMessage(err)}); check the user and password in SMTP_URL`
    : 'a recipient or the message was refused; check the report\'s e-mail addresses';
  return `The mail server refused the report (${[code, responseCode].filter(Boolean).join(' ')}): ${what}`;
}

export function createReportActivities(deps: ActivityDeps) {
  const { sql, store, keyring, config } = deps;

  async function definition(id: string): Promise<ReportDefinition> {
    const def = await loadReportDefinition(sql, id);
    if (!def) {
      throw ApplicationFailure.nonRetryable(`Report definition ${id} does not exist (deleted?); nothing was generated.`, REPORT_FAILURES.definitionNotFound);
    }
    return def;
  }

  async function savedFile(id: string): Promise<SavedReport> {
    const file = await getSavedReport(sql, id);
    if (!file) throw ApplicationFailure.nonRetryable(`Saved report ${id} is gone (expired or deleted); run the report again.`, REPORT_FAILURES.fileMissing);
    return file;
  }

  return {
    async planReportRun({ definitionId }: { definitionId: string }): Promise<ReportPlan> {
      const def = await definition(definitionId);
      const out = def.config.output;
      return {
        name: def.name, type: def.config.type, campaignId: def.campaignId, campaignName: def.campaignName,
        destinationIds: out.destinationIds, emails: out.emails, packaged: out.zip || !!out.pgpKeyId,
      };
    },

    async generateReport(input: { runId: string; definitionId: string; runTime: string }): Promise<GeneratedReport> {
      const def = await definition(input.definitionId);
      try {
        return await heartbeating((progress) => generateReportFile({ sql, store, databaseUrl: deps.databaseUrl }, {
          runId: input.runId, definition: def, runTime: new Date(input.runTime), now: deps.clock(),
          accountName: config.ACCOUNT_NAME, reportTimezone: config.REPORT_TIMEZONE, kilobytesPerSecond: config.REPORT_GENERATE_KBPS,
          signal: Context.current().cancellationSignal,
        }, (bytes) => progress({ bytes })));
      } catch (err) {
        if (err instanceof RunClosedError) throw ApplicationFailure.nonRetryable(err.message, REPORT_FAILURES.runClosed);
        throw err;
      }
    },

    /**
     * ZIP and/or PGP-encrypt the saved CSV into a second saved file (kind 'delivery'); once per run: under
     * the run's lock, a retry returns the committed file, or overwrites the object a dead attempt left.
     */
    async packageReport(input: { runId: string; definitionId: string; fileId: string }): Promise<{ fileId: string; fileName: string; sizeBytes: number }> {
      const existing = await savedReportOfRun(sql, input.runId, 'delivery');
      if (existing) return { fileId: existing.id, fileName: existing.fileName, sizeBytes: existing.sizeBytes };
      const def = await definition(input.definitionId);
      const csv = await savedFile(input.fileId);
      let pgpPublicKey: string | undefined;
      if (def.config.output.pgpKeyId) {
        pgpPublicKey = await loadPgpKey(sql, def.config.output.pgpKeyId);
        if (!pgpPublicKey) throw ApplicationFailure.nonRetryable(`The PGP public key ${def.config.output.pgpKeyId} of report ${def.id} is gone; upload it again with the report.`, REPORT_FAILURES.pgpKeyMissing);
      }
      const options = { zip: def.config.output.zip, pgpPublicKey };
      const { packageReport, packagedName } = await packaging();
      const fileName = packagedName(csv.fileName, options);
      return sql.begin(async (tx) => {
        await lockRunObject(tx, input.runId, 'delivery');
        const committed = await savedReportOfRun(tx as unknown as Sql, input.runId, 'delivery');
        if (committed) return { fileId: committed.id, fileName: committed.fileName, sizeBytes: committed.sizeBytes };
        const key = reportObjectKey(input.runId, 'delivery');
        await notePendingObject(sql, input.runId, key);
        const stored = await heartbeating(async () => store.put(await packageReport(await store.get(csv.storeKey), csv.fileName, options), { key }));
        const now = deps.clock();
        const fileId = await insertSavedReport(tx as unknown as Sql, {
          definitionId: def.id, runId: input.runId, kind: 'delivery', fileName, storeKey: stored.key, sizeBytes: stored.sizeBytes,
          sha256: stored.sha256, rows: csv.rows, attempts: csv.attempts, contacts: csv.contacts, rangeStart: csv.rangeStart, rangeEnd: csv.rangeEnd,
          createdAt: now, expiresAt: new Date(now.getTime() + SAVED_REPORT_DAYS * 86_400_000),
        });
        await ownPendingObject(tx, key);
        return { fileId, fileName, sizeBytes: stored.sizeBytes };
      });
    },

    async deliverReportToDestination(input: { fileId: string; destinationId: string }): Promise<DeliveredFile> {
      const file = await savedFile(input.fileId);
      let transfer;
      try {
        transfer = await openDestination(sql, keyring, input.destinationId);
      } catch (err) {
        if (err instanceof DestinationNotFoundError) throw ApplicationFailure.nonRetryable(err.message, REPORT_FAILURES.destinationNotFound);
        throw err;
      }
      try {
        const put = await heartbeating(async () => transfer.put(file.fileName, await store.get(file.storeKey), { sizeBytes: file.sizeBytes }));
        return { target: `destination:${input.destinationId}`, fileName: put.path, location: put.location };
      } catch (err) {
        if (err instanceof TransferError && isPermanentFailure(err)) {
          throw ApplicationFailure.nonRetryable(`Destination ${input.destinationId} refused the report (${err.stage}): ${err.message}`, REPORT_FAILURES.deliveryRefused);
        }
        throw err;
      } finally {
        await transfer.close().catch(() => {});
      }
    },

    async emailReport(input: { fileId: string; definitionId: string }): Promise<DeliveredFile> {
      const def = await definition(input.definitionId);
      const file = await savedFile(input.fileId);
      const title = REPORT_TITLES[def.config.type];
      const { EmailConfigError, sendReportMail } = await mail();
      const content: Readable = await store.get(file.storeKey);
      try {
        await sendReportMail({
          smtpUrl: config.SMTP_URL, from: config.SMTP_FROM, to: def.config.output.emails,
          subject: `${title} report "${def.name}" for ${def.campaignName}`,
          text: `The ${title} report "${def.name}" for campaign ${def.campaignName} (${config.ACCOUNT_NAME}) is attached: `
            + `${file.rows} row(s), ${file.rangeStart?.toISOString()} to ${file.rangeEnd?.toISOString()}.\n`,
          attachment: { fileName: file.fileName, content },
        });
      } catch (err) {
        content.destroy();
        if (err instanceof EmailConfigError) throw ApplicationFailure.nonRetryable(err.message, REPORT_FAILURES.emailNotConfigured);
        if (classifyFailure('smtp', err) === 'permanent') throw ApplicationFailure.nonRetryable(mailRefusal(err), REPORT_FAILURES.deliveryRefused);
        throw err;
      }
      return { target: `email:${def.config.output.emails.length} recipient(s)`, fileName: file.fileName };
    },

    async removeExpiredReports(): Promise<{ removed: number }> {
      const now = deps.clock();
      const saved = await removeExpiredSavedReports(sql, store, now);
      // Files whose saved report never committed go when such a report would have expired.
      const abandoned = await removeAbandonedObjects(sql, store, new Date(now.getTime() - SAVED_REPORT_DAYS * 86_400_000));
      return { removed: saved + abandoned };
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
