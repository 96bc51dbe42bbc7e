// A local stand-in for the part of Salesforce that jsforce 3 (and so lib/salesforce/) uses. Salesforce itself
// cannot be reached from here: every Salesforce test in this repository runs against this server, which answers
// with Salesforce's own wire shapes as jsforce reads them (node_modules/jsforce/lib/connection.js, http-api.js):
//
// - SOAP login `POST /services/Soap/u/<version>` (password + security token) → <sessionId>, <serverUrl>;
//   a bad login is a SOAP fault `INVALID_LOGIN`.
// - OAuth2 `POST /services/oauth2/token`: grant_type=password (client id/secret + username/password+token)
//   and client_credentials → { access_token, instance_url, id }; refused as { error: 'invalid_grant' }.
// - `GET /services/data/vXX.X/sobjects/<Object>/describe` (fields with type, createable, updateable, nillable,
//   defaultedOnCreate, externalId, unique, length).
// - create one `POST …/sobjects/<Object>`; upsert one `PATCH …/sobjects/<Object>/<extField>/<value>`;
//   sObject Collections create `POST …/composite/sobjects` and upsert `PATCH …/composite/sobjects/<Object>/<extField>`
//   (at most 200 records, EXCEEDED_ID_LIMIT beyond); a minimal `GET …/query?q=SELECT Id, F FROM O WHERE F IN (…)`.
// - Errors as Salesforce writes them: request errors `[{ message, errorCode, fields? }]`; per-record errors in
//   collections `{ success: false, errors: [{ statusCode, message, fields }] }` (INVALID_FIELD,
//   INVALID_FIELD_FOR_INSERT_UPDATE, REQUIRED_FIELD_MISSING, DUPLICATE_VALUE, INVALID_TYPE_ON_FIELD_IN_RECORD,
//   STRING_TOO_LONG); 401 INVALID_SESSION_ID for an unknown or expired session; 403 REQUEST_LIMIT_EXCEEDED and
//   5xx on demand (`failNext`), and `expireSessions()` to end every session now.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FieldType = 'string' | 'textarea' | 'email' | 'phone' | 'picklist' | 'id' | 'reference' | 'double' | 'int' | 'currency' | 'percent' | 'boolean' | 'date' | 'datetime';

export interface StandinField {
  name: string;
  type: FieldType;
  createable?: boolean;
  updateable?: boolean;
  nillable?: boolean;
  defaultedOnCreate?: boolean;
  externalId?: boolean;
  unique?: boolean;
  length?: number;
}

export interface StandinUser { username: string; password: string; securityToken?: string; clientId?: string; clientSecret?: string }

export type Fault = 'server-error' | 'unavailable' | 'request-limit' | 'invalid-session';

export interface SalesforceStandin {
  url: string;
  /** Records of an object, in creation order. */
  records(object: string): Record<string, unknown>[];
  /** Add an object (its Id, Name, CreatedDate fields come on top of `fields`). */
  defineObject(name: string, fields: StandinField[]): void;
  /** The next `count` data API requests (those matching `path`, when given) answer with this fault. */
  failNext(fault: Fault, count?: number, path?: RegExp): void;
  /** Every session issued so far is invalid from now on (INVALID_SESSION_ID), as after a timeout. */
  expireSessions(): void;
  /** Called after a collection request was applied and before its response is written (a test can block here). */
  afterCollectionApplied?: (records: number) => Promise<void>;
  /** Counters: logins, data requests, collection requests, records created, records updated. */
  counts: { logins: number; requests: number; collections: number; created: number; updated: number };
  close(): Promise<void>;
}

const BASE_FIELDS: StandinField[] = [
  { name: 'Id', type: 'id', createable: false, updateable: false, nillable: false, defaultedOnCreate: true },
  { name: 'CreatedDate', type: 'datetime', createable: false, updateable: false, nillable: false, defaultedOnCreate: true },
];

const ORG_ID = '00D000000000001AAA';
const USER_ID = '005000000000001AAA';

interface ApiError { message: string; errorCode: string; fields?: string[] }

class RequestError extends Error {
  constructor(readonly status: number, readonly errors: ApiError[]) { super(errors[0]?.message); }
}

export async function startSalesforceStandin(options: { users: StandinUser[]; objects?: Record<string, StandinField[]> }): Promise<SalesforceStandin> {
  const objects = new Map<string, { fields: StandinField[]; records: Record<string, unknown>[] }>();
  const sessions = new Set<string>();
  const faults: { fault: Fault; path?: RegExp }[] = [];
  let sequence = 0;
  const counts = { logins: 0, requests: 0, collections: 0, created: 0, updated: 0 };

  const standin: SalesforceStandin = {
    url: '',
    records: (object) => [...(objects.get(object)?.records ?? [])],
    defineObject(name, fields) { objects.set(name, { fields: [...BASE_FIELDS, ...fields], records: [] }); },
    failNext(fault, count = 1, path) { for (let i = 0; i < count; i++) faults.push({ fault, path }); },
    expireSessions() { sessions.clear(); },
    counts,
    close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())); },
  };
  for (const [name, fields] of Object.entries(options.objects ?? {})) standin.defineObject(name, fields);

  const newSession = () => {
    counts.logins++;
    const token = `${ORG_ID}!${randomBytes(24).toString('base64url')}`;
    sessions.add(token);
    return token;
  };
  const findUser = (username: string, password: string) => options.users.find((u) => u.username === username && `${u.password}${u.securityToken ?? ''}` === password);

  const newId = (prefix: string) => `${prefix}${String(++sequence).padStart(15 - prefix.length, '0')}AAA`.slice(0, 18);

  function object(name: string) {
    const found = objects.get(name);
    if (!found) throw new RequestError(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    return found;
  }

  function describe(name: string) {
    const { fields } = object(name);
    return {
      name, label: name, custom: name.endsWith('__c'), createable: true, updateable: true, queryable: true,
      fields: fields.map((f) => ({
        name: f.name, label: f.name, type: f.type, length: f.length ?? (['string', 'textarea', 'email', 'phone', 'picklist'].includes(f.type) ? 255 : 0),
        createable: f.createable ?? true, updateable: f.updateable ?? f.createable ?? true, nillable: f.nillable ?? true,
        defaultedOnCreate: f.defaultedOnCreate ?? false, externalId: f.externalId ?? false, idLookup: (f.externalId ?? false) || f.name === 'Id',
        unique: f.unique ?? false, custom: f.name.endsWith('__c'),
      })),
    };
  }

  /** Per-record validation: the errors Salesforce reports for one record of a save. */
  function recordErrors(name: string, record: Record<string, unknown>, existing?: Record<string, unknown>): ApiError[] {
    const { fields, records } = object(name);
    const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
    const errors: ApiError[] = [];
    for (const [key, value] of Object.entries(record)) {
      const field = byName.get(key.toLowerCase());
      if (!field) { errors.push({ errorCode: 'INVALID_FIELD', message: `No such column '${key}' on sobject of type ${name}`, fields: [key] }); continue; }
      if (existing ? (field.updateable ?? field.createable ?? true) === false : (field.createable ?? true) === false) {
        errors.push({ errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', message: `Unable to create/update fields: ${field.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, fields: [field.name] });
        continue;
      }
      if (value !== null && !valueFits(field.type, value)) {
        errors.push({ errorCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD', message: `${field.name}: value not of required type: ${String(value)}`, fields: [field.name] });
      } else if (typeof value === 'string' && field.length && value.length > field.length) {
        errors.push({ errorCode: 'STRING_TOO_LONG', message: `${field.name}: data value too large: ${value.slice(0, 20)}... (max length=${field.length})`, fields: [field.name] });
      }
    }
    if (!existing) {
      const missing = fields.filter((f) => f.nillable === false && !f.defaultedOnCreate && (f.createable ?? true) && (record[f.name] === undefined || record[f.name] === null || record[f.name] === ''));
      if (missing.length) errors.push({ errorCode: 'REQUIRED_FIELD_MISSING', message: `Required fields are missing: [${missing.map((f) => f.name).join(', ')}]`, fields: missing.map((f) => f.name) });
    }
    for (const field of fields.filter((f) => f.unique && record[f.name] !== undefined && record[f.name] !== null)) {
      const other = records.find((r) => r !== existing && r[field.name] === record[field.name]);
      if (other) errors.push({ errorCode: 'DUPLICATE_VALUE', message: `duplicate value found: ${field.name} duplicates value on record with id: ${String(other.Id)}`, fields: [field.name] });
    }
    return errors;
  }

  function insert(name: string, record: Record<string, unknown>): { id?: string; errors: ApiError[] } {
    const errors = recordErrors(name, record);
    if (errors.length) return { errors };
    const canonical = canonicalNames(name, record);
    const id = newId('a0X');
    object(name).records.push({ ...canonical, Id: id, CreatedDate: new Date().toISOString() });
    counts.created++;
    return { id, errors: [] };
  }

  function upsert(name: string, extField: string, record: Record<string, unknown>): { id?: string; created?: boolean; errors: ApiError[] } {
    const field = object(name).fields.find((f) => f.name.toLowerCase() === extField.toLowerCase());
    if (!field || !(field.externalId || field.name === 'Id')) {
      throw new RequestError(400, [{ errorCode: 'NOT_FOUND', message: `Provided external ID field does not exist or is not accessible: ${extField}` }]);
    }
    const value = record[extField] ?? record[field.name];
    if (value === undefined || value === null || value === '') return { errors: [{ errorCode: 'MISSING_ARGUMENT', message: `${field.name} not specified`, fields: [field.name] }] };
    const matches = object(name).records.filter((r) => r[field.name] === value);
    if (matches.length > 1) return { errors: [{ errorCode: 'DUPLICATE_EXTERNAL_ID', message: `${field.name}: more than one record found for external id field: ${matches.map((m) => String(m.Id)).join(', ')}`, fields: [field.name] }] };
    const [existing] = matches;
    if (!existing) {
      const inserted = insert(name, record);
      return { ...inserted, created: inserted.id !== undefined };
    }
    const { [extField]: _key, ...changes } = record;
    const errors = recordErrors(name, changes, existing);
    if (errors.length) return { errors };
    Object.assign(existing, canonicalNames(name, changes));
    counts.updated++;
    return { id: String(existing.Id), created: false, errors: [] };
  }

  function canonicalNames(name: string, record: Record<string, unknown>): Record<string, unknown> {
    const byName = new Map(object(name).fields.map((f) => [f.name.toLowerCase(), f.name]));
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [byName.get(k.toLowerCase()) ?? k, v]));
  }

  const saveResult = (r: { id?: string; created?: boolean; errors: ApiError[] }) => ({
    ...(r.id ? { id: r.id } : {}), success: r.errors.length === 0,
    errors: r.errors.map((e) => ({ statusCode: e.errorCode, message: e.message, fields: e.fields ?? [] })),
    ...(r.created !== undefined ? { created: r.created } : {}),
  });

  async function collection(body: { allOrNone?: boolean; records?: Record<string, unknown>[] }, save: (record: Record<string, unknown>, type: string) => ReturnType<typeof upsert>) {
    const records = body.records ?? [];
    if (records.length > 200) {
      throw new RequestError(400, [{ errorCode: 'EXCEEDED_ID_LIMIT', message: 'record limit reached. cannot submit more than 200 records into this call', fields: [] }]);
    }
    counts.collections++;
    const results = records.map((r) => {
      const { attributes, ...fields } = r as { attributes?: { type?: string } };
      return saveResult(save(fields, attributes?.type ?? ''));
    });
    await standin.afterCollectionApplied?.(records.length);
    return results;
  }

  function query(q: string) {
    // Enough SOQL for a lookup by key: SELECT Id, F FROM O WHERE F IN ('a', 'b') (or F = 'a').
    const m = /^SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s+(?:IN\s*\((.*)\)|=\s*('(?:[^'\\]|\\.)*'))\s*$/i.exec(q.trim());
    if (!m) throw new RequestError(400, [{ errorCode: 'MALFORMED_QUERY', message: `unexpected token in: ${q.slice(0, 80)}` }]);
    const [, select, name, where, list, single] = m;
    const values = [...(list ?? single).matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((v) => v[1].replace(/\\(.)/g, '$1'));
    const columns = select.split(',').map((c) => c.trim());
    const rows = object(name).records.filter((r) => values.includes(String(r[where])))
      .map((r) => ({ attributes: { type: name, url: `/services/data/v59.0/sobjects/${name}/${String(r.Id)}` }, ...Object.fromEntries(columns.map((c) => [c, r[c] ?? null])) }));
    return { totalSize: rows.length, done: true, records: rows };
  }

  function takeFault(path: string): Fault | undefined {
    const index = faults.findIndex((f) => !f.path || f.path.test(path));
    return index < 0 ? undefined : faults.splice(index, 1)[0].fault;
  }

  async function data(method: string, path: string, url: URL, body: unknown) {
    const route = path.replace(/^\/services\/data\/v\d+\.\d+/, '');
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/sobjects\/(\w+)\/describe\/?$/.exec(route))) return [200, describe(m[1])] as const;
    if (method === 'GET' && route === '/query') return [200, query(url.searchParams.get('q') ?? '')] as const;
    if (method === 'POST' && (m = /^\/sobjects\/(\w+)\/?$/.exec(route))) {
      const name = m[1];
      const result = insert(name, body as Record<string, unknown>);
      if (!result.id) throw new RequestError(400, result.errors);
      return [201, { id: result.id, success: true, errors: [] }] as const;
    }
    if (method === 'PATCH' && (m = /^\/sobjects\/(\w+)\/(\w+)\/([^/]+)$/.exec(route))) {
      const [, name, extField, value] = m;
      const result = upsert(name, extField, { ...(body as Record<string, unknown>), [extField]: decodeURIComponent(value) });
      if (!result.id) throw new RequestError(400, result.errors);
      return [result.created ? 201 : 200, { id: result.id, success: true, errors: [], created: result.created }] as const;
    }
    if (method === 'POST' && route === '/composite/sobjects') {
      return [200, await collection(body as { records?: Record<string, unknown>[] }, (r, type) => insert(type, r))] as const;
    }
    if (method === 'PATCH' && (m = /^\/composite\/sobjects\/(\w+)\/(\w+)$/.exec(route))) {
      const [, name, extField] = m;
      return [200, await collection(body as { records?: Record<string, unknown>[] }, (r) => upsert(name, extField, r))] as const;
    }
    throw new RequestError(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string) {
    const url = new URL(req.url ?? '/', standin.url);
    const path = url.pathname;
    if (req.method === 'POST' && /^\/services\/Soap\/u\/\d+\.\d+/.test(path)) return soapLogin(res, raw);
    if (req.method === 'POST' && path === '/services/oauth2/token') return oauthToken(res, new URLSearchParams(raw));
    if (!path.startsWith('/services/data/')) return json(res, 404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    counts.requests++;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const fault = token && sessions.has(token) ? takeFault(path) : undefined;
    if (!token || !sessions.has(token) || fault === 'invalid-session') {
      if (fault === 'invalid-session' && token) sessions.delete(token);
      return json(res, 401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }
    if (fault === 'request-limit') return json(res, 403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    if (fault === 'server-error') return json(res, 500, [{ message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-8901 (-12345678)', errorCode: 'UNKNOWN_EXCEPTION' }]);
    if (fault === 'unavailable') return json(res, 503, [{ message: 'Server temporarily unavailable', errorCode: 'SERVER_UNAVAILABLE' }]);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return json(res, 400, [{ errorCode: 'JSON_PARSER_ERROR', message: 'Unexpected character: was expecting a JSON value' }]);
    }
    try {
      const [status, payload] = await data(req.method ?? 'GET', path, url, body);
      return json(res, status, payload);
    } catch (err) {
      if (err instanceof RequestError) return json(res, err.status, err.errors);
      throw err;
    }
  }

  function soapLogin(res: ServerResponse, xml: string) {
    const tag = (name: string) => unescapeXml(new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? '');
    const user = findUser(tag('username'), tag('password'));
    res.setHeader('content-type', 'text/xml; charset=utf-8');
    if (!user) {
      res.statusCode = 500;
      return res.end('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>');
    }
    const sessionId = newSession();
    res.statusCode = 200;
    return res.end(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result><metadataServerUrl>${standin.url}/services/Soap/m/59.0/${ORG_ID}</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox><serverUrl>${standin.url}/services/Soap/u/59.0/${ORG_ID}</serverUrl><sessionId>${sessionId}</sessionId><userId>${USER_ID}</userId><userInfo><organizationId>${ORG_ID}</organizationId><userName>${user.username}</userName></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>`);
  }

  function oauthToken(res: ServerResponse, form: URLSearchParams) {
    const grant = form.get('grant_type');
    const client = options.users.find((u) => u.clientId && u.clientId === form.get('client_id') && u.clientSecret === form.get('client_secret'));
    const user = grant === 'password' ? findUser(form.get('username') ?? '', form.get('password') ?? '') : client;
    if (grant !== 'password' && grant !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    if (!client) return json(res, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
    if (!user || (grant === 'password' && user.clientId !== client.clientId)) return json(res, 400, { error: 'invalid_grant', error_description: 'authentication failure' });
    return json(res, 200, {
      access_token: newSession(), instance_url: standin.url, id: `${standin.url}/id/${ORG_ID}/${USER_ID}`, token_type: 'Bearer',
      issued_at: String(Date.now()), signature: randomBytes(32).toString('base64'),
    });
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: (err as Error).message }]);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  standin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return standin;
}

function valueFits(type: FieldType, value: unknown): boolean {
  switch (type) {
    case 'double': case 'int': case 'currency': case 'percent':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)));
    case 'boolean': return typeof value === 'boolean' || value === 'true' || value === 'false';
    case 'date': return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
    case 'datetime': return typeof value === 'string' && !Number.isNaN(Date.parse(value));
    default: return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
  }
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json;charset=UTF-8');
  res.end(JSON.stringify(body));
}
