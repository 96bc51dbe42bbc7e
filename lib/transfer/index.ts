// Picks the protocol implementation for a destination; everything else sees only the Transfer interface.
// The SFTP, FTP and S3 modules (ssh2, basic-ftp, the AWS SDK: ~35 MB resident together) are imported on the
// first call of a transfer that needs them, not when this registry loads: a worker that never touches a
// destination of a protocol never pays its memory.
import { openFileTransfer } from './file.js';
import { TransferError, type DestinationSecrets, type DestinationSettings, type Transfer, type TransferHooks } from './types.js';

export * from './types.js';
export { normalizeRelativePath } from './paths.js';
export { fileDestinationBase } from './file.js';
export { assertInsideRoot } from './file-root.js';

type Opener = () => Promise<Transfer>;

/** A Transfer whose implementation is opened by its first call (its module imported then); close() before
 *  any call opens nothing. */
function openedOnFirstUse(open: Opener): Transfer {
  let opened: Promise<Transfer> | undefined;
  const inner = () => (opened ??= open());
  return {
    put: async (path, body, options) => (await inner()).put(path, body, options),
    get: async (path) => (await inner()).get(path),
    list: async (dir) => (await inner()).list(dir),
    remove: async (path) => (await inner()).remove(path),
    test: async () => (await inner()).test(),
    close: async () => {
      const transfer = await opened?.catch(() => undefined);
      await transfer?.close();
    },
  };
}

/** Opens a Transfer for a destination. Connections are made lazily by the first call; always `close()` it. */
export function openTransfer(settings: DestinationSettings, secrets: DestinationSecrets = {}, hooks: TransferHooks = {}): Transfer {
  switch (settings.protocol) {
    case 'file': return openFileTransfer(settings, { root: hooks.fileRoot });
    case 'sftp': return openedOnFirstUse(async () => (await import('./sftp.js')).openSftpTransfer(settings, secrets, hooks));
    case 'ftp': return openedOnFirstUse(async () => (await import('./ftp.js')).openFtpTransfer(settings, secrets));
    case 's3': return openedOnFirstUse(async () => (await import('./s3.js')).openS3Transfer(settings, secrets));
    default:
      throw new TransferError(`unknown transfer protocol "${String(settings.protocol)}": use one of file, sftp, ftp, s3`, 'connect', true);
  }
}
