// The one SHA-256/size meter: a pass-through that hashes and counts the bytes streaming by (content stored,
// recordings exported), so a size and checksum come without buffering or a second read.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

export interface Meter extends Transform { sizeBytes(): number; sha256(): string }

/** `onChunk` sees each chunk after it is counted and may hold it back until its promise settles (a bandwidth
 *  throttle); a rejection fails the stream. */
export function createMeter({ onChunk }: { onChunk?: (chunk: Buffer) => Promise<void> | void } = {}): Meter {
  const hash = createHash('sha256');
  let size = 0;
  let digest: string | undefined;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      const held = onChunk?.(chunk);
      if (held) held.then(() => callback(null, chunk), callback);
      else callback(null, chunk);
    },
  }) as Meter;
  meter.sizeBytes = () => size;
  meter.sha256 = () => (digest ??= hash.digest('hex'));
  return meter;
}
