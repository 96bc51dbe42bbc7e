// Failures of an import that no retry can fix: the file is not a calling list we can read. Activities turn
// them into non-retryable ApplicationFailures of the same type.
export const IMPORT_FAILURES = {
  emptyFile: 'ImportFileEmpty',
  undecidableEncoding: 'ImportEncodingUndecidable',
  notAList: 'ImportNotAList',
  sourceMissing: 'ImportSourceMissing',
  campaignLocked: 'CampaignLocked',
  campaignMissing: 'CampaignMissing',
} as const;
export type ImportFailureType = (typeof IMPORT_FAILURES)[keyof typeof IMPORT_FAILURES];

export class ImportFileError extends Error {
  constructor(readonly type: ImportFailureType, message: string) {
    super(message);
    this.name = 'ImportFileError';
  }
}
