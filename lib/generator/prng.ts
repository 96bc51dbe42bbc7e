// A small seeded PRNG (sfc32, seeded through splitmix32) so the same generator arguments give the same
// data byte for byte. Streams are derived from a seed plus labels (campaign, contact, purpose), so
// changing one count (say, interactions) leaves every other table's data as it was.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** One of the keys, with probability proportional to its weight. */
  weighted<T>(table: Weighted<T>): T;
}

export interface Weighted<T> { items: readonly T[]; cumulative: readonly number[]; total: number }

export function weightedTable<T>(entries: readonly (readonly [T, number])[]): Weighted<T> {
  let total = 0;
  const cumulative: number[] = [];
  for (const [, weight] of entries) {
    total += weight;
    cumulative.push(total);
  }
  return { items: entries.map(([item]) => item), cumulative, total };
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes a seed and labels (numbers or short strings) into one 32-bit stream seed. */
export function deriveSeed(seed: number, ...labels: (number | string)[]): number {
  let h = splitmix32(seed)();
  for (const label of labels) {
    const n = typeof label === 'number' ? label : hashString(label);
    h = splitmix32((h ^ Math.imul(n >>> 0, 0x27d4eb2d)) >>> 0)();
  }
  return h;
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function createRng(seed: number, ...labels: (number | string)[]): Rng {
  const init = splitmix32(deriveSeed(seed, ...labels));
  let a = init(), b = init(), c = init(), d = init();
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted: (table) => {
      const x = next() * table.total;
      let i = 0;
      while (table.cumulative[i] <= x) i++;
      return table.items[i];
    },
  };
}
