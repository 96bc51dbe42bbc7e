// Playback of call recordings (API.md "Recording lifecycle"): the complete call or one agent segment, as
// audio/wav with single byte ranges (206, 416), from the content store while the recording is kept and, after
// its storage time, streamed through the API from the S3 copy of the last export with useForPlayback
// (lib/lifecycle/playback.ts; docs/recording-lifecycle.md says why streaming and not a presigned redirect).
import type { Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { ContentMissingError } from '../../lib/content-store/types.js';
import { findPlayback, openPlayback, PlaybackGoneError, type PlaybackSource, type PlaybackTarget } from '../../lib/lifecycle/playback.js';
import { parseRange, sliceBytes } from '../../lib/lifecycle/range.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { notFound, Problem } from '../problem.js';
import { id } from '../schemas.js';

const WAV = 'audio/wav';
const DESCRIPTION = 'Send `Range: bytes=<first>-<last>` (one range) for part of it: 206 with `Content-Range`, or 416 when the range '
  + 'lies past the end. From the content store while the recording is kept; after its storage time (RECORDING_STORAGE_DAYS) from the '
  + 'S3 object of the last export with `useForPlayback`, streamed through the API; 410 (problem) when the recording was erased, or '
  + 'expired with no such copy (an FTP/SFTP export is not played back), saying which.';

const gone = (type: string, detail: string) => new Problem(410, detail, { title: 'Gone', type });

export function register(r: RouteRegistry, deps: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/interactions/{id}/recording', role: 'viewer', params: z.object({ id }), errors: [410, 416],
    download: { contentTypes: [WAV], description: 'The recording (WAV); 206 with the requested range' },
    summary: 'Play back the complete call recording (range requests allowed)', description: DESCRIPTION,
  }, async ({ params, req, res }) => {
    const [interaction] = await deps.sql`select 1 from interactions where id = ${params.id}`;
    if (!interaction) throw notFound(`Interaction ${params.id} does not exist.`);
    await play(deps, { interactionId: params.id, segment: null }, req.get('range'), res);
  });

  defineRoute(r, {
    method: 'get', path: '/interactions/{id}/segments/{n}/recording', role: 'viewer', errors: [410, 416],
    params: z.object({ id, n: z.coerce.number().int().min(0).max(99) }),
    download: { contentTypes: [WAV], description: 'The agent segment\'s recording (WAV); 206 with the requested range' },
    summary: 'Play back the recording of agent segment n (0-based; range requests allowed)', description: DESCRIPTION,
  }, async ({ params, req, res }) => {
    const [segment] = await deps.sql`select 1 from interaction_segments where interaction_id = ${params.id} and n = ${params.n}`;
    if (!segment) throw notFound(`Interaction ${params.id} has no segment ${params.n} (or does not exist).`);
    await play(deps, { interactionId: params.id, segment: params.n }, req.get('range'), res);
  });
}

async function play(deps: AppDeps, target: PlaybackTarget, rangeHeader: string | undefined, res: Response): Promise<void> {
  let source = await findPlayback(deps.sql, target);
  let opened;
  for (let attempt = 1; ; attempt++) {
    if (source.from === 'none') throw source.status === 410 ? gone(source.type, source.detail) : notFound(source.detail);
    try {
      opened = await openPlayback(deps, source);
      break;
    } catch (err) {
      if (err instanceof PlaybackGoneError) throw gone(err.type, err.message);
      // The object went between the lookup and the read (the expiry run removes it before clearing the row,
      // or an upload replaced it): asked once more, the row says where the recording is now.
      if (!(err instanceof ContentMissingError) || attempt > 1) {
        if (err instanceof ContentMissingError) throw gone('recording-missing', 'The recording\'s content is missing from the content store.');
        throw err;
      }
      source = await findPlayback(deps.sql, target);
    }
  }
  const { body, close } = opened;
  try {
    await send(source as Exclude<PlaybackSource, { from: 'none' }>, body, rangeHeader, res);
  } finally {
    body.destroy();
    await close().catch(() => undefined);
  }
}

async function send(source: { sizeBytes: number | null }, body: Readable, rangeHeader: string | undefined, res: Response): Promise<void> {
  const size = source.sizeBytes;
  res.setHeader('content-type', WAV);
  res.setHeader('cache-control', 'private, no-store');
  if (size === null) {
    // Size unknown (a copy exported before sizes were recorded): the whole recording, no ranges.
    res.status(200);
    await pipeline(body, res);
    return;
  }
  res.setHeader('accept-ranges', 'bytes');
  const range = parseRange(rangeHeader, size);
  if (range === 'unsatisfiable') {
    res.setHeader('content-range', `bytes */${size}`);
    throw new Problem(416, `The range ${JSON.stringify(rangeHeader)} lies outside the recording's ${size} bytes.`, { title: 'Range not satisfiable' });
  }
  if (range === null) {
    res.status(200);
    res.setHeader('content-length', String(size));
    await pipeline(body, res);
    return;
  }
  res.status(206);
  res.setHeader('content-range', `bytes ${range.start}-${range.end}/${size}`);
  res.setHeader('content-length', String(range.end - range.start + 1));
  await pipeline(Readable.from(sliceBytes(body, range)), res);
}
