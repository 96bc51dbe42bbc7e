// Structured JSON logs (pino). Secrets and personal data are redacted by key at any depth (error objects
// and the Temporal SDK's log metadata nest them deeper than pino's path redaction reaches), and
// credentials inside URLs ("sftp://user:secret@host") are blanked in every string, messages included.
import { pino, type Logger } from 'pino';

const REDACT = [
  'password', 'privateKey', 'secret', 'secrets', 'key', 'apiKey', 'authorization', 'token',
  'customerPhone', 'customerAddress', 'email', 'phone',
  '*.password', '*.privateKey', '*.secret', '*.secrets', '*.apiKey', '*.authorization', '*.token',
  '*.customerPhone', '*.customerAddress', '*.email', '*.phone',
  'req.headers.authorization',
];

const SECRET_KEY = /^(password|passphrase|privateKey|secret|secrets|apiKey|authorization|token|accessToken|secretAccessKey|sessionToken|masterKey|customerPhone|customerAddress|email|phone)$/i;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+):[^\s/@]+@/gi;
const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

export function scrubString(text: string): string {
  return text.replace(URL_CREDENTIALS, `$1:${CENSOR}@`);
}

/** A copy of `value` with secret-named keys censored at any depth and URL credentials blanked. */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) {
    return { type: value.name, message: scrubString(value.message), stack: value.stack && scrubString(value.stack),
      ...(value.cause !== undefined ? { cause: scrubSecrets(value.cause, depth + 1) } : {}) };
  }
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? CENSOR : scrubSecrets(v, depth + 1);
  return out;
}

export function createLogger(options: { name: string; level?: string }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: CENSOR },
    base: { service: options.name },
    formatters: { log: (object) => scrubSecrets(object) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubString(arg) : arg)) as Parameters<typeof method>);
      },
    },
  });
}
