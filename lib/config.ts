// The one place that reads the environment. Parsed once, validated, and a bad value stops the process
// with a message that names the variable, the value found and what is expected. Never log the result whole.
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { parseExportWindow } from './export/window.js';
import { temporalConnectionProblems, temporalConnectionShape } from './temporal/connection-options.js';

const port = (fallback: number) =>
  z.coerce.number().int().min(1).max(65535).default(fallback);

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  DATA_DIR: z.string().min(1).default('./.data'),
  // The only folder `file` destinations may read and write (below it, symlinks followed); unset: $DATA_DIR/exports.
  FILE_DESTINATION_ROOT: z.string().min(1).optional(),
  API_PORT: port(8080),
  API_HOST: z.string().default('127.0.0.1'),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('cc-jobs'),
  TEMPORAL_UI_URL: z.string().url().optional(),
  TEMPORAL_CLI: z.string().optional(),
  DATABASE_URL: z.string().url().optional(),
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  EXPORT_WINDOW: z.string().optional().refine((v) => {
    try { parseExportWindow(v); return true; } catch { return false; }
  }, 'must be "HH:MM-HH:MM Zone", e.g. "23:00-06:00 America/Los_Angeles" (unset = always open)'),
  // Provider-level bandwidth for recording export transfers, per export batch (unset = unlimited).
  EXPORT_BANDWIDTH_KBPS: z.coerce.number().int().min(1).optional(),
  // Provider-level storage time of interaction content, in days (unset = kept forever): older content expires.
  RECORDING_STORAGE_DAYS: z.coerce.number().int().min(1).max(36500).optional(),
  MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
    .optional(),
  MASTER_KEY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional(),
  MASTER_KEY_PREVIOUS: z.string().optional(),
  CONTENT_STORE: z.enum(['local', 's3']).default('local'),
  CONTENT_S3_BUCKET: z.string().optional(),
  CONTENT_S3_ENDPOINT: z.string().url().optional(),
  CONTENT_S3_REGION: z.string().default('us-east-1'),
  CONTENT_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  SMTP_URL: z.string().optional(),
  SMTP_FROM: z.string().default('cc-jobs@localhost'),
  ACCOUNT_NAME: z.string().default('account'),
  REPORT_TIMEZONE: z.string().default('America/New_York'),
  // Caps how fast one report is read from PostgreSQL and stored, in KB/s, to spare the database (unset = unlimited).
  REPORT_GENERATE_KBPS: z.coerce.number().int().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_PORT: port(9464),
  // The worker's /metrics binds here; Prometheus scrapes without credentials, so keep it private (0.0.0.0 in a container).
  METRICS_HOST: z.string().default('127.0.0.1'),
  // How often the worker reconciles runs still recorded as running with Temporal (terminated from the UI, ...).
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).default(20),
  // How often the campaign-lock workflow checks that the holder of a lock is still running (Job 3).
  CAMPAIGN_LOCK_CHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(15),
  // How often the worker deletes campaign locks whose holder run has closed (holder and lock workflow both terminated).
  CAMPAIGN_LOCK_REAP_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  // Job 4: how long an erasure preview may be confirmed, and items per erasure batch unless the request says.
  ERASURE_PREVIEW_TTL_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
  ERASURE_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(1000),
  // Uploads (calling lists): each is removed this many days after it arrived, and together they may take at most
  // UPLOAD_QUOTA_MB (a new upload beyond it is refused with 413).
  UPLOAD_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  UPLOAD_QUOTA_MB: z.coerce.number().int().min(1).default(10240),
  // A prebuilt workflow bundle (tests); unset, the worker bundles workflows/ at start.
  WORKFLOW_BUNDLE: z.string().optional(),
  // Reaching Temporal with TLS, mTLS or an API key (Temporal Cloud): lib/temporal/connection-options.ts.
  ...temporalConnectionShape,
  // Peer addresses whose keyless codec/metrics calls count as this machine's, besides loopback (the Host and
  // Origin checks still apply). In docker-compose.yml: the Docker network's gateway, through which the host's
  // loopback-published API port arrives, so Temporal UI in the engineer's browser can decode.
  KEYLESS_PEER_ADDRESSES: z.string().optional()
    .refine((v) => !v || v.split(',').every((a) => isIP(a.trim()) !== 0), 'must be IP addresses separated by commas, e.g. "172.28.0.1"')
    .transform((v) => (v ? v.split(',').map((a) => a.trim()) : [])),
});

export type Config = z.infer<typeof schema> & { dataDir: string; fileDestinationRoot: string };

export class ConfigError extends Error {}

/** An entry point's last word when it cannot start: a configuration error is printed as its message alone (it
 *  names the variable and what to do; a stack trace would bury it), anything else goes to `logFailure`. */
export function exitOnStartFailure(err: unknown, logFailure: (err: unknown) => void): never {
  if (err instanceof ConfigError) console.error(err.message);
  else logFailure(err);
  process.exit(1);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable is an unset one: compose files and shells pass `X=` for "not given" (`${X:-}`), and
  // `RECORDING_STORAGE_DAYS=` must mean "kept forever", not "0 days".
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const found = env[name];
      const shown = name.includes('KEY') || name.includes('URL') ? '(hidden)' : JSON.stringify(found);
      return `  ${name}=${shown}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid environment; fix these variables and start again:\n${lines.join('\n')}`);
  }
  const cfg = parsed.data;
  if (cfg.CONTENT_STORE === 's3' && !cfg.CONTENT_S3_BUCKET) {
    throw new ConfigError('CONTENT_STORE=s3 needs CONTENT_S3_BUCKET (the bucket that holds interaction content).');
  }
  const temporalProblems = temporalConnectionProblems(cfg);
  if (temporalProblems.length) throw new ConfigError(temporalProblems.join('\n'));
  const dataDir = path.resolve(cfg.DATA_DIR);
  return { ...cfg, dataDir, fileDestinationRoot: path.resolve(cfg.FILE_DESTINATION_ROOT ?? path.join(dataDir, 'exports')) };
}

let cached: Config | undefined;
/** The process-wide configuration, read from the environment on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** The names the config module reads; docker-compose.yml is checked against this list. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);
