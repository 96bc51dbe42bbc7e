// Uploaded files (calling lists for imports): streamed into the content store, referenced by uploadId. They
// count toward UPLOAD_QUOTA_MB (checked from Content-Length before storing, and again, serialized, before the
// upload is recorded) and expire after UPLOAD_RETENTION_DAYS (lib/uploads.ts).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { checkUploadFits, recordUpload, uploadLimits, UploadQuotaExceededError } from '../../lib/uploads.js';
import { callerOf } from '../auth.js';
import type { AppDeps } from '../app.js';
import { defineRoute, rawBody, type RouteRegistry } from '../openapi.js';
import { Problem } from '../problem.js';

const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;

const quotaProblem = (err: UploadQuotaExceededError) => new Problem(413, err.message, { title: 'Upload quota exceeded', type: 'upload-quota-exceeded' });

export function register(r: RouteRegistry, { sql, store, config }: AppDeps) {
  const limits = uploadLimits(config);
  defineRoute(r, {
    method: 'post', path: '/uploads', role: 'operator', status: 201,
    body: rawBody({ maxBytes: MAX_UPLOAD_BYTES, description: 'The file (e.g. a calling list), any media type.' }),
    response: z.object({ uploadId: z.string(), sizeBytes: z.number().int(), sha256: z.string() }), errors: [413],
    summary: 'Upload a file for a later job (e.g. POST /campaigns/{id}/imports with { source: { uploadId } }); ' +
      'uploads expire after UPLOAD_RETENTION_DAYS and together may take at most UPLOAD_QUOTA_MB (413 beyond it)',
    example: { response: { uploadId: 'upl_2f1c…', sizeBytes: 10240, sha256: '…' } },
  }, async ({ body, req }) => {
    const declared = Number(req.get('content-length') ?? NaN);
    try {
      if (Number.isFinite(declared)) await checkUploadFits(sql, limits, declared);
    } catch (err) {
      // Refused before reading the body: the connection cannot carry another request after this answer.
      req.res?.set('Connection', 'close');
      body.destroy();
      throw err instanceof UploadQuotaExceededError ? quotaProblem(err) : err;
    }
    const object = await store.put(body, { prefix: 'uploads' });
    const uploadId = `upl_${randomUUID()}`;
    try {
      await recordUpload(sql, limits, { id: uploadId, object, uploadedBy: callerOf(req).actor });
    } catch (err) {
      await store.remove(object.key).catch(() => {});
      throw err instanceof UploadQuotaExceededError ? quotaProblem(err) : err;
    }
    return { uploadId, sizeBytes: object.sizeBytes, sha256: object.sha256 };
  });
}
