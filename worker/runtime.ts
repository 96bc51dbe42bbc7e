// The worker's Temporal runtime: SDK, workflow and activity logs as pino JSON (every line carries the
// workflowId — the run id of the API — and activity/workflow type; secrets scrubbed by lib/logger.ts), and
// the SDK's Prometheus metrics on a loopback port of their own that the worker's /metrics re-serves.
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { freePort } from '../lib/net.js';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error',
};

/** The SDK's Logger interface on top of pino. */
export function sdkLogger(log: Logger): SdkLogger {
  const write = (level: LogLevel, message: string, meta: LogMetadata = {}) => {
    const { error, ...rest } = meta as Record<string, unknown>;
    log[LEVELS[level]]({ ...rest, ...(error !== undefined ? { err: error } : {}) }, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

/** Installs the runtime once for the process; returns where the SDK's metrics can be read. */
export async function installWorkerRuntime(log: Logger): Promise<{ sdkMetricsUrl: string }> {
  const port = await freePort();
  Runtime.install({
    logger: sdkLogger(log),
    shutdownSignals: [],
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } },
  });
  return { sdkMetricsUrl: `http://127.0.0.1:${port}/metrics` };
}
