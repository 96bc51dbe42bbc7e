// Destinations (sftp, ftp, s3, a local folder). Credentials are sealed with the master key on the way in
// and never leave again: reads show "••••" where one is set. The connection test runs the transfer's own
// check right here — it is a quick probe, not a job. A change of where a destination points (host, port,
// protocol, user, endpoint, TLS or host-key settings) must carry its secrets again: otherwise anyone allowed to
// edit a destination could send the stored password to a server of their choosing.
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import type { Keyring } from '../../lib/crypto/keys.js';
import { loadDestination, openDestination, sealSecrets, type StoredDestination } from '../../lib/destinations.js';
import { assertInsideRoot, fileDestinationBase, TransferError, type DestinationSecrets } from '../../lib/transfer/index.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, conflict, notFound, Problem, type FieldError } from '../problem.js';
import { decodeCursor, idParams, iso, pageOf, pageQuery, paged } from '../schemas.js';

const PROTOCOLS = ['sftp', 'ftp', 's3', 'file'] as const;
const MASK = '••••';
const SETTING_KEYS = [
  'host', 'port', 'path', 'username', 'bucket', 'region', 'endpoint', 'forcePathStyle', 'tls', 'tlsCa', 'tlsRejectUnauthorized', 'hostKeyFingerprint',
] as const;
const SECRET_KEYS = ['password', 'privateKey'] as const;
/** Settings that decide which server receives the secrets (or whether they travel in clear). */
const TARGET_KEYS = ['protocol', 'host', 'port', 'username', 'endpoint', 'tls', 'tlsCa', 'tlsRejectUnauthorized', 'hostKeyFingerprint'] as const;
/** Changing these means another server: a host key pinned for the old one no longer applies. */
const SERVER_KEYS = ['protocol', 'host', 'port'] as const;

const fields = {
  name: z.string().trim().min(1).max(200),
  protocol: z.enum(PROTOCOLS),
  host: z.string().trim().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  path: z.string().max(1024).describe('base folder (file: an absolute or relative local folder; s3: key prefix)'),
  username: z.string().max(255).describe('s3: the access key id'),
  password: z.string().min(1).max(4096).describe('sftp/ftp password, or the S3 secret access key; never returned'),
  privateKey: z.string().min(1).max(16384).describe('sftp private key (PEM/OpenSSH); never returned'),
  bucket: z.string().min(3).max(63),
  region: z.string().max(64),
  endpoint: z.url(),
  forcePathStyle: z.boolean(),
  tls: z.enum(['explicit', 'implicit']).describe('ftp: FTPS, "explicit" (AUTH TLS) or "implicit" (TLS from the first byte, port 990 by default); unset: plain FTP'),
  tlsCa: z.string().min(1).max(65536).describe('ftp with tls: PEM certificate(s) to trust for the server, e.g. its self-signed certificate or a private CA'),
  tlsRejectUnauthorized: z.boolean().describe('ftp with tls: false accepts any server certificate (default true)'),
  hostKeyFingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'expected "SHA256:" and 43 base64 characters, as `ssh-keygen -lf <key>` prints it')
    .describe('sftp: the server host key pinned for this destination; unset: learned on the first connection (trust on first use) and shown here'),
};

type DestinationFields = {
  protocol: (typeof PROTOCOLS)[number]; host?: string | null; bucket?: string | null; path?: string | null;
  tls?: string | null; tlsCa?: string | null; tlsRejectUnauthorized?: boolean | null; hostKeyFingerprint?: string | null;
};

/** What each protocol cannot do without, and settings that belong to another protocol. */
function missingFields(d: DestinationFields): FieldError[] {
  const need = (key: 'host' | 'bucket' | 'path', why: string) => (d[key] ? [] : [{ path: key, message: `${d.protocol} destinations need ${key} (${why})` }]);
  const only = (keys: readonly (keyof DestinationFields)[], protocol: string) => keys
    .filter((key) => d.protocol !== protocol && d[key] !== undefined && d[key] !== null)
    .map((key) => ({ path: key, message: `${key} applies to ${protocol} destinations only; remove it for ${d.protocol}` }));
  const misplaced = [...only(['tls', 'tlsCa', 'tlsRejectUnauthorized'], 'ftp'), ...only(['hostKeyFingerprint'], 'sftp')];
  switch (d.protocol) {
    case 'sftp': case 'ftp': return [...need('host', 'the server name or address'), ...misplaced];
    case 's3': return [...need('bucket', 'the bucket name'), ...misplaced];
    case 'file': return [...need('path', 'the local folder files are written to'), ...misplaced];
  }
}

/** The stored secrets a change must send again because it changes where they go (400 names each). */
function secretsToResend(current: StoredDestination, body: Record<string, unknown>): FieldError[] {
  const now = { ...current.settings } as Record<string, unknown>;
  const moved = TARGET_KEYS.filter((key) => body[key] !== undefined && (body[key] ?? undefined) !== (now[key] ?? undefined));
  if (moved.length === 0) return [];
  return SECRET_KEYS.filter((key) => current.secrets[key] && body[key] === undefined).map((key) => ({
    path: key,
    message: `changing ${moved.join(', ')} changes where the stored ${key} is sent: send the ${key} again in the same request (or null to remove it)`,
  }));
}

const createBody = z.object({
  name: fields.name, protocol: fields.protocol, host: fields.host.optional(), port: fields.port.optional(), path: fields.path.optional(),
  username: fields.username.optional(), password: fields.password.optional(), privateKey: fields.privateKey.optional(),
  bucket: fields.bucket.optional(), region: fields.region.optional(), endpoint: fields.endpoint.optional(), forcePathStyle: fields.forcePathStyle.optional(),
  tls: fields.tls.optional(), tlsCa: fields.tlsCa.optional(), tlsRejectUnauthorized: fields.tlsRejectUnauthorized.optional(),
  hostKeyFingerprint: fields.hostKeyFingerprint.optional(),
}).superRefine((d, ctx) => {
  for (const e of missingFields(d)) ctx.addIssue({ code: 'custom', path: [e.path], message: e.message });
});

const patchBody = z.object({
  name: fields.name.optional(), protocol: fields.protocol.optional(), host: fields.host.nullable().optional(), port: fields.port.nullable().optional(),
  path: fields.path.nullable().optional(), username: fields.username.nullable().optional(), password: fields.password.nullable().optional(),
  privateKey: fields.privateKey.nullable().optional(), bucket: fields.bucket.nullable().optional(), region: fields.region.nullable().optional(),
  endpoint: fields.endpoint.nullable().optional(), forcePathStyle: fields.forcePathStyle.nullable().optional(),
  tls: fields.tls.nullable().optional(), tlsCa: fields.tlsCa.nullable().optional(), tlsRejectUnauthorized: fields.tlsRejectUnauthorized.nullable().optional(),
  hostKeyFingerprint: fields.hostKeyFingerprint.nullable().optional(),
}).describe('only the fields sent change; null clears a field. Changing protocol, host, port, username, endpoint, TLS or host-key settings needs the stored password/privateKey sent again (400 otherwise)');

const destinationView = z.object({
  id: z.string(), name: z.string(), protocol: z.enum(PROTOCOLS),
  host: z.string().optional(), port: z.number().optional(), path: z.string().optional(), username: z.string().optional(),
  bucket: z.string().optional(), region: z.string().optional(), endpoint: z.string().optional(), forcePathStyle: z.boolean().optional(),
  tls: z.enum(['explicit', 'implicit']).optional(), tlsCa: z.string().optional(), tlsRejectUnauthorized: z.boolean().optional(),
  hostKeyFingerprint: z.string().optional().describe('sftp: the pinned host key (configured, or learned on the first connection)'),
  password: z.literal(MASK).optional(), privateKey: z.literal(MASK).optional(),
  createdAt: z.string(), updatedAt: z.string(),
}).meta({ id: 'Destination' });

function view(d: StoredDestination): z.input<typeof destinationView> {
  const settings = Object.fromEntries(SETTING_KEYS.filter((k) => d.settings[k] !== undefined && d.settings[k] !== null).map((k) => [k, d.settings[k]]));
  const masked = Object.fromEntries(SECRET_KEYS.filter((k) => d.secrets[k]).map((k) => [k, MASK]));
  return { id: d.id, name: d.name, protocol: d.settings.protocol as (typeof PROTOCOLS)[number], ...settings, ...masked, createdAt: iso(d.createdAt)!, updatedAt: iso(d.updatedAt)! };
}

const pick = <K extends string>(source: Record<string, unknown>, keys: readonly K[]) =>
  Object.fromEntries(keys.filter((k) => source[k] !== undefined && source[k] !== null).map((k) => [k, source[k]])) as Partial<Record<K, unknown>>;

function uniqueName<T>(name: string | undefined, write: () => Promise<T>): Promise<T> {
  return write().catch((err) => {
    if ((err as { code?: string }).code === '23505') throw conflict(`A destination named ${JSON.stringify(name)} already exists; pick another name.`);
    throw err;
  });
}

/** A `file` destination's folder must lie inside FILE_DESTINATION_ROOT (symlinks followed): 400 otherwise. */
async function checkFileRoot(root: string, d: DestinationFields): Promise<void> {
  if (d.protocol !== 'file') return;
  try {
    await assertInsideRoot(root, fileDestinationBase({ path: d.path ?? undefined }, root), 'write');
  } catch (err) {
    if (!(err instanceof TransferError)) throw err;
    throw badRequest(`The folder of a file destination must be inside ${root} (FILE_DESTINATION_ROOT).`, [{ path: 'path', message: err.message }]);
  }
}

export function register(r: RouteRegistry, { sql, keyring, config }: AppDeps) {
  const load = async (id: string) => {
    const d = await loadDestination(sql, keyring, id);
    if (!d) throw notFound(`Destination ${id} does not exist.`);
    return d;
  };

  defineRoute(r, {
    method: 'post', path: '/destinations', role: 'admin', status: 201, body: createBody, response: z.object({ id: z.string() }), errors: [409],
    summary: 'Create a destination; credentials are encrypted at rest and never returned',
    example: { body: { name: 'Provider SFTP', protocol: 'sftp', host: 'sftp.example.com', port: 22, path: '/incoming', username: 'cc', password: 's3cret' }, response: { id: '1' } },
  }, async ({ body }) => {
    await checkFileRoot(config.fileDestinationRoot, body);
    const settings = pick(body, SETTING_KEYS);
    const secrets = sealSecrets(keyring, pick(body, SECRET_KEYS) as DestinationSecrets);
    const [row] = await uniqueName(body.name, () => sql<{ id: string }[]>`
      insert into destinations (name, protocol, settings, secrets)
      values (${body.name}, ${body.protocol}, ${sql.json(settings as never)}, ${secrets}) returning id`);
    return { id: row.id };
  });

  defineRoute(r, {
    method: 'get', path: '/destinations', role: 'viewer', query: pageQuery, response: paged(destinationView),
    summary: 'List destinations (credentials masked)',
    example: {
      response: {
        items: [
          {
            id: '2', name: 'Provider SFTP', protocol: 'sftp', host: 'sftp.example.com', port: 22, path: '/incoming', username: 'cc',
            password: '••••', createdAt: '2025-02-10T08:30:00.000Z', updatedAt: '2025-02-10T08:30:00.000Z',
          },
          { id: '3', name: 'Archive bucket', protocol: 's3', bucket: 'cc-archive', region: 'us-east-1', path: 'recordings/', username: 'AKIAEXAMPLE', password: '••••', createdAt: '2025-02-11T12:00:00.000Z', updatedAt: '2025-02-11T12:00:00.000Z' },
        ],
        nextCursor: null,
      },
    },
  }, async ({ query }) => {
    const ids = await sql<{ id: string }[]>`
      select id from destinations where id > ${decodeCursor(query.cursor)} order by id limit ${query.limit + 1}`;
    const page = pageOf(ids, query.limit);
    const items = await Promise.all(page.items.map(async ({ id }) => view(await load(id))));
    return { items, nextCursor: page.nextCursor };
  });

  defineRoute(r, {
    method: 'get', path: '/destinations/{id}', role: 'viewer', params: idParams, response: destinationView,
    summary: 'A destination (credentials masked)',
    example: { response: {
        id: '2', name: 'Provider SFTP', protocol: 'sftp', host: 'sftp.example.com', port: 22, path: '/incoming', username: 'cc',
        password: '••••', createdAt: '2025-02-10T08:30:00.000Z', updatedAt: '2025-02-10T08:30:00.000Z',
      } },
  }, async ({ params }) => view(await load(params.id)));

  defineRoute(r, {
    method: 'patch', path: '/destinations/{id}', role: 'admin', params: idParams, body: patchBody, response: destinationView, errors: [409],
    summary: 'Change a destination; send only what changes (null clears a field, a new password replaces the old)',
    example: {
      body: { host: 'sftp2.example.com', port: 2222, password: 'n3w-s3cret' },
      response: {
        id: '2', name: 'Provider SFTP', protocol: 'sftp', host: 'sftp2.example.com', port: 2222, path: '/incoming', username: 'cc',
        password: '••••', createdAt: '2025-02-10T08:30:00.000Z', updatedAt: '2025-03-01T09:45:00.000Z',
      },
    },
  }, async ({ params, body }) => {
    const current = await load(params.id);
    const resend = secretsToResend(current, body);
    if (resend.length) throw badRequest('This change points the destination elsewhere; its stored secrets must be sent again.', resend);
    const serverChanged = SERVER_KEYS.some((key) => body[key] !== undefined && body[key] !== (key === 'protocol' ? current.settings.protocol : current.settings[key]));
    const forgetHostKey = serverChanged && body.hostKeyFingerprint === undefined ? { hostKeyFingerprint: null } : {};
    const merged = { name: current.name, ...current.settings, ...current.secrets, ...forgetHostKey, ...body } as Record<string, unknown> & DestinationFields;
    const missing = missingFields(merged);
    if (missing.length) throw badRequest('The destination would be incomplete after this change.', missing);
    await checkFileRoot(config.fileDestinationRoot, merged);
    await updateDestination(sql, params.id, merged, sealSecrets(keyring, pick(merged, SECRET_KEYS) as DestinationSecrets));
    return view(await load(params.id));
  });

  defineRoute(r, {
    method: 'delete', path: '/destinations/{id}', role: 'admin', params: idParams,
    summary: 'Delete a destination',
  }, async ({ params }) => {
    const rows = await sql`delete from destinations where id = ${params.id} returning id`;
    if (rows.length === 0) throw notFound(`Destination ${params.id} does not exist.`);
  });

  defineRoute(r, {
    method: 'post', path: '/destinations/{id}/test', role: 'operator', params: idParams, response: destinationTested, errors: [422],
    summary: 'Check connection, authentication and write access (writes and removes a probe file); 422 names the failing stage. ' +
      'An sftp destination without a pinned host key pins the one it meets here',
    example: { response: { ok: true } },
  }, async ({ params }) => {
    await load(params.id);
    return testDestination(sql, keyring, params.id);
  });
}

export const destinationTested = z.object({ ok: z.literal(true) });

/** Connects to the destination, logs in, writes and removes a probe file (a destination's test, and a job's of its
 *  destination); a failure is 422 naming the failing stage. */
export async function testDestination(sql: Sql, keyring: Keyring, destinationId: string): Promise<z.input<typeof destinationTested>> {
  const transfer = await openDestination(sql, keyring, destinationId);
  try {
    await transfer.test();
  } catch (err) {
    const stage = err instanceof TransferError ? err.stage : 'connect';
    throw new Problem(422, `The ${stage} step failed: ${(err as Error).message}`, { title: 'Destination test failed', type: 'destination-test-failed', extensions: { stage } });
  } finally {
    await transfer.close().catch(() => {});
  }
  return { ok: true as const };
}

async function updateDestination(sql: Sql, id: string, merged: Record<string, unknown>, secrets: string | null) {
  await uniqueName(merged.name as string, () => sql`
    update destinations set name = ${merged.name as string}, protocol = ${merged.protocol as string},
      settings = ${sql.json(pick(merged, SETTING_KEYS) as never)}, secrets = ${secrets}, updated_at = now()
    where id = ${id}`);
}
