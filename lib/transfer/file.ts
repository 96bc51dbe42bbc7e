// A local folder as a destination: the zero-setup default, also used for mounted network shares. Exports are
// recordings and personal data: files are created 0640 and the folders created for them 0750 (owner and
// group only; a stricter umask narrows them further), not world-readable.
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../../shared/error-message.js';
import { classifyFailure } from '../failures.js';
import { isTemporaryName, normalizeRelativePath, oneWriterPer, sourceFailure, temporaryNameFor, writeProbe } from './paths.js';
import { assertInsideRoot } from './file-root.js';
import { TransferError, type DestinationSettings, type ListedFile, type PutResult, type Transfer } from './types.js';

export const FILE_MODE = 0o640;
export const FOLDER_MODE = 0o750;

function fsError(err: unknown, what: string, stage: TransferError['stage']): TransferError {
  if (err instanceof TransferError) return err;
  return new TransferError(`${what} failed: ${errorMessage(err)}`, stage, classifyFailure('file', err) === 'permanent', { cause: err });
}

/** The folder a file destination's path names: relative paths are taken from the root when there is one. */
export function fileDestinationBase(settings: Pick<DestinationSettings, 'path'>, root?: string): string {
  return root ? path.resolve(root, settings.path || '.') : path.resolve(settings.path || '.');
}

/** `root` (FILE_DESTINATION_ROOT): every file touched must really lie inside it, checked at each call (a symlink
 *  may have been planted since the destination was saved). Without it the transfer is unconfined (tests, tools). */
export function openFileTransfer(settings: DestinationSettings, { root }: { root?: string } = {}): Transfer {
  const base = fileDestinationBase(settings, root);
  const absolute = (relative: string) => path.join(base, ...relative.split('/'));
  /** Writes and removes act in the folder (a symlinked file is replaced or unlinked, never followed). */
  const confinedFolderOf = async (file: string, stage: TransferError['stage']) => { await assertInsideRoot(root, path.dirname(file), stage); return file; };

  async function put(relative: string, body: Readable): Promise<PutResult> {
    const rel = normalizeRelativePath(relative);
    const finalPath = await confinedFolderOf(absolute(rel), 'write');
    const temporary = absolute(temporaryNameFor(rel));
    // The temporary file is opened with 'w', which would follow a symlink planted under its name.
    await assertInsideRoot(root, temporary, 'write');
    return oneWriterPer(finalPath, async () => {
      try {
        await mkdir(path.dirname(finalPath), { recursive: true, mode: FOLDER_MODE });
        // 'w': a leftover of a crashed earlier attempt is overwritten. The mode applies to files this creates (no
        // chmod: a mounted share may refuse one, and its own permissions then rule).
        await pipeline(body, createWriteStream(temporary, { flags: 'w', mode: FILE_MODE }));
        await rename(temporary, finalPath);
        const { size } = await stat(finalPath);
        return { path: rel, location: pathToFileURL(finalPath).href, sizeBytes: size };
      } catch (err) {
        await rm(temporary, { force: true });
        throw sourceFailure(body) ?? fsError(err, `writing ${finalPath}`, 'write');
      }
    });
  }

  async function get(relative: string): Promise<Readable> {
    const file = absolute(normalizeRelativePath(relative));
    await assertInsideRoot(root, file, 'read');
    try {
      // Opening first turns a missing file into an error here rather than on the stream's first read.
      const handle = await open(file, 'r');
      return handle.createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TransferError(`file ${file} does not exist: check the path`, 'read', true, { cause: err });
      }
      throw fsError(err, `reading ${file}`, 'read');
    }
  }

  async function list(dir: string): Promise<ListedFile[]> {
    const rel = normalizeRelativePath(dir, { allowEmpty: true });
    const folder = absolute(rel);
    await assertInsideRoot(root, folder, 'list');
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError(err, `listing ${folder}`, 'list');
    }
    const files = entries.filter((entry) => entry.isFile() && !isTemporaryName(entry.name));
    return Promise.all(files.map(async (entry) => {
      const info = await stat(path.join(folder, entry.name));
      return { name: entry.name, path: rel ? `${rel}/${entry.name}` : entry.name, sizeBytes: info.size, modifiedAt: info.mtime };
    }));
  }

  async function remove(relative: string): Promise<void> {
    const file = await confinedFolderOf(absolute(normalizeRelativePath(relative)), 'remove');
    try {
      await unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(err, `removing ${file}`, 'remove');
    }
  }

  async function test(): Promise<void> {
    await assertInsideRoot(root, base, 'write');
    try {
      await mkdir(base, { recursive: true, mode: FOLDER_MODE });
      await writeProbe({ put, remove });
    } catch (err) {
      throw new TransferError(
        `cannot write to folder ${base}: ${errorMessage(err)}; check that the folder exists and this process may write to it`,
        'write', true, { cause: err },
      );
    }
  }

  return { put, get, list, remove, test, close: async () => {} };
}
