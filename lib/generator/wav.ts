// Real, small WAV files for synthetic calls: PCM, 8 kHz, 16-bit, mono, with a 44-byte RIFF header.
// The sound is a seeded tone with a harmonic, a slow tremolo and a little noise, so every recording has
// different bytes (and a different SHA-256) yet is reproducible from its seed.
import { createRng } from './prng.js';

export const WAV_SAMPLE_RATE = 8000;
const BITS_PER_SAMPLE = 16;
const CHANNELS = 1;
const HEADER_BYTES = 44;

export interface WavOptions { seed: number; durationMs: number }

/** The PCM samples of a generated recording. */
export function makePcm({ seed, durationMs }: WavOptions): Int16Array {
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new Error(`WAV duration must be a non-negative number of milliseconds; got ${durationMs}.`);
  }
  const rng = createRng(seed, 'wav');
  const frequency = 200 + rng.next() * 700;
  const tremolo = 0.5 + rng.next() * 3;
  const count = Math.round((durationMs * WAV_SAMPLE_RATE) / 1000);
  const fade = Math.min(200, Math.floor(count / 2));
  const pcm = new Int16Array(count);
  for (let i = 0; i < count; i++) {
    const t = i / WAV_SAMPLE_RATE;
    const tone = Math.sin(2 * Math.PI * frequency * t) + 0.3 * Math.sin(4 * Math.PI * frequency * t);
    const level = 0.6 + 0.4 * Math.sin(2 * Math.PI * tremolo * t);
    const envelope = Math.min(1, i / (fade || 1), (count - 1 - i) / (fade || 1));
    const sample = (tone * level * envelope * 0.45 + (rng.next() - 0.5) * 0.08) * 32767;
    pcm[i] = Math.max(-32768, Math.min(32767, Math.round(sample)));
  }
  return pcm;
}

export function wavFromPcm(pcm: Int16Array): Buffer {
  const dataBytes = pcm.length * 2;
  const out = Buffer.alloc(HEADER_BYTES + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(CHANNELS, 22);
  out.writeUInt32LE(WAV_SAMPLE_RATE, 24);
  out.writeUInt32LE((WAV_SAMPLE_RATE * CHANNELS * BITS_PER_SAMPLE) / 8, 28);
  out.writeUInt16LE((CHANNELS * BITS_PER_SAMPLE) / 8, 32);
  out.writeUInt16LE(BITS_PER_SAMPLE, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i], HEADER_BYTES + i * 2);
  return out;
}

export function makeWav(options: WavOptions): Buffer {
  return wavFromPcm(makePcm(options));
}

/**
 * Splits a recording into consecutive parts whose lengths follow `weights` (e.g. each agent's share of
 * the call): the agent segments of a call are pieces of its complete recording.
 */
export function splitPcm(pcm: Int16Array, weights: readonly number[]): Int16Array[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const parts: Int16Array[] = [];
  let start = 0;
  let acc = 0;
  weights.forEach((weight, i) => {
    acc += weight;
    const end = i === weights.length - 1 ? pcm.length : Math.round((pcm.length * acc) / total);
    parts.push(pcm.subarray(start, end));
    start = end;
  });
  return parts;
}

export interface WavInfo { audioFormat: number; channels: number; sampleRate: number; bitsPerSample: number; dataBytes: number; durationMs: number }

/** Reads the header of a canonical PCM WAV; throws when the bytes are not one. */
export function parseWav(buf: Buffer): WavInfo {
  if (buf.length < HEADER_BYTES || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('Not a RIFF/WAVE file: the first 12 bytes are not "RIFF....WAVE".');
  }
  if (buf.readUInt32LE(4) !== buf.length - 8) {
    throw new Error(`RIFF size ${buf.readUInt32LE(4)} does not match the file (${buf.length - 8} bytes after the size field).`);
  }
  if (buf.toString('ascii', 12, 16) !== 'fmt ' || buf.toString('ascii', 36, 40) !== 'data') {
    throw new Error('Expected a "fmt " chunk at byte 12 and a "data" chunk at byte 36.');
  }
  const info = {
    audioFormat: buf.readUInt16LE(20),
    channels: buf.readUInt16LE(22),
    sampleRate: buf.readUInt32LE(24),
    bitsPerSample: buf.readUInt16LE(34),
    dataBytes: buf.readUInt32LE(40),
  };
  if (info.dataBytes !== buf.length - HEADER_BYTES) {
    throw new Error(`The data chunk says ${info.dataBytes} bytes but the file holds ${buf.length - HEADER_BYTES}.`);
  }
  const bytesPerSecond = (info.sampleRate * info.channels * info.bitsPerSample) / 8;
  return { ...info, durationMs: (info.dataBytes * 1000) / bytesPerSecond };
}
