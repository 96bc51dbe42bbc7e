// A real FTP server (ftp-srv) in a child process, on a loopback port with its own passive port range.
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './ports.js';
import { spawnServer } from './process.js';

export interface FtpServer {
  host: string;
  port: number;
  username: string;
  password: string;
  /** The folder the FTP user sees as '/'. */
  rootDir: string;
  stop(): Promise<void>;
}

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ftp-server-process.ts');
const PASSIVE_PORT_COUNT = 40;

/** A passive range is picked at random; ftp-srv itself skips any port in it that turns out to be taken. */
function passiveRange(): { passiveMin: number; passiveMax: number } {
  const passiveMin = 40_000 + Math.floor(Math.random() * 20_000);
  return { passiveMin, passiveMax: passiveMin + PASSIVE_PORT_COUNT - 1 };
}

export async function startFtp({ username = 'ftpuser', password = 'ftp-secret' } = {}): Promise<FtpServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-jobs-ftp-'));
  const rootDir = path.join(dir, 'root');
  await mkdir(rootDir);
  const port = await freePort();
  const config = { port, username, password, rootDir, ...passiveRange() };
  const server = spawnServer('ftp-srv', process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(config)], { cwd: path.dirname(SCRIPT) });
  try {
    await Promise.race([
      once(server.child.stdout!, 'data'),
      new Promise((_, reject) => server.child.once('exit', () => reject(server.exitError()))),
    ]);
    await waitForPort(port, { timeoutMs: 20_000, failed: server.exitError });
  } catch (err) {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    rootDir,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
