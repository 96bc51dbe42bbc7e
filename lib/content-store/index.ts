// Picks the content store the configuration asks for; callers only ever see the ContentStore interface.
import { createLocalContentStore, type LocalContentStoreOptions } from './local.js';
import { createS3ContentStore, type S3ContentStoreOptions } from './s3.js';
import type { ContentStore } from './types.js';

export { ContentMissingError, type ContentStore, type StoredObject } from './types.js';
export { removeAll, stillHeld } from './bulk.js';

export type ContentStoreOptions =
  | ({ kind: 'local' } & LocalContentStoreOptions)
  | ({ kind: 's3' } & S3ContentStoreOptions);

export function createContentStore(options: ContentStoreOptions): ContentStore {
  if (options.kind === 's3') {
    if (!options.bucket) throw new Error('The S3 content store needs a bucket (CONTENT_S3_BUCKET).');
    return createS3ContentStore(options);
  }
  return createLocalContentStore(options);
}
