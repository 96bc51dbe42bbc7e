// Temporal's remote codec protocol, so Temporal UI (and `temporal` CLI) can show decrypted payloads:
// POST <endpoint>/decode and /encode with Payloads in protobuf JSON form (metadata values and data in
// base64). Set the UI's codec endpoint to http://<api>/codec. Browsers call it cross-origin from the UI,
// hence CORS for the UI's origin; without a key only this machine is served, and only requests that name
// this machine in Host and come from no web page but Temporal UI's (api/auth.ts keylessCallerGuard).
import type { RequestHandler } from 'express';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { createPayloadCodec } from '../../lib/crypto/payload-codec.js';
import type { AppDeps } from '../app.js';
import { temporalUiOrigins } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest } from '../problem.js';

// Temporal's protocol, not ours: a field a newer Temporal UI adds to a payload passes (the registry's strict
// bodies would refuse it, and the UI would show nothing decoded).
const jsonPayload = z.looseObject({
  metadata: z.record(z.string(), z.string().describe('base64')).nullable().optional(),
  data: z.string().describe('base64').nullable().optional(),
});
const payloads = z.object({ payloads: z.array(jsonPayload) });

const fromJson = (p: z.output<typeof jsonPayload>): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): z.input<typeof jsonPayload> => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

function codecCors(origins: Set<string>): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin');
    res.vary('Origin');
    if (origin && origins.has(origin)) {
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization',
        'Access-Control-Max-Age': '600',
      });
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
}

export function register(r: RouteRegistry, deps: AppDeps) {
  const codec = createPayloadCodec(deps.keyring);
  r.router.use('/codec', codecCors(temporalUiOrigins(deps.config)));

  for (const direction of ['decode', 'encode'] as const) {
    defineRoute(r, {
      method: 'post', path: `/codec/${direction}`, role: 'viewer', loopbackWithoutKey: true, jsonLimit: '16mb',
      body: payloads, response: payloads,
      summary: `Remote codec for Temporal UI: ${direction} payloads (loopback callers need no key)`,
      example: direction === 'decode'
        ? { body: { payloads: [{ metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==' }, data: '…' }] }, response: { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'eyJkZWZpbml0aW9uSWQiOiI0In0=' }] } }
        : { body: { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'eyJkZWZpbml0aW9uSWQiOiI0In0=' }] }, response: { payloads: [{ metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==' }, data: '…' }] } },
    }, async ({ body }) => {
      try {
        const result = await codec[direction](body.payloads.map(fromJson));
        return { payloads: result.map(toJson) };
      } catch (err) {
        throw badRequest(`Could not ${direction} the payloads: ${(err as Error).message}`);
      }
    });
  }
}
