// How the API and the worker reach Temporal: a self-hosted server in plaintext (the default), one with TLS
// or mTLS, or Temporal Cloud with mTLS or an API key. The variables carry the names Temporal's own tools use
// (the CLI, @temporalio/envconfig), so an operator's settings for those work here unchanged. lib/config.ts
// validates them with the rest of the environment.
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';

export const temporalConnectionShape = {
  // Temporal Cloud API key (sent as a bearer token; turns TLS on unless TEMPORAL_TLS=false).
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  // TLS without client certificates, e.g. a server with a certificate the system trusts (unset: on when any TLS file or the API key is set).
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  // mTLS: both or neither.
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
};

export type TemporalConnectionSettings = { [K in keyof typeof temporalConnectionShape]?: string | undefined };

const FILES = ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'] as const;

/** What is wrong with the settings, in one sentence per problem (empty when they are usable). */
export function temporalConnectionProblems(s: TemporalConnectionSettings): string[] {
  const problems: string[] = [];
  if (!!s.TEMPORAL_TLS_CLIENT_CERT_PATH !== !!s.TEMPORAL_TLS_CLIENT_KEY_PATH) {
    problems.push('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together (mTLS needs the certificate and its key); set both or neither.');
  }
  for (const name of FILES) {
    const file = s[name];
    if (!file) continue;
    try { readFileSync(file); } catch (err) {
      problems.push(`${name}=${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); point it at a PEM file this user can read.`);
    }
  }
  if (s.TEMPORAL_TLS === 'false' && (FILES.some((name) => s[name]) || s.TEMPORAL_TLS_SERVER_NAME)) {
    problems.push('TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* files or server name that are set; remove one or the other.');
  }
  return problems;
}

/** The SDK's own connection options (for Connection.connect and NativeConnection.connect). */
export function temporalConnectionOptions(s: TemporalConnectionSettings): { tls?: TLSConfig | boolean; apiKey?: string } {
  const read = (name: (typeof FILES)[number]) => (s[name] ? readFileSync(s[name]!) : undefined);
  const tlsWanted = s.TEMPORAL_TLS === 'true' || (s.TEMPORAL_TLS !== 'false' && (!!s.TEMPORAL_API_KEY || !!s.TEMPORAL_TLS_SERVER_NAME || FILES.some((name) => s[name])));
  const options: { tls?: TLSConfig | boolean; apiKey?: string } = {};
  if (s.TEMPORAL_API_KEY) options.apiKey = s.TEMPORAL_API_KEY;
  if (!tlsWanted) return options;
  const ca = read('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  const crt = read('TEMPORAL_TLS_CLIENT_CERT_PATH');
  const key = read('TEMPORAL_TLS_CLIENT_KEY_PATH');
  options.tls = {
    ...(s.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: s.TEMPORAL_TLS_SERVER_NAME } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
  };
  return options;
}
