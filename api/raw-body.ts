// Raw request bodies (recordings, uploads) are streamed straight into the content store. The limit is
// enforced twice: up front from Content-Length, and while streaming for chunked bodies.
import { Transform, type Readable } from 'node:stream';
import type { Request } from 'express';
import { Problem } from './problem.js';

export function limitedBody(req: Request, options: { contentTypes?: string[]; maxBytes: number }): Readable {
  const type = (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (options.contentTypes && !options.contentTypes.includes(type)) {
    throw new Problem(415, `Content-Type ${JSON.stringify(type || '(none)')} is not accepted here; send one of ${options.contentTypes.join(', ')}.`);
  }
  const declared = Number(req.get('content-length') ?? NaN);
  if (declared > options.maxBytes) throw tooLarge(options.maxBytes);
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > options.maxBytes) return callback(tooLarge(options.maxBytes));
      callback(null, chunk);
    },
  });
  req.on('aborted', () => limiter.destroy(new Error('the client aborted the upload')));
  req.on('error', (err) => limiter.destroy(err));
  return req.pipe(limiter);
}

function tooLarge(maxBytes: number): Problem {
  return new Problem(413, `The request body is larger than the ${maxBytes} bytes this endpoint accepts.`);
}
