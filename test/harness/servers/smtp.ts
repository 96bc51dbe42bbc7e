// A loopback SMTP sink (smtp-server, in-process) that keeps every message it receives for assertions.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The message as sent (headers and body, MIME-encoded). */
  raw: Buffer;
}

export interface SmtpSink {
  host: string;
  port: number;
  /** Set when the sink was started with credentials; clients must then log in. */
  username?: string;
  password?: string;
  messages: ReceivedMail[];
  /** Resolves with the messages once at least `count` have arrived. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

export async function startSmtp({ username, password }: { username?: string; password?: string } = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const requireAuth = username !== undefined;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: requireAuth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !requireAuth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === username && auth.password === password) callback(null, { user: auth.username });
      else callback(new Error('invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        messages.push({ from, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), raw: Buffer.concat(chunks) });
        for (const wake of waiters) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  function waitForMessages(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (messages.length < count) return;
        cleanup();
        resolve(messages.slice());
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`expected ${count} e-mail message(s) within ${timeoutMs} ms, received ${messages.length}`));
      }, timeoutMs);
      const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
      waiters.add(check);
      check();
    });
  }

  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    messages,
    waitForMessages,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
