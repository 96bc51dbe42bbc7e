// Which text encoding a calling list is in, decided from its first bytes, and a decoder that refuses
// anything that is not text. Byte-order marks decide UTF-8/UTF-16; without one, bytes that are valid UTF-8
// are UTF-8 and the rest must be plausible Windows-1252. Anything else (NUL bytes, control characters,
// UTF-16 without a BOM, bytes Windows-1252 leaves undefined) is a clear failure, never garbage rows.
import { isUtf8 as isValidUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';
import { ImportFileError } from './errors.js';
import { IMPORT_FAILURES } from '../../contracts/list-import.js';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
export interface DetectedEncoding { encoding: TextEncoding; bom: boolean }

/** How many leading bytes the detection looks at. */
export const SAMPLE_BYTES = 64 * 1024;

// Control characters that never appear in a text list (tab, LF, CR and form feed are allowed).
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000E-\u001F\u007F]/;
const CP1252_UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

export function detectEncoding(sample: Buffer, { complete }: { complete: boolean }): DetectedEncoding {
  if (sample.length === 0) throw new ImportFileError(IMPORT_FAILURES.emptyFile, 'The import file is empty (0 bytes); upload a list with at least a header or one contact.');
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf-8', bom: true };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf-16le', bom: true };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf-16be', bom: true };
  const nul = sample.indexOf(0);
  if (nul >= 0) {
    const looksUtf16 = sample.length >= 4 && (sample[1] === 0 || sample[0] === 0);
    throw new ImportFileError(IMPORT_FAILURES.undecidableEncoding, looksUtf16
      ? 'The import file looks like UTF-16 without a byte-order mark, so its byte order cannot be decided; save it as UTF-8 or as UTF-16 with a BOM.'
      : `The import file is not text (a NUL byte at offset ${nul}); upload a delimited text list (CSV).`);
  }
  if (isUtf8(sample, complete)) return { encoding: 'utf-8', bom: false };
  const bad = firstNonCp1252(sample);
  if (bad >= 0) {
    throw new ImportFileError(IMPORT_FAILURES.undecidableEncoding,
      `The import file's encoding cannot be recognised: it is neither UTF-8, UTF-16 with a BOM nor Windows-1252 (byte 0x${sample[bad].toString(16)} at offset ${bad}); save it as UTF-8.`);
  }
  return { encoding: 'windows-1252', bom: false };
}

/** Valid UTF-8, allowing a sequence cut off at the end of a sample that is not the whole file. */
function isUtf8(bytes: Buffer, complete: boolean): boolean {
  let end = bytes.length;
  if (!complete) {
    // Step back over a trailing incomplete multi-byte sequence (at most 3 bytes).
    for (let back = 1; back <= 3 && end - back >= 0; back++) {
      const b = bytes[end - back];
      if ((b & 0xc0) === 0x80) continue;
      if (b >= 0xc0) end -= back;
      break;
    }
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

function firstNonCp1252(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (CP1252_UNDEFINED.has(b) || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) || b === 0x7f) return i;
  }
  return -1;
}

/** Raised mid-stream when a file detected as UTF-8 from its start turns out not to be: the caller starts
 *  over as Windows-1252 (nothing has been applied yet, only staged). */
export class NotUtf8Error extends Error {
  constructor(readonly offset: number) {
    super(`invalid UTF-8 near byte ${offset}`);
    this.name = 'NotUtf8Error';
  }
}

/** Bytes in, UTF-8 bytes out (no BOM), failing on invalid sequences and control characters. The parser
 *  reads bytes, so a UTF-8 file is only validated and passed on as it is (no decode to a string and
 *  encode back); other encodings are decoded and re-encoded as UTF-8. */
export function createTextDecoder(detected: DetectedEncoding): Transform {
  return detected.encoding === 'utf-8' ? utf8Validator(detected.bom) : transcoder(detected.encoding);
}

function controlCharacterError(code: number, offset: number): ImportFileError {
  return new ImportFileError(IMPORT_FAILURES.undecidableEncoding,
    `The import file is not a text list: control character U+${code.toString(16).padStart(4, '0')} near byte ${offset}; upload a delimited text list (CSV).`);
}

/** Index of the first control byte (see CONTROL) in UTF-8 bytes, or -1. Bytes below 0x80 are never part of
 *  a multi-byte sequence, so a byte scan finds exactly the control characters. */
function firstControlByte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x20 ? b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c : b === 0x7f) return i;
  }
  return -1;
}

/** Where the last complete UTF-8 sequence of `bytes` ends (a sequence cut by the chunk boundary waits
 *  for the next chunk). */
function completeUtf8End(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const b = bytes[end - back];
    if ((b & 0xc0) === 0x80) continue;                       // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? end - back : end;
  }
  return end;
}

function utf8Validator(bom: boolean): Transform {
  let offset = 0;                  // bytes of the file before the current chunk
  let skip = bom ? 3 : 0;          // BOM bytes still to drop
  let carry: Buffer | undefined;   // a sequence cut by the previous chunk's end
  const check = (bytes: Buffer, at: number): Error | undefined => {
    if (!isValidUtf8(bytes)) return new NotUtf8Error(at);
    const control = firstControlByte(bytes);
    return control >= 0 ? controlCharacterError(bytes[control], at + control) : undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      let bytes = chunk;
      const start = offset - (carry?.length ?? 0);
      offset += chunk.length;
      if (skip > 0) {
        const dropped = Math.min(skip, bytes.length);
        bytes = bytes.subarray(dropped);
        skip -= dropped;
      }
      if (carry) {
        bytes = Buffer.concat([carry, bytes]);
        carry = undefined;
      }
      const end = completeUtf8End(bytes);
      if (end < bytes.length) carry = Buffer.from(bytes.subarray(end));   // a copy: the chunk itself is passed on
      const whole = bytes.subarray(0, end);
      const err = check(whole, start);
      if (err) return done(err);
      done(null, whole.length > 0 ? whole : undefined);
    },
    flush(done: TransformCallback) {
      if (!carry) return done();
      const err = check(carry, offset - carry.length);
      done(err, err ? undefined : carry);
    },
  });
}

function transcoder(encoding: Exclude<TextEncoding, 'utf-8'>): Transform {
  const cp1252 = encoding === 'windows-1252' ? iconv.getDecoder('win1252') : undefined;
  const decoder = cp1252 ? undefined : new TextDecoder(encoding, { fatal: true, ignoreBOM: false });
  let offset = 0;
  const encoded = (text: string): Buffer | Error => {
    const control = CONTROL.exec(text);
    return control ? controlCharacterError(control[0].charCodeAt(0), offset) : Buffer.from(text, 'utf8');
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      let text: string;
      try {
        if (cp1252) {
          const bad = firstNonCp1252(chunk);
          if (bad >= 0) throw new ImportFileError(IMPORT_FAILURES.undecidableEncoding,
            `The import file is neither UTF-8 nor Windows-1252 (byte 0x${chunk[bad].toString(16)} at offset ${offset + bad}); save it as UTF-8.`);
          text = cp1252.write(chunk);
        } else {
          text = decoder!.decode(chunk, { stream: true });
        }
      } catch (err) {
        return done(err instanceof ImportFileError ? err : encodingError(encoding, offset, err));
      }
      const out = encoded(text);
      offset += chunk.length;
      if (out instanceof Error) return done(out);
      done(null, out.length > 0 ? out : undefined);
    },
    flush(done: TransformCallback) {
      let rest: string;
      try {
        rest = cp1252 ? cp1252.end() ?? '' : decoder!.decode();
      } catch (err) {
        return done(encodingError(encoding, offset, err));
      }
      const out = encoded(rest);
      if (out instanceof Error) return done(out);
      done(null, out.length > 0 ? out : undefined);
    },
  });
}

function encodingError(encoding: TextEncoding, offset: number, _err: unknown): Error {
  if (encoding === 'utf-8') return new NotUtf8Error(offset);
  return new ImportFileError(IMPORT_FAILURES.undecidableEncoding,
    `The import file has a ${encoding.toUpperCase()} byte-order mark but invalid ${encoding.toUpperCase()} text near byte ${offset}; save it again as UTF-8.`);
}
