// Report delivery by e-mail over SMTP (SMTP_URL, e.g. smtp://user:pass@mail.example.com:587), the file
// attached as it was packaged. Recipient addresses are never logged.
import type { Readable } from 'node:stream';
import nodemailer from 'nodemailer';

export class EmailConfigError extends Error {}

export interface ReportMail {
  smtpUrl: string | undefined;
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** Omitted for a message without a file (a job's failure notification, an e-mail step without attach). */
  attachment?: { fileName: string; content: Readable };
}

export async function sendReportMail(mail: ReportMail): Promise<{ messageId: string; accepted: number }> {
  if (!mail.smtpUrl) throw new EmailConfigError('SMTP_URL is not set, so reports cannot be e-mailed; set it (e.g. smtp://mail.example.com:587) or remove the e-mail recipients');
  const transport = nodemailer.createTransport(mail.smtpUrl);
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      attachments: mail.attachment ? [{ filename: mail.attachment.fileName, content: mail.attachment.content }] : [],
    });
    return { messageId: info.messageId, accepted: info.accepted.length };
  } finally {
    transport.close();
  }
}
