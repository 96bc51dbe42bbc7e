// Runs ftp-srv in its own process (started by ./ftp.ts) so a test's FTP traffic never competes with the test's
// own event loop. Configuration arrives as JSON in argv[2]; "ready" on stdout means it is listening.
import { FtpSrv } from 'ftp-srv';

interface FtpProcessConfig {
  port: number;
  username: string;
  password: string;
  rootDir: string;
  passiveMin: number;
  passiveMax: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as FtpProcessConfig;

const server = new FtpSrv({
  url: `ftp://127.0.0.1:${config.port}`,
  pasv_url: '127.0.0.1',
  pasv_min: config.passiveMin,
  pasv_max: config.passiveMax,
  anonymous: false,
  greeting: 'cc-jobs test FTP server',
  log: quietLogger(),
});

server.on('login', ({ username, password }, resolve, reject) => {
  if (username === config.username && password === config.password) resolve({ root: config.rootDir });
  else reject(new Error('invalid username or password'));
});

// ftp-srv logs through bunyan; tests only want errors, on stderr.
function quietLogger() {
  const logger = {
    child: () => logger,
    trace: () => {}, debug: () => {}, info: () => {}, warn: () => {},
    error: (...args: unknown[]) => console.error('[ftp-srv]', ...args),
    fatal: (...args: unknown[]) => console.error('[ftp-srv]', ...args),
  };
  return logger as never;
}

await server.listen();
process.stdout.write('ready\n');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close().finally(() => process.exit(0));
  });
}

// Started detached; if the test process dies without calling stop(), do not linger as an orphan.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) server.close().finally(() => process.exit(0));
}, 2000).unref();
