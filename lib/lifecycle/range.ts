// HTTP byte ranges (RFC 9110 §14) for playback: one range per request, the way audio players ask. The content
// store decrypts from the start of an object (its segments are authenticated in order), so a range is served
// by reading up to its end and passing on only its bytes: memory stays at one chunk, whatever the offset.

export interface ByteRange { start: number; end: number } // both inclusive

/**
 * The range a `Range` header asks for in an entity of `size` bytes: null when the header is absent or not one
 * we honour (another unit, several ranges: the whole entity is sent, as RFC 9110 allows), 'unsatisfiable' when
 * it asks only for bytes past the end (416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return null;
  const [, first, last] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    // A suffix: the last n bytes.
    const n = Number(last);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return null; // syntactically invalid: ignored (RFC 9110 §14.1.1)
  return { start, end };
}

/** The bytes start..end (inclusive) of a stream; stops reading (and so destroys the source) past the end. */
export async function* sliceBytes(source: AsyncIterable<Buffer>, range: ByteRange): AsyncGenerator<Buffer> {
  let position = 0;
  for await (const chunk of source) {
    const chunkEnd = position + chunk.length;
    if (chunkEnd > range.start) {
      const from = Math.max(0, range.start - position);
      const to = Math.min(chunk.length, range.end + 1 - position);
      if (to > from) yield chunk.subarray(from, to);
    }
    position = chunkEnd;
    if (position > range.end) return;
  }
}
