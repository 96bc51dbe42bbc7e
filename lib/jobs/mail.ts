// The mails of jobs, through the reports' SMTP sender (lib/reports/email.ts, SMTP_URL/SMTP_FROM): an e-mail step
// (with the previous step's file attached when asked) and the failure notification. Addresses are never logged.
import type { Config } from '../config.js';
import { sendReportMail } from '../reports/email.js';
import type { OpenedFile } from './files.js';

/** Links to a run: the API's run view and Temporal UI. */
export function runLinks(config: Config, runId: string): { run: string; temporalUi: string } {
  const ui = (config.TEMPORAL_UI_URL ?? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`).replace(/\/+$/, '');
  return {
    run: `/runs/${encodeURIComponent(runId)}`,
    temporalUi: `${ui}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(runId)}`,
  };
}

export async function sendStepMail(config: Config, mail: { to: string[]; subject: string; text: string; file?: { fileName: string; opened: OpenedFile } }) {
  return sendReportMail({
    smtpUrl: config.SMTP_URL, from: config.SMTP_FROM, to: mail.to, subject: mail.subject, text: mail.text,
    attachment: mail.file && { fileName: mail.file.fileName, content: mail.file.opened.content },
  });
}

export interface FailureNotice { to: string[]; jobName: string; definitionId: string; runId: string; step: string | null; error: string }

export async function sendFailureNotice(config: Config, notice: FailureNotice) {
  const links = runLinks(config, notice.runId);
  const where = notice.step ? `step "${notice.step}"` : 'before its first step';
  return sendReportMail({
    smtpUrl: config.SMTP_URL, from: config.SMTP_FROM, to: notice.to,
    subject: `Job "${notice.jobName}" failed at ${where}`,
    text: `The job "${notice.jobName}" (job ${notice.definitionId}, account ${config.ACCOUNT_NAME}) failed at ${where}.\n\n`
      + `Error: ${notice.error}\n\nRun: ${notice.runId}\n  API: GET ${links.run}\n  Temporal UI: ${links.temporalUi}\n`,
  });
}
