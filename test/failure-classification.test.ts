// The one transient/permanent rule (lib/failures.ts), table-tested with the errors the client libraries really
// throw: each row's error is captured from a real server (OpenSSH, ftp-srv, moto, an SMTP server, PostgreSQL)
// or a real socket in the state named, then classified. A clean-clone CI run failed an export because ssh2's
// "Connection lost before handshake" (a server dropping the connection before its banner) was called
// permanent; it is a row here, and checked end to end through the sftp transfer.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client as FtpClient } from 'basic-ftp';
import nodemailer from 'nodemailer';
import postgres from 'postgres';
import { SMTPServer } from 'smtp-server';
import SftpClient from 'ssh2-sftp-client';
import { classifyFailure, isPermanentFailure, type FailureSource, type FailureVerdict } from '../lib/failures.js';
import { openTransfer, TransferError } from '../lib/transfer/index.js';
import { createTestDatabase, type TestDatabase } from './harness/db.js';
import { freePort, startFtp, startS3, startSshd, type FtpServer, type S3Server, type SshdServer } from './harness/servers/index.js';

const BUCKET = `classify-${process.pid}`;

/** The error `work` rejects with (it must reject). */
async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/** A TCP server that accepts and at once closes every connection: an SSH server over MaxStartups, or restarting. */
async function droppingServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An SMTP server that answers each recipient as told (450 mailbox busy, 550 no such mailbox) and wants a login. */
async function smtpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    secure: false, disabledCommands: ['STARTTLS'], allowInsecureAuth: true, logger: false,
    onAuth(auth, _session, callback) {
      if (auth.password === 'right') callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      const [, code] = /^(\d{3})@/.exec(address.address) ?? [];
      if (!code) { callback(); return; }
      callback(Object.assign(new Error(`mailbox ${address.address} refused`), { responseCode: Number(code) }));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface Row { what: string; source: FailureSource; expected: FailureVerdict; capture(): Promise<unknown> }

let sshd: SshdServer;
let ftp: FtpServer;
let s3: S3Server;
let db: TestDatabase;
let dropping: Awaited<ReturnType<typeof droppingServer>>;
let smtp: Awaited<ReturnType<typeof smtpServer>>;
let closedPort: number;

const sftpConnect = (options: Record<string, unknown>) => caught(async () => {
  const client = new SftpClient();
  try {
    await client.connect({ host: '127.0.0.1', readyTimeout: 5_000, ...options });
  } finally {
    await client.end().catch(() => {});
  }
});

const ftpAccess = (options: Record<string, unknown>, then?: (client: FtpClient) => Promise<unknown>) => caught(async () => {
  const client = new FtpClient(5_000);
  try {
    await client.access({ host: ftp.host, port: ftp.port, user: ftp.username, password: ftp.password, ...options });
    await then?.(client);
  } finally {
    client.close();
  }
});

const s3Send = (command: ListObjectsV2Command | GetObjectCommand, credentials?: { secretAccessKey: string }, endpoint?: string) => caught(async () => {
  const client = new S3Client({
    region: s3.region, endpoint: endpoint ?? s3.endpoint, forcePathStyle: true, maxAttempts: 1,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: credentials?.secretAccessKey ?? s3.secretAccessKey },
  });
  try {
    await client.send(command as GetObjectCommand);
  } finally {
    client.destroy();
  }
});

const mail = (url: string, to = 'someone@example.com') => caught(async () => {
  const transport = nodemailer.createTransport(url);
  try {
    await transport.sendMail({ from: 'cc@example.com', to, subject: 's', text: 't' });
  } finally {
    transport.close();
  }
});

const withUrl = (change: (url: URL) => void) => { const url = new URL(db.url); change(url); return url.toString(); };
const query = (url: string, run: (sql: postgres.Sql) => Promise<unknown>) => caught(async () => {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await run(sql);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
});

const rows: Row[] = [
  // SFTP (OpenSSH)
  { what: 'sftp: the server drops the connection before its banner (Connection lost before handshake)', source: 'sftp', expected: 'transient',
    capture: () => sftpConnect({ port: dropping.port, username: 'x', password: 'x' }) },
  { what: 'sftp: connection refused', source: 'sftp', expected: 'transient', capture: () => sftpConnect({ port: closedPort, username: 'x', password: 'x' }) },
  { what: 'sftp: a key the server does not know', source: 'sftp', expected: 'permanent',
    capture: () => sftpConnect({ port: sshd.port, username: sshd.username, privateKey: sshd.unauthorizedPrivateKey }) },
  { what: 'sftp: a user that does not exist', source: 'sftp', expected: 'permanent',
    capture: () => sftpConnect({ port: sshd.port, username: 'nobody-here', privateKey: sshd.privateKey }) },
  { what: 'sftp: a missing folder', source: 'sftp', expected: 'permanent', capture: () => caught(async () => {
    const client = new SftpClient();
    await client.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey });
    try { await client.list(`${sshd.rootDir}/no-such-folder`); } finally { await client.end(); }
  }) },
  // FTP (ftp-srv)
  { what: 'ftp: connection refused', source: 'ftp', expected: 'transient', capture: () => ftpAccess({ port: closedPort }) },
  { what: 'ftp: the server drops the connection before its greeting', source: 'ftp', expected: 'transient', capture: () => ftpAccess({ port: dropping.port }) },
  { what: 'ftp: wrong password (530)', source: 'ftp', expected: 'permanent', capture: () => ftpAccess({ password: 'wrong' }) },
  { what: 'ftp: a missing file (550)', source: 'ftp', expected: 'permanent', capture: () => ftpAccess({}, (client) => client.size('no-such-file.csv')) },
  // S3 (moto)
  { what: 's3: connection refused', source: 's3', expected: 'transient',
    capture: () => s3Send(new ListObjectsV2Command({ Bucket: BUCKET }), undefined, `http://127.0.0.1:${closedPort}`) },
  { what: 's3: wrong secret (SignatureDoesNotMatch)', source: 's3', expected: 'permanent',
    capture: () => s3Send(new ListObjectsV2Command({ Bucket: BUCKET }), { secretAccessKey: 'wrong-secret' }) },
  { what: 's3: a missing bucket (NoSuchBucket)', source: 's3', expected: 'permanent', capture: () => s3Send(new ListObjectsV2Command({ Bucket: `${BUCKET}-gone` })) },
  { what: 's3: a missing object (NoSuchKey)', source: 's3', expected: 'permanent', capture: () => s3Send(new GetObjectCommand({ Bucket: BUCKET, Key: 'no/such.csv' })) },
  // SMTP (smtp-server)
  { what: 'smtp: connection refused', source: 'smtp', expected: 'transient', capture: () => mail(`smtp://127.0.0.1:${closedPort}`) },
  { what: 'smtp: the server drops the connection before its greeting', source: 'smtp', expected: 'transient', capture: () => mail(`smtp://127.0.0.1:${dropping.port}`) },
  { what: 'smtp: wrong password (535, EAUTH)', source: 'smtp', expected: 'permanent', capture: () => mail(`smtp://cc:wrong@127.0.0.1:${smtp.port}`) },
  { what: 'smtp: recipient refused for good (550)', source: 'smtp', expected: 'permanent', capture: () => mail(`smtp://cc:right@127.0.0.1:${smtp.port}`, '550@example.com') },
  { what: 'smtp: recipient refused for now (450)', source: 'smtp', expected: 'transient', capture: () => mail(`smtp://cc:right@127.0.0.1:${smtp.port}`, '450@example.com') },
  // PostgreSQL
  { what: 'postgres: connection refused', source: 'postgres', expected: 'transient',
    capture: () => query(withUrl((u) => { u.port = String(closedPort); }), (sql) => sql`select 1`) },
  { what: 'postgres: the session terminated by the server (57P01)', source: 'postgres', expected: 'transient',
    capture: () => query(db.url, (sql) => sql`select pg_terminate_backend(pg_backend_pid())`) },
  { what: 'postgres: a missing database (3D000)', source: 'postgres', expected: 'permanent',
    capture: () => query(withUrl((u) => { u.pathname = '/no_such_database'; }), (sql) => sql`select 1`) },
  { what: 'postgres: a duplicate key (23505)', source: 'postgres', expected: 'permanent',
    capture: () => query(db.url, async (sql) => { await sql`create temp table t (id int primary key)`; await sql`insert into t values (1), (1)`; }) },
  { what: 'postgres: a statement cancelled by lock_timeout (55P03)', source: 'postgres', expected: 'transient', capture: async () => {
    const holder = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await holder`create table if not exists classify_lock (id int)`;
      return await holder.begin(async (tx) => {
        await tx`lock table classify_lock in access exclusive mode`;
        return query(db.url, (sql) => sql.begin(async (t) => { await t`set local lock_timeout = '50ms'`; await t`select * from classify_lock`; }));
      });
    } finally {
      await holder.end();
    }
  } },
  // Local folders
  { what: 'file: permission denied (EACCES)', source: 'file', expected: 'permanent', capture: async () => Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' }) },
  { what: 'file: disk full (ENOSPC) may clear', source: 'file', expected: 'transient', capture: async () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) },
];

const captured = new Map<string, unknown>();

before(async () => {
  closedPort = await freePort();
  [sshd, ftp, s3, db, dropping, smtp] = await Promise.all([startSshd(), startFtp(), startS3(), createTestDatabase(), droppingServer(), smtpServer()]);
  await s3.createBucket(BUCKET);
  for (const row of rows) captured.set(row.what, await row.capture());
});

after(async () => {
  await Promise.all([sshd?.stop(), ftp?.stop(), s3?.stop(), db?.drop(), dropping?.close(), smtp?.close()]);
});

describe('transient or permanent, per protocol, for errors captured from real servers', () => {
  for (const row of rows) {
    it(`${row.what} → ${row.expected}`, () => {
      const err = captured.get(row.what);
      assert.equal(classifyFailure(row.source, err), row.expected, `${(err as Error)?.name}: ${(err as Error)?.message} (code ${String((err as { code?: unknown })?.code)})`);
    });
  }
});

describe('the transfers carry the verdict', () => {
  it('an sftp server dropping connections before the handshake fails at connect, retryable (the CI flake)', async () => {
    const transfer = openTransfer({ protocol: 'sftp', host: '127.0.0.1', port: dropping.port, username: 'cc' }, { password: 'x' });
    try {
      await assert.rejects(transfer.list(''), (err: unknown) => {
        assert.ok(err instanceof TransferError, String(err));
        assert.equal(err.stage, 'connect');
        assert.equal(err.permanent, false, err.message);
        assert.equal(isPermanentFailure(err), false);
        return true;
      });
    } finally {
      await transfer.close();
    }
  });

  it('an ftp server dropping connections before its greeting fails at connect, retryable', async () => {
    const transfer = openTransfer({ protocol: 'ftp', host: '127.0.0.1', port: dropping.port, username: 'cc' }, { password: 'x' });
    try {
      await assert.rejects(transfer.list(''), (err: unknown) => err instanceof TransferError && err.stage === 'connect' && !err.permanent);
    } finally {
      await transfer.close();
    }
  });
});
