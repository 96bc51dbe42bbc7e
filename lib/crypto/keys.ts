// The master key and the keys derived from it. Every encrypted thing the platform writes (Temporal
// payloads, content at rest, destination credentials) names the id of the master key it was made with,
// so a rotated-out key stays usable for decryption while it is listed in MASTER_KEY_PREVIOUS.
import { createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface MasterKey { id: string; key: Buffer }

export type KeyPurpose = 'payload' | 'content' | 'secrets';

export interface Keyring {
  /** The key new data is encrypted with. */
  current: MasterKey;
  /** The current or a previous key with this id, or undefined when the keyring does not hold it. */
  byId(id: string): MasterKey | undefined;
}

export interface MasterKeyOptions {
  dataDir: string;
  /** base64 of 32 bytes (MASTER_KEY); when absent the key lives in <dataDir>/keys/master.key. */
  masterKey?: string;
  masterKeyId?: string;
}

const KEY_BYTES = 32;
// Key ids end up in token formats ("v1:<id>:…", "id:base64,…") and stream headers: keep them plain.
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export async function loadMasterKey(options: MasterKeyOptions): Promise<MasterKey> {
  if (options.masterKey !== undefined) {
    return masterKeyFrom(options.masterKey, options.masterKeyId, 'MASTER_KEY');
  }
  return loadOrCreateKeyFile(path.join(options.dataDir, 'keys', 'master.key'), options.masterKeyId);
}

/** The current master key plus the previous ones ("id:base64,id:base64", MASTER_KEY_PREVIOUS). */
export async function loadKeyring(options: MasterKeyOptions & { previousKeys?: string }): Promise<Keyring> {
  const current = await loadMasterKey(options);
  return keyringOf(current, parsePreviousKeys(options.previousKeys ?? ''));
}

export function keyringOf(current: MasterKey, previous: MasterKey[] = []): Keyring {
  const keys = new Map<string, MasterKey>();
  for (const key of previous) keys.set(key.id, key);
  keys.set(current.id, current);
  return { current, byId: (id) => keys.get(id) };
}

export function parsePreviousKeys(list: string): MasterKey[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const colon = entry.indexOf(':');
      if (colon <= 0) {
        throw new Error('MASTER_KEY_PREVIOUS entries must look like "<id>:<base64 key>", separated by commas; found an entry without an id.');
      }
      return masterKeyFrom(entry.slice(colon + 1), entry.slice(0, colon), 'MASTER_KEY_PREVIOUS');
    });
}

/** A 32-byte key for one purpose, so no two uses of the master key share key material. */
export function deriveKey(master: MasterKey, purpose: KeyPurpose): Buffer {
  const cacheKey = `${master.id}/${purpose}`;
  let derived = derivedCache.get(master)?.get(cacheKey);
  if (!derived) {
    derived = Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), `cc-jobs:${purpose}`, KEY_BYTES));
    if (!derivedCache.has(master)) derivedCache.set(master, new Map());
    derivedCache.get(master)!.set(cacheKey, derived);
  }
  return derived;
}
const derivedCache = new WeakMap<MasterKey, Map<string, Buffer>>();

export function defaultKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function masterKeyFrom(base64: string, id: string | undefined, source: string): MasterKey {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`${source} must be ${KEY_BYTES} bytes, base64-encoded (openssl rand -base64 32); found ${key.length} bytes.`);
  }
  return { id: checkedKeyId(id ?? defaultKeyId(key), source), key };
}

function checkedKeyId(id: string, source: string): string {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new Error(`${source}: key id ${JSON.stringify(id)} is not valid; use 1-32 characters of A-Z a-z 0-9 _ -.`);
  }
  return id;
}

async function loadOrCreateKeyFile(file: string, wantedId: string | undefined): Promise<MasterKey> {
  const existing = await readKeyFile(file);
  if (existing) return existing;
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  const id = checkedKeyId(wantedId ?? defaultKeyId(key), 'MASTER_KEY_ID');
  // Written whole to a private temp file, then linked into place: link() is atomic and fails with
  // EEXIST if another process got there first, in which case everyone uses the winner's key.
  const temp = `${file}.${randomUUID()}.tmp`;
  await fs.writeFile(temp, JSON.stringify({ id, key: key.toString('base64') }) + '\n', { flag: 'wx', mode: 0o600 });
  try {
    await fs.link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
  const stored = await readKeyFile(file);
  if (!stored) throw new Error(`The master key file ${file} vanished right after it was created; check what else writes to that folder.`);
  return stored;
}

async function readKeyFile(file: string): Promise<MasterKey | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: { id?: unknown; key?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`The master key file ${file} is not valid JSON; restore it from backup (without it, encrypted data cannot be read).`);
  }
  if (typeof parsed.key !== 'string' || typeof parsed.id !== 'string') {
    throw new Error(`The master key file ${file} must hold {"id": "...", "key": "<base64>"}; restore it from backup.`);
  }
  return masterKeyFrom(parsed.key, parsed.id, file);
}
