// The API in-process for the security tests, called over node:http so a test can send what a browser or
// an attacker would: any Host and Origin header, raw bodies, no key. Keys of every role come ready.
import { randomBytes } from 'node:crypto';
import { request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { bootstrapAdminKey } from '../../api/admin-key.js';
import { createApp } from '../../api/app.js';
import type { TestEnv } from '../harness/env.js';

export interface Reply { status: number; json: any; text: string }
export interface CallOptions { key?: string | null; json?: unknown; raw?: Buffer | string; headers?: Record<string, string> }

/** The callers every endpoint is tried with; `eraseAdmin` is an admin key holding the erase privilege. */
export interface Keys { viewer: string; operator: string; admin: string; eraseAdmin: string; operatorWithErase: string }

/** A request whose body is still being sent: the test decides when the rest arrives. */
export interface OpenUpload { write(chunk: string | Buffer): Promise<void>; finish(last?: string | Buffer): Promise<Reply> }

export interface SecurityApi {
  app: ReturnType<typeof createApp>;
  port: number;
  keys: Keys;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Starts a chunked raw upload and leaves it open. */
  openUpload(method: string, path: string, key: string): OpenUpload;
  close(): Promise<void>;
}

export async function startSecurityApi(env: TestEnv): Promise<SecurityApi> {
  const app = createApp({ sql: env.sql, client: env.client, keyring: env.deps.keyring, store: env.deps.store, config: env.config, log: pino({ level: 'fatal' }) });
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const port = (server.address() as AddressInfo).port;
  const bootstrap = (await bootstrapAdminKey({ sql: env.sql, config: env.config, print: () => {} }))!;

  const collect = (resolve: (reply: Reply) => void, reject: (err: Error) => void) => (res: IncomingMessage) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const json = /json/.test(res.headers['content-type'] ?? '') && text ? JSON.parse(text) : undefined;
      resolve({ status: res.statusCode!, json, text });
    });
  };

  const call: SecurityApi['call'] = (method, path, options = {}) => new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? bootstrap : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: Buffer | undefined;
    if (options.raw !== undefined) {
      body = Buffer.from(options.raw);
      headers['content-type'] ??= 'application/octet-stream';
    } else if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json));
      headers['content-type'] = 'application/json';
    }
    if (!headers['transfer-encoding']) headers['content-length'] = String(body?.length ?? 0);
    const req = request({ host: '127.0.0.1', port, method, path, headers }, collect(resolve, reject));
    req.on('error', reject);
    req.end(body);
  });

  const openUpload: SecurityApi['openUpload'] = (method, path, key) => {
    let settle!: { resolve: (reply: Reply) => void; reject: (err: Error) => void };
    const reply = new Promise<Reply>((resolve, reject) => { settle = { resolve, reject }; });
    const req = request({
      host: '127.0.0.1', port, method, path,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
    }, collect(settle.resolve, settle.reject));
    req.on('error', settle.reject);
    req.flushHeaders();
    return {
      write: (chunk) => new Promise((resolve, reject) => req.write(chunk, (err) => (err ? reject(err) : resolve()))),
      finish: (last) => { req.end(last); return reply; },
    };
  };

  const newKey = async (role: string, erase: boolean) => {
    const res = await call('POST', '/api-keys', { json: { name: `${role}${erase ? '-erase' : ''}-${randomBytes(3).toString('hex')}`, role, erase } });
    if (res.status !== 201) throw new Error(`could not create a ${role} key: ${res.status} ${res.text}`);
    return res.json.key as string;
  };
  const keys: Keys = {
    viewer: await newKey('viewer', false),
    operator: await newKey('operator', false),
    admin: await newKey('admin', false),
    eraseAdmin: await newKey('admin', true),
    operatorWithErase: await newKey('operator', true),
  };
  return {
    app, port, keys, call, openUpload,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
