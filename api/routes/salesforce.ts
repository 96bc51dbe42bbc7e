// Salesforce integration accounts and periodic Salesforce export jobs (seed 000 Results tab; API.md "Campaign
// results"). Account secrets (password, security token, client secret) are sealed on the way in and never
// leave again: reads show "••••" where one is set. The account test and the job's mapping check and test object
// talk to Salesforce right here: quick probes, not jobs (lib/salesforce/probe.ts).
import { z } from 'zod';
import { loadAccount, sealAccountSecrets, type SalesforceAccount } from '../../lib/salesforce/accounts.js';
import { ledgerErrors } from '../../lib/salesforce/ledger.js';
import { withSalesforce } from '../../lib/salesforce/probe.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound } from '../problem.js';
import { decodeCursor, idParams, iso, pageOf, pageQuery, paged } from '../schemas.js';
import { probeProblem, registerSalesforceExportJobs } from './salesforce-export-jobs.js';

const MASK = '••••';

const accountBody = z.object({
  name: z.string().trim().min(1).max(200),
  loginUrl: z.url().max(1024).describe('e.g. https://login.salesforce.com, https://test.salesforce.com or a My Domain URL'),
  username: z.string().min(1).max(255),
  password: z.string().min(1).max(4096).describe('never returned'),
  securityToken: z.string().min(1).max(255).optional().describe('appended to the password for a SOAP login; never returned'),
  clientId: z.string().min(1).max(1024).optional().describe('OAuth connected app consumer key: with clientSecret, login is the OAuth2 username-password flow'),
  clientSecret: z.string().min(1).max(1024).optional().describe('never returned'),
}).superRefine((body, ctx) => {
  if ((body.clientId === undefined) !== (body.clientSecret === undefined)) {
    ctx.addIssue({ code: 'custom', path: [body.clientId === undefined ? 'clientId' : 'clientSecret'], message: 'clientId and clientSecret go together (an OAuth client), or neither' });
  }
});

const accountView = z.object({
  id: z.string(), name: z.string(), loginUrl: z.string(), username: z.string(), clientId: z.string().optional(),
  password: z.literal(MASK), securityToken: z.literal(MASK).optional(), clientSecret: z.literal(MASK).optional(),
  createdAt: z.string(), updatedAt: z.string(),
}).meta({ id: 'SalesforceAccount' });

function view(a: SalesforceAccount): z.input<typeof accountView> {
  return {
    id: a.id, name: a.name, loginUrl: a.loginUrl, username: a.username, ...(a.clientId ? { clientId: a.clientId } : {}), password: MASK,
    ...(a.secrets.securityToken ? { securityToken: MASK } : {}), ...(a.secrets.clientSecret ? { clientSecret: MASK } : {}),
    createdAt: iso(a.createdAt)!, updatedAt: iso(a.updatedAt)!,
  };
}

export function register(r: RouteRegistry, deps: AppDeps) {
  const { sql, keyring } = deps;
  const load = async (id: string) => {
    const account = await loadAccount(sql, keyring, id);
    if (!account) throw notFound(`Salesforce account ${id} does not exist.`);
    return account;
  };

  defineRoute(r, {
    method: 'post', path: '/salesforce-accounts', role: 'admin', status: 201, body: accountBody, response: z.object({ id: z.string() }), errors: [409],
    summary: 'Create a Salesforce integration account; password, security token and client secret are encrypted at rest and never returned',
    example: { body: { name: 'Sales org', loginUrl: 'https://login.salesforce.com', username: 'integration@example.com', password: 's3cret', securityToken: 'AbCdEf123' }, response: { id: '1' } },
  }, async ({ body }) => {
    const secrets = sealAccountSecrets(keyring, { password: body.password, securityToken: body.securityToken, clientSecret: body.clientSecret });
    const [row] = await sql<{ id: string }[]>`
      insert into salesforce_accounts (name, login_url, username, client_id, secrets)
      values (${body.name}, ${body.loginUrl}, ${body.username}, ${body.clientId ?? null}, ${secrets}) returning id`
      .catch((err: unknown) => {
        if ((err as { code?: string }).code === '23505') throw conflict(`A Salesforce account named ${JSON.stringify(body.name)} already exists; pick another name.`);
        throw err;
      });
    return { id: row.id };
  });

  defineRoute(r, {
    method: 'get', path: '/salesforce-accounts', role: 'viewer', query: pageQuery, response: paged(accountView),
    summary: 'List Salesforce integration accounts (secrets masked)',
    example: { response: { items: [{ id: '1', name: 'Sales org', loginUrl: 'https://login.salesforce.com', username: 'integration@example.com', password: MASK, securityToken: MASK, createdAt: '2025-03-01T09:00:00.000Z', updatedAt: '2025-03-01T09:00:00.000Z' }], nextCursor: null } },
  }, async ({ query }) => {
    const ids = await sql<{ id: string }[]>`select id from salesforce_accounts where id > ${decodeCursor(query.cursor)} order by id limit ${query.limit + 1}`;
    const page = pageOf(ids, query.limit);
    return { items: await Promise.all(page.items.map(async ({ id }) => view(await load(id)))), nextCursor: page.nextCursor };
  });

  defineRoute(r, {
    method: 'get', path: '/salesforce-accounts/{id}', role: 'viewer', params: idParams, response: accountView,
    summary: 'A Salesforce integration account (secrets masked)',
    example: { response: { id: '1', name: 'Sales org', loginUrl: 'https://login.salesforce.com', username: 'integration@example.com', password: MASK, securityToken: MASK, createdAt: '2025-03-01T09:00:00.000Z', updatedAt: '2025-03-01T09:00:00.000Z' } },
  }, async ({ params }) => view(await load(params.id)));

  defineRoute(r, {
    method: 'delete', path: '/salesforce-accounts/{id}', role: 'admin', params: idParams, errors: [409],
    summary: 'Delete a Salesforce integration account; 409 while an export job uses it',
  }, async ({ params }) => {
    await load(params.id);
    const users = await sql<{ id: string }[]>`
      select id from job_definitions where kind = 'salesforce-export' and config->>'accountId' = ${params.id} order by id limit 20`;
    if (users.length) throw conflict(`Salesforce account ${params.id} is used by export job(s) ${users.map((u) => u.id).join(', ')}; change or delete them first.`);
    await sql`delete from salesforce_accounts where id = ${params.id}`;
  });

  defineRoute(r, {
    method: 'post', path: '/salesforce-accounts/{id}/test', role: 'operator', params: idParams, response: z.object({ ok: z.literal(true) }), errors: [422],
    summary: 'Log in to Salesforce with the account; 422 with Salesforce\'s message (e.g. INVALID_LOGIN) when it fails',
    example: { response: { ok: true } },
  }, async ({ params }) => {
    const account = await load(params.id);
    await withSalesforce(account, async () => undefined).catch(probeProblem);
    return { ok: true as const };
  });

  defineRoute(r, {
    method: 'get', path: '/salesforce-export-jobs/{id}/record-errors', role: 'viewer', params: idParams, query: recordErrorsQuery,
    response: paged(recordErrorView),
    summary: 'Every result of the job Salesforce refused or whose outcome is unknown (of one run with runId), paged: none is dropped',
    description: 'A run\'s result lists only its first 1000 record errors (`errorsTruncated` counts the rest) and names this path in '
      + '`errorsPath`; here are all of them, from the job\'s ledger, by result key. An error stays until the job sends the result again '
      + '(after `fieldMap`, `object` or `exportCreatedAfter` change) or the job is deleted.',
    example: {
      response: {
        items: [{ key: 'r812-1740823200000', clientId: 'C0812', error: 'REQUIRED_FIELD_MISSING: Required fields are missing: [Name] [Name]', state: 'failed', runId: 'salesforce-export/9/2025-03-01T10:15:00.000Z', closedAt: '2025-03-01T10:00:00.000Z' }],
        nextCursor: 'cjgxMi0xNzQwODIzMjAwMDAw',
      },
    },
  }, async ({ params, query }) => {
    const [job] = await sql`select 1 from job_definitions where id = ${params.id} and kind = 'salesforce-export'`;
    if (!job) throw notFound(`Salesforce export job ${params.id} does not exist.`);
    const after = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString('utf8');
    const rows = await ledgerErrors(sql, params.id, { runId: query.runId, after, limit: query.limit + 1 });
    const items = rows.slice(0, query.limit);
    return {
      items: items.map((e) => ({ key: e.key, clientId: e.clientId, error: e.error, state: e.state, runId: e.runId, closedAt: iso(e.closedAt) })),
      nextCursor: rows.length > query.limit ? Buffer.from(items[items.length - 1].key, 'utf8').toString('base64url') : null,
    };
  });

  registerSalesforceExportJobs(r, deps);
}

const recordErrorsQuery = pageQuery.extend({
  runId: z.string().min(1).max(300).optional().describe('only the errors of this run (its runId); omitted: every error of the job'),
});

const recordErrorView = z.object({
  key: z.string().describe('the result\'s key in the job\'s ledger (r<contactId>-<closing time> in simple, a<attemptId> in detailed)'),
  clientId: z.string().nullable(), error: z.string().describe('Salesforce\'s error, or why the outcome is unknown'),
  state: z.enum(['failed', 'unknown']), runId: z.string().describe('the run that last tried the result'), closedAt: z.string().nullable(),
}).meta({ id: 'SalesforceRecordError' });
