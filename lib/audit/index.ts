// The append-only, hash-chained audit log (SPEC "Job 4"): append entries, verify the chain.
export { appendAudit, appendAuditInTransaction, appendAuditOnce, entryOf, type AuditEntry, type AuditInput, type AuditRow } from './append.js';
export { auditHead, verifyAuditChain, type AuditHead, type ChainVerdict, type ExpectedHead } from './verify.js';
export { canonicalJson, hashAuditEntry, GENESIS_HASH, type AuditContent } from './chain.js';
