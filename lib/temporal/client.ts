// Temporal connections for the API (Client) and the worker (NativeConnection), both with the encrypting
// payload codec so nothing leaves the process in clear.
import { Client, Connection, type ClientInterceptors } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { config } from '../config.js';
import type { Keyring } from '../crypto/keys.js';
import { createDataConverterOptions } from '../crypto/payload-codec.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes.js';
import proto from '@temporalio/proto';
import { temporalConnectionOptions, type TemporalConnectionSettings } from './connection-options.js';

const { temporal } = proto;

/** TLS and API key come from `settings`, by default the environment's (TEMPORAL_TLS_*, TEMPORAL_API_KEY). */
export async function connectClient(options: {
  address: string; namespace: string; keyring: Keyring; interceptors?: ClientInterceptors; settings?: TemporalConnectionSettings;
}): Promise<Client> {
  const connection = await Connection.connect({
    address: options.address, connectTimeout: '10s', ...temporalConnectionOptions(options.settings ?? config()),
  });
  return new Client({
    connection, namespace: options.namespace, dataConverter: createDataConverterOptions(options.keyring),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}), // tracing (lib/tracing.ts), when configured
  });
}

export function connectWorkerConnection(address: string, settings: TemporalConnectionSettings = config()): Promise<NativeConnection> {
  return NativeConnection.connect({ address, ...temporalConnectionOptions(settings) });
}

/** Registers the custom search attributes on a server the platform did not start (TEMPORAL_ADDRESS). */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of ALL_SEARCH_ATTRIBUTES) {
    if (existing.customAttributes?.[key.name] === undefined) {
      missing[key.name] = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    }
  }
  if (Object.keys(missing).length === 0) return;
  await client.connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
}
