// Downloads through the console: the API's own download route, streamed through with its headers.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ConsoleContext } from './index.js';

const PASSED_HEADERS = ['content-type', 'content-length', 'content-disposition', 'last-modified', 'etag'];

export async function streamDownload(ctx: ConsoleContext, apiPath: string): Promise<void> {
  const upstream = await ctx.api.download(apiPath);
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers.get(name);
    if (value) ctx.res.set(name, value);
  }
  // A download is never rendered by the browser as a console page (CSP stays, but be explicit).
  if (!upstream.headers.get('content-disposition')) ctx.res.set('content-disposition', 'attachment');
  ctx.res.status(200);
  if (!upstream.body) return void ctx.res.end();
  await pipeline(Readable.fromWeb(upstream.body as never), ctx.res);
}
