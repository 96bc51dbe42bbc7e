// Where the embedded PostgreSQL can live. As root, PostgreSQL runs as the `postgres` user, who must be able to
// walk every folder down to its binaries (inside node_modules) and its data. A checkout in a 0700 home folder
// (`/root`) is out of its reach, so there the binaries are copied, once per checkout, and the data placed in a
// folder of ours under /var/tmp (or the system temp folder) that only we can write and it can walk into.
import { createHash } from 'node:crypto';
import { constants, existsSync, lstatSync, statSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../tools.js';

export interface PostgresUser { uid: number; gid: number }

/** True when a user other than the owner can reach `target`: every folder above it is searchable by others. */
export function reachableByOthers(target: string): boolean {
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    let mode: number;
    try { mode = statSync(dir).mode; } catch { mode = 0; }
    if (existsSync(dir) && (mode & constants.S_IXOTH) === 0) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Where checkoutRuntimeDir() puts the folder of the checkout at `projectRoot`. */
export function checkoutRuntimePath(projectRoot: string): string {
  const base = existsSync('/var/tmp') ? '/var/tmp' : tmpdir();
  return path.join(base, `cc-jobs-${userInfo().uid}-${shortHash(projectRoot)}`);
}

/** Our own folder for this checkout, e.g. /var/tmp/cc-jobs-0-1a2b3c4d5e6f: created 0755 by us, refused when
 *  someone else made it first or can write into it (a shared temp folder). */
export async function checkoutRuntimeDir(): Promise<string> {
  const dir = checkoutRuntimePath(PROJECT_ROOT);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== userInfo().uid || (stat.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a folder only this user can write; remove it and run the command again.`);
  }
  await chmod(dir, 0o755); // whatever the umask made of it: the postgres user walks through it
  return dir;
}

/** The folder holding PostgreSQL's bin/, lib/ and share/ that the postgres user can reach. */
export async function reachableBinaries(packageNative: string): Promise<string> {
  if (reachableByOthers(path.join(packageNative, 'bin', 'postgres'))) return packageNative;
  const root = await checkoutRuntimeDir();
  const copy = path.join(root, 'postgres-runtime');
  const stamp = path.join(copy, '.copied-from');
  const source = `${packageNative} ${statSync(path.join(packageNative, 'bin', 'postgres')).mtimeMs}`;
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === source) return copy;
  // Copied aside and renamed into place, so two processes starting at once never run a half-copied server.
  const staging = `${copy}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await cp(packageNative, staging, { recursive: true, verbatimSymlinks: true, mode: constants.COPYFILE_FICLONE });
  await openToOthers(staging);
  await writeFile(path.join(staging, '.copied-from'), source);
  await rm(copy, { recursive: true, force: true });
  await rename(staging, copy).catch(async (err) => {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(stamp)) throw err;
  });
  return copy;
}

/** Makes a copied tree readable (and, where the owner may execute, executable) by others, as the package's
 *  own files are, whatever the umask or modes of the source made of the copy. */
async function openToOthers(root: string): Promise<void> {
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    if (entry.isSymbolicLink()) continue;
    const mode = statSync(file).mode & 0o7777;
    await chmod(file, entry.isDirectory() || (mode & 0o100) ? mode | 0o755 : mode | 0o644);
  }
  await chmod(root, 0o755);
}

/** A data folder the postgres user owns and can reach: `wanted` itself when it can, else one under our
 *  per-checkout folder named after `wanted` (so the same `wanted` finds the same data again). */
export async function reachableDataDir(wanted: string, owner: PostgresUser | undefined): Promise<string> {
  const resolved = path.resolve(wanted);
  // Its parents are made first, so a umask that makes them 0700 counts too.
  await mkdir(path.dirname(resolved), { recursive: true, mode: 0o755 });
  const dir = !owner || reachableByOthers(resolved)
    ? resolved
    : path.join(await checkoutRuntimeDir(), 'data', `${path.basename(resolved)}-${shortHash(resolved)}`);
  if (dir !== resolved) {
    await mkdir(path.dirname(dir), { recursive: true });
    await chmod(path.dirname(dir), 0o755);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (owner) await chown(dir, owner.uid, owner.gid);
  return dir;
}
