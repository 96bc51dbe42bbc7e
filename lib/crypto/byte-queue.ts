// A FIFO of byte chunks, so stream transforms can cut fixed-size segments out of arbitrary writes
// without concatenating everything seen so far.
export class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first n bytes, left in the queue. */
  peek(n: number): Buffer {
    return this.copyOut(n, false);
  }

  /** Removes and returns the first n bytes (n must not exceed length): a view of a chunk pushed when they lie
   *  in one, else a copy. */
  take(n: number): Buffer {
    return this.copyOut(n, true);
  }

  private copyOut(n: number, consume: boolean): Buffer {
    if (n > this.length) throw new RangeError(`ByteQueue holds ${this.length} bytes; ${n} were asked for`);
    // Within the first chunk: a view of it, no copy (chunks are never written to once pushed).
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (!consume) return first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let index = 0;
    while (filled < n) {
      const head = this.chunks[index];
      const used = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, used);
      filled += used;
      if (!consume) index += 1;
      else if (used === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(used);
    }
    if (consume) this.length -= n;
    return out;
  }
}
