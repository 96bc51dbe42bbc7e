// The one place that decides whether a failure of a server we talk to is transient (retry later: the network
// dropped, the server is busy or restarting) or permanent (no retry can fix it: wrong credentials, no
// permission, a missing bucket, folder or file — fail at once with the server's message). Every protocol's
// rules are here, table-tested in test/failure-classification.test.ts; the transfer protocols record the
// verdict in `TransferError.permanent`, activities ask `isPermanentFailure`.
//
// Anything unrecognised is transient: activities retry with bounded attempts, so an unknown fault costs a
// few retries, while a blip wrongly called permanent fails a whole run.
import { errorMessage } from '../shared/error-message.js';

export type FailureSource = 'sftp' | 'ftp' | 's3' | 'file' | 'smtp' | 'postgres' | 'salesforce';
export type FailureVerdict = 'transient' | 'permanent';

interface ErrorFields { code?: unknown; name?: unknown; responseCode?: unknown; $metadata?: { httpStatusCode?: unknown } }

const fields = (err: unknown): ErrorFields => (typeof err === 'object' && err !== null ? err as ErrorFields : {});

/** Socket codes of a connection that could not be made or dropped. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EPIPE',
  'EAI_AGAIN', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ERR_NOT_CONNECTED',
]);

/** What the libraries say when the connection dropped or never completed (ssh2's "Connection lost before
 *  handshake" and basic-ftp's "Server sent FIN packet unexpectedly" are a server that closed the socket before
 *  its banner: a restart, sshd's MaxStartups, a blip). */
const NETWORK_MESSAGE = /timed? ?out|timeout|socket hang up|connection lost|lost before handshake|closed the connection|connection closed|unexpected (end|close)|FIN packet unexpectedly|not connected|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN/i;

/** Node's codes for a TLS certificate that is not trusted or does not name the host. */
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ALTNAME/;

/** True when the connection could not be made or dropped, whatever the protocol: always worth a retry. */
export function isNetworkFailure(err: unknown): boolean {
  const { code } = fields(err);
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (NETWORK_MESSAGE.test(errorMessage(err))) return true;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== err && isNetworkFailure(cause);
}

/** True for a TLS certificate the client refused (not trusted, or not issued for the host). */
export function isCertificateFailure(err: unknown): boolean {
  const { code } = fields(err);
  return typeof code === 'string' && CERTIFICATE_CODE.test(code);
}

/** SFTP status codes (2 no such file, 3 permission denied) and ssh2-sftp-client's / Node's codes. */
const SFTP_PERMANENT_CODES = new Set<unknown>([2, 3, 'ENOENT', 'EACCES', 'EPERM', 'ENOTDIR', 'ERR_BAD_PATH', 'ERR_BAD_AUTH']);
const SFTP_PERMANENT_MESSAGE = /authentication methods failed|cannot parse privateKey|no .*authentication method|permission denied|no such file/i;

function sftpVerdict(err: unknown): FailureVerdict {
  if (isNetworkFailure(err)) return 'transient';
  if (SFTP_PERMANENT_CODES.has(fields(err).code) || SFTP_PERMANENT_MESSAGE.test(errorMessage(err))) return 'permanent';
  return 'transient';
}

/** FTP: 4xx replies are transient by the protocol's definition, 5xx (530 login, 550 no such file) are not. */
function ftpVerdict(err: unknown): FailureVerdict {
  if (isCertificateFailure(err)) return 'permanent';
  if (isNetworkFailure(err)) return 'transient';
  const { code, name } = fields(err);
  if (name === 'FTPError' && typeof code === 'number') return code >= 500 ? 'permanent' : 'transient';
  return 'transient';
}

/** S3 error names no retry can fix, whatever the status says. */
const S3_PERMANENT_NAMES = new Set([
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidClientTokenId', 'AccessDenied', 'ExpiredToken', 'InvalidToken',
  'CredentialsProviderError', 'NoSuchBucket', 'NoSuchKey', 'InvalidBucketName', 'AllAccessDisabled',
]);

function s3Verdict(err: unknown): FailureVerdict {
  const { name, $metadata } = fields(err);
  if (typeof name === 'string' && S3_PERMANENT_NAMES.has(name)) return 'permanent';
  const status = typeof $metadata?.httpStatusCode === 'number' ? $metadata.httpStatusCode : undefined;
  // A service answer: 4xx is the request's fault (but 408 timeout and 429 slow down), 5xx the server's.
  if (status !== undefined) return status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'permanent' : 'transient';
  return 'transient';
}

/** Local folders: permissions, read-only disks, a file where a folder should be. (A missing file is told apart
 *  by the callers: reading one is permanent, a folder vanishing under a write is a race worth a retry.) */
const FILE_PERMANENT_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENAMETOOLONG', 'ELOOP']);

function fileVerdict(err: unknown): FailureVerdict {
  const { code } = fields(err);
  return typeof code === 'string' && FILE_PERMANENT_CODES.has(code) ? 'permanent' : 'transient';
}

/** nodemailer's codes: no or wrong login, a TLS certificate refused, a message the server cannot take. */
const SMTP_PERMANENT_CODES = new Set(['EAUTH', 'ENOAUTH', 'ETLS', 'EMESSAGE']);

function smtpVerdict(err: unknown): FailureVerdict {
  const { code, responseCode } = fields(err);
  if (isCertificateFailure(err)) return 'permanent';
  if (typeof code === 'string' && SMTP_PERMANENT_CODES.has(code)) return 'permanent';
  // A refused envelope or command: 5xx (550 no such mailbox, 552 too large) is final, 4xx (421, 450) is not.
  if (typeof responseCode === 'number') return responseCode >= 500 ? 'permanent' : 'transient';
  return 'transient';
}

/** SQLSTATE classes and codes worth retrying: connection exceptions, serialization failures and deadlocks,
 *  insufficient resources, the server shutting down or starting, a lock not available; and postgres.js's own
 *  codes for a connection that closed. Everything else (bad SQL, constraints, login, missing database) is
 *  permanent. */
const POSTGRES_TRANSIENT = /^(08...|40001|40P01|53...|57P0[123]|55P03|CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT)$/;

function postgresVerdict(err: unknown): FailureVerdict {
  const { code } = fields(err);
  if (typeof code === 'string' && POSTGRES_TRANSIENT.test(code)) return 'transient';
  if (isNetworkFailure(err)) return 'transient';
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? 'permanent' : 'transient';
}

/** Salesforce (jsforce): the errorCode of a REST error, the OAuth2 error name or the SOAP login fault. Limits,
 *  a busy or failing server and an expired session (jsforce logs in again by itself; one left over is worth a
 *  retry) are transient; a refused login, a missing object or field, a malformed request are permanent. */
const SALESFORCE_TRANSIENT = /^(REQUEST_LIMIT_EXCEEDED|SERVER_UNAVAILABLE|UNKNOWN_EXCEPTION|UNABLE_TO_LOCK_ROW|INVALID_SESSION_ID|ERROR_HTTP_(5\d\d|408|420|429))$/;
const SALESFORCE_PERMANENT = /^(INVALID_LOGIN|invalid_grant|invalid_client_id|invalid_client|unsupported_grant_type|NOT_FOUND|INVALID_TYPE|INVALID_FIELD|INVALID_FIELD_FOR_INSERT_UPDATE|MALFORMED_QUERY|JSON_PARSER_ERROR|EXCEEDED_ID_LIMIT|API_DISABLED_FOR_ORG|INSUFFICIENT_ACCESS\w*|ERROR_HTTP_4\d\d)$/;

function salesforceVerdict(err: unknown): FailureVerdict {
  if (isCertificateFailure(err)) return 'permanent';
  if (isNetworkFailure(err)) return 'transient';
  const { name } = fields(err);
  const code = (err as { errorCode?: unknown } | undefined)?.errorCode ?? name;
  const login = /^(INVALID_LOGIN|LOGIN_MUST_USE_SECURITY_TOKEN|INVALID_OPERATION_WITH_EXPIRED_PASSWORD)\b/.exec(errorMessage(err))?.[1];
  if (login || /password has expired/i.test(errorMessage(err))) return 'permanent';
  if (typeof code === 'string' && SALESFORCE_TRANSIENT.test(code)) return 'transient';
  if (typeof code === 'string' && SALESFORCE_PERMANENT.test(code)) return 'permanent';
  return 'transient';
}

const RULES: Record<FailureSource, (err: unknown) => FailureVerdict> = {
  sftp: sftpVerdict, ftp: ftpVerdict, s3: s3Verdict, file: fileVerdict, smtp: smtpVerdict, postgres: postgresVerdict,
  salesforce: salesforceVerdict,
};

/** Transient (retry) or permanent (fail at once) for an error thrown by `source`'s client library. */
export function classifyFailure(source: FailureSource, err: unknown): FailureVerdict {
  return RULES[source](err);
}

/** True for an error already judged permanent by its protocol (a TransferError, or any error carrying
 *  `permanent: true`); plain errors are transient. */
export function isPermanentFailure(err: unknown): boolean {
  return (err as { permanent?: unknown } | undefined)?.permanent === true;
}
