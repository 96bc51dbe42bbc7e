// Structured JSON logs (pino). Secrets and personal data are redacted by key wherever they appear.
import { pino, type Logger } from 'pino';

const REDACT = [
  'password', 'privateKey', 'secret', 'secrets', 'key', 'apiKey', 'authorization', 'token',
  'customerPhone', 'customerAddress', 'email', 'phone',
  '*.password', '*.privateKey', '*.secret', '*.secrets', '*.apiKey', '*.authorization', '*.token',
  '*.customerPhone', '*.customerAddress', '*.email', '*.phone',
  'req.headers.authorization',
];

export function createLogger(options: { name: string; level?: string }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: options.name },
  });
}
