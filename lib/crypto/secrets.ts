// Small secrets at rest (destination passwords, private keys): one AES-256-GCM token per value,
// "v1:<keyId>:<base64 of iv(12) | ciphertext | tag(16)>", under the master key's 'secrets' key. The
// "v1:<keyId>" prefix is authenticated too, so a token cannot be relabelled to another key or version.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey, type Keyring } from './keys.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function encryptSecret(keyring: Keyring, plaintext: string): string {
  const { id } = keyring.current;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(keyring.current, 'secrets'), iv);
  cipher.setAAD(Buffer.from(`${VERSION}:${id}`));
  const sealed = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}:${id}:${sealed.toString('base64')}`;
}

export function decryptSecret(keyring: Keyring, token: string): string {
  const [version, id, body, ...rest] = token.split(':');
  if (version !== VERSION || !id || body === undefined || rest.length > 0) {
    throw new Error(`Not an encrypted secret token (expected "${VERSION}:<keyId>:<base64>"); the stored value may be plaintext or corrupted.`);
  }
  const master = keyring.byId(id);
  if (!master) {
    throw new Error(
      `A secret is encrypted with master key id "${id}", which this process does not have; ` +
        `add it to MASTER_KEY_PREVIOUS as "${id}:<base64 key>" (current key id is "${keyring.current.id}").`,
    );
  }
  const sealed = Buffer.from(body, 'base64');
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error(`An encrypted secret (key id "${id}") is too short to be valid.`);
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(master, 'secrets'), sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(`${VERSION}:${id}`));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`An encrypted secret (key id "${id}") failed authentication: it was altered or the key is wrong.`);
  }
}
