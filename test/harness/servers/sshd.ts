// A real OpenSSH server on a loopback port, with its own host key, config and an authorized client key.
// Authentication is by key only (the login user is whoever runs the tests; we have no password for it).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { which } from '../../../lib/tools.js';
import { freePort, waitForPort } from './ports.js';
import { spawnServer } from './process.js';

const run = promisify(execFile);

export interface SshdServer {
  host: string;
  port: number;
  username: string;
  /** OpenSSH-format private key accepted for `username`. */
  privateKey: string;
  /** A second, valid key that the server does not accept (for wrong-key tests). */
  unauthorizedPrivateKey: string;
  /** A temp folder for tests to use as the destination base path (absolute). */
  rootDir: string;
  stop(): Promise<void>;
}

async function findSshd(): Promise<string> {
  const found = (await which('sshd')) ?? ['/usr/sbin/sshd', '/usr/bin/sshd'].find((candidate) => existsSync(candidate));
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('sshd is not installed: install the openssh-server package (e.g. apt-get install openssh-server)');
  }
  const install = () => run('apt-get', ['install', '-y', '-q', 'openssh-server'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    await install();
  } catch {
    await run('apt-get', ['update', '-q']);
    await install();
  }
  if (existsSync('/usr/sbin/sshd')) return '/usr/sbin/sshd';
  throw new Error('installed openssh-server but /usr/sbin/sshd is still missing');
}

async function generateKey(file: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cc-jobs-test', '-f', file]);
}

function sshdConfig(dir: string, port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(dir, 'host_key')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PermitRootLogin yes',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The temp dir lives under world-writable /tmp, which StrictModes would refuse for authorized_keys.
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    'MaxStartups 100',
    'MaxSessions 50',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

export async function startSshd(): Promise<SshdServer> {
  const sshd = await findSshd();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-jobs-sshd-'));
  try {
    const rootDir = path.join(dir, 'root');
    await mkdir(rootDir);
    // Privilege separation needs this folder; a fresh container does not have it.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => {});
    await Promise.all([generateKey(path.join(dir, 'host_key')), generateKey(path.join(dir, 'client_key')), generateKey(path.join(dir, 'other_key'))]);
    await writeFile(path.join(dir, 'authorized_keys'), await readFile(path.join(dir, 'client_key.pub')));
    await chmod(path.join(dir, 'authorized_keys'), 0o600);
    const port = await freePort();
    const configFile = path.join(dir, 'sshd_config');
    await writeFile(configFile, sshdConfig(dir, port));

    // sshd re-executes itself, so it must be started by absolute path.
    const server = spawnServer('sshd', sshd, ['-D', '-e', '-f', configFile]);
    try {
      await waitForPort(port, { timeoutMs: 20_000, failed: server.exitError });
    } catch (err) {
      await server.stop();
      throw err;
    }
    return {
      host: '127.0.0.1',
      port,
      username: os.userInfo().username,
      privateKey: await readFile(path.join(dir, 'client_key'), 'utf8'),
      unauthorizedPrivateKey: await readFile(path.join(dir, 'other_key'), 'utf8'),
      rootDir,
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
