// Failures of an import that no retry can fix: the file is not a calling list we can read. Activities turn
// them into non-retryable ApplicationFailures of the same type.
import type { ImportFailureType } from '../../contracts/list-import.js';
export class ImportFileError extends Error {
  constructor(readonly type: ImportFailureType, message: string) {
    super(message);
    this.name = 'ImportFileError';
  }
}
