// Uploaded files (calling lists for imports): streamed into the content store, referenced by uploadId.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { callerOf } from '../auth.js';
import type { AppDeps } from '../app.js';
import { defineRoute, rawBody, type RouteRegistry } from '../openapi.js';

const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;

export function register(r: RouteRegistry, { sql, store }: AppDeps) {
  defineRoute(r, {
    method: 'post', path: '/uploads', role: 'operator', status: 201,
    body: rawBody({ maxBytes: MAX_UPLOAD_BYTES, description: 'The file (e.g. a calling list), any media type.' }),
    response: z.object({ uploadId: z.string(), sizeBytes: z.number().int(), sha256: z.string() }), errors: [413],
    summary: 'Upload a file for a later job (e.g. POST /campaigns/{id}/imports with { source: { uploadId } })',
    example: { response: { uploadId: 'upl_2f1c…', sizeBytes: 10240, sha256: '…' } },
  }, async ({ body, req }) => {
    const object = await store.put(body, { prefix: 'uploads' });
    const uploadId = `upl_${randomUUID()}`;
    try {
      await sql`
        insert into uploads (id, store_key, size_bytes, sha256, uploaded_by)
        values (${uploadId}, ${object.key}, ${object.sizeBytes}, ${object.sha256}, ${callerOf(req).actor})`;
    } catch (err) {
      await store.remove(object.key).catch(() => {});
      throw err;
    }
    return { uploadId, sizeBytes: object.sizeBytes, sha256: object.sha256 };
  });
}
