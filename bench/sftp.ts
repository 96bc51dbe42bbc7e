// The OpenSSH `sftp -b` baseline: one connection running a batch of commands, key auth with the harness key.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SshdServer } from '../test/harness/servers/index.js';
import { sh } from './lib.js';

/** Runs the commands over one OpenSSH sftp session; `dir` is a private scratch folder for the key and batch. */
export async function sftpBatch(sshd: SshdServer, dir: string, commands: string[]): Promise<void> {
  const key = path.join(dir, 'sftp_key');
  const batch = path.join(dir, 'sftp_batch');
  await writeFile(key, sshd.privateKey.endsWith('\n') ? sshd.privateKey : `${sshd.privateKey}\n`);
  await chmod(key, 0o600);
  await writeFile(batch, `${commands.join('\n')}\n`);
  await sh('/usr/bin/sftp', [
    '-q', '-b', batch, '-i', key, '-P', String(sshd.port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR',
    `${sshd.username}@${sshd.host}`,
  ]);
}
