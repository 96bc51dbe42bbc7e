// Picks the protocol implementation for a destination; everything else sees only the Transfer interface.
import { openFileTransfer } from './file.js';
import { openFtpTransfer } from './ftp.js';
import { openS3Transfer } from './s3.js';
import { openSftpTransfer } from './sftp.js';
import { TransferError, type DestinationSecrets, type DestinationSettings, type Transfer, type TransferHooks } from './types.js';

export * from './types.js';
export { normalizeRelativePath } from './paths.js';
export { fileDestinationBase } from './file.js';
export { assertInsideRoot } from './file-root.js';

/** Opens a Transfer for a destination. Connections are made lazily by the first call; always `close()` it. */
export function openTransfer(settings: DestinationSettings, secrets: DestinationSecrets = {}, hooks: TransferHooks = {}): Transfer {
  switch (settings.protocol) {
    case 'file': return openFileTransfer(settings, { root: hooks.fileRoot });
    case 'sftp': return openSftpTransfer(settings, secrets, hooks);
    case 'ftp': return openFtpTransfer(settings, secrets);
    case 's3': return openS3Transfer(settings, secrets);
    default:
      throw new TransferError(`unknown transfer protocol "${String(settings.protocol)}": use one of file, sftp, ftp, s3`, 'connect', true);
  }
}
