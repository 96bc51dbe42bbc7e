// `file` destinations are confined to one folder (FILE_DESTINATION_ROOT): an admin API key must not be a shell
// on the server. A path is judged by where it really leads — `..` resolved and every symlink followed — when a
// destination is saved and again at every transfer, since a symlink may be planted inside the root later.
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { TransferError } from './types.js';

/** Codes of a path (or one of its parents) that does not exist yet, so its real location is its parent's. */
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Where `target` really leads: the real path of its longest existing ancestor with the rest appended. A
 * dangling symlink on the way (it would be followed by a write) leads nowhere we can vouch for: undefined.
 */
export async function realLocation(target: string): Promise<string | undefined> {
  const missing: string[] = [];
  let current = path.resolve(target);
  for (;;) {
    try {
      return path.join(await realpath(current), ...missing.reverse());
    } catch (err) {
      if (!NOT_THERE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      if (await lstat(current).then((info) => info.isSymbolicLink(), () => false)) return undefined;
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(target);
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Why `target` is outside `root` (both followed through symlinks), or undefined when it is inside. */
export async function outsideRoot(root: string, target: string): Promise<string | undefined> {
  const realRoot = (await realLocation(root)) ?? path.resolve(root);
  if (!isInside(path.resolve(root), path.resolve(target))) return `${target} is outside ${root}`;
  const real = await realLocation(target);
  if (real === undefined) return `${target} goes through a symlink that points nowhere`;
  if (!isInside(realRoot, real)) return `${target} leads to ${real} (through a symlink), outside ${root}`;
  return undefined;
}

/** Throws a permanent TransferError unless `target` is inside `root`; no root means no confinement. */
export async function assertInsideRoot(root: string | undefined, target: string, stage: TransferError['stage']): Promise<void> {
  if (!root) return;
  const why = await outsideRoot(root, target);
  if (why) {
    throw new TransferError(
      `${why}: file destinations may only use folders inside FILE_DESTINATION_ROOT; move the folder there or ask the operator to change FILE_DESTINATION_ROOT`,
      stage, true);
  }
}
