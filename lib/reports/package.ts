// Output options applied before sending (seed 003 "Report Output Options"): ZIP the CSV, then PGP-encrypt
// the result with the account's stored public key. Both stream: nothing is held whole in memory.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ZipArchive } from 'archiver';
import type * as openpgp from 'openpgp';

/** openpgp (~5 MB resident) is imported by the first key read or encryption, not when a worker loads its activities. */
const pgp = () => import('openpgp');

export class PgpKeyError extends Error {}

/** Parses an armored public key; refuses private keys and keys that cannot encrypt. */
export async function readPublicKey(armored: string): Promise<{ fingerprint: string; userIds: string[]; armored: string }> {
  let key: openpgp.Key;
  try {
    key = await (await pgp()).readKey({ armoredKey: armored });
  } catch (err) {
    throw new PgpKeyError(`the PGP public key could not be read (${(err as Error).message}); paste the ASCII-armored public key block`);
  }
  if (key.isPrivate()) throw new PgpKeyError('this is a private key; upload the public key only (gpg --armor --export <id>)');
  try {
    await key.getEncryptionKey();
  } catch (err) {
    throw new PgpKeyError(`the PGP key cannot encrypt (${(err as Error).message}); upload a key with a valid encryption subkey`);
  }
  return { fingerprint: key.getFingerprint(), userIds: key.getUserIDs(), armored: key.armor() };
}

export function zipStream(body: Readable, entryName: string): Readable {
  const archive = new ZipArchive({ zlib: { level: 6 } });
  body.once('error', (err) => archive.destroy(err));
  archive.append(body, { name: entryName });
  void archive.finalize().catch((err: Error) => archive.destroy(err));
  return archive;
}

export async function pgpEncryptStream(body: Readable, armoredPublicKey: string, fileName: string): Promise<Readable> {
  const openpgp = await pgp();
  const encryptionKeys = await openpgp.readKey({ armoredKey: armoredPublicKey });
  const message = await openpgp.createMessage({ binary: Readable.toWeb(body) as unknown as import('openpgp').NodeWebStream<Uint8Array>, filename: fileName, format: 'binary' });
  const encrypted = await openpgp.encrypt({ message, encryptionKeys, format: 'binary' });
  return Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>);
}

export interface PackageOptions { zip: boolean; pgpPublicKey?: string | null }

/** The name the packaged file is sent under: report.csv → report.zip → report.zip.pgp. */
export function packagedName(csvName: string, options: PackageOptions): string {
  let name = csvName;
  if (options.zip) name = name.replace(/\.csv$/i, '') + '.zip';
  if (options.pgpPublicKey) name += '.pgp';
  return name;
}

export async function packageReport(csv: Readable, csvName: string, options: PackageOptions): Promise<Readable> {
  let stream = options.zip ? zipStream(csv, csvName) : csv;
  if (options.pgpPublicKey) stream = await pgpEncryptStream(stream, options.pgpPublicKey, options.zip ? packagedName(csvName, { zip: true }) : csvName);
  return stream;
}
