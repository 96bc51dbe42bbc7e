// The Salesforce stand-in (test/harness/salesforce-standin.ts) as jsforce sees it: the login flows, describe,
// create and upsert one and in collections, the 200-record limit, Salesforce's error shapes, an expired session
// that jsforce logs in again for, and how lib/failures.ts judges each error. Every other Salesforce test relies
// on these answers being Salesforce's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { classifyFailure } from '../lib/failures.js';
import { openSalesforce } from '../lib/salesforce/connection.js';
import type { SalesforceAccount } from '../lib/salesforce/accounts.js';
import { sendChunk } from '../lib/salesforce/send.js';
import { startSalesforceStandin, type SalesforceStandin } from './harness/salesforce-standin.js';

let sf: SalesforceStandin;
const account = (over: Partial<SalesforceAccount> & { password?: string; securityToken?: string; clientSecret?: string } = {}): SalesforceAccount => ({
  id: '1', name: 'sf', loginUrl: sf.url, username: 'ops@example.com', clientId: over.clientId ?? null, createdAt: new Date(), updatedAt: new Date(),
  secrets: { password: over.password ?? 'pw', securityToken: over.securityToken ?? 'TOKEN', clientSecret: over.clientSecret }, ...(over.loginUrl ? { loginUrl: over.loginUrl } : {}),
});

before(async () => {
  sf = await startSalesforceStandin({
    users: [{ username: 'ops@example.com', password: 'pw', securityToken: 'TOKEN', clientId: 'cid', clientSecret: 'csecret' }],
    objects: {
      Call_Result__c: [
        { name: 'Name', type: 'string', nillable: false, length: 80 },
        { name: 'Result_Key__c', type: 'string', externalId: true, unique: true },
        { name: 'Attempts__c', type: 'double' },
        { name: 'Closed__c', type: 'datetime' },
        { name: 'Formula__c', type: 'string', createable: false },
      ],
    },
  });
});
after(async () => sf?.close());

describe('the Salesforce stand-in, through jsforce', () => {
  it('logs in by SOAP with password + security token, and by OAuth2 with a client; a wrong token is INVALID_LOGIN (permanent)', async () => {
    const soap = await openSalesforce(account());
    assert.ok(soap.accessToken);
    assert.equal(soap.instanceUrl, sf.url);
    const oauth = await openSalesforce(account({ clientId: 'cid', clientSecret: 'csecret' }));
    assert.ok(oauth.accessToken);
    const err = await openSalesforce(account({ securityToken: 'WRONG' })).catch((e: unknown) => e);
    assert.match((err as Error).message, /^INVALID_LOGIN: Invalid username, password, security token/);
    assert.equal(classifyFailure('salesforce', err), 'permanent');
    const oauthErr = await openSalesforce(account({ clientId: 'cid', clientSecret: 'nope' })).catch((e: unknown) => e);
    assert.equal((oauthErr as Error).name, 'invalid_client_id');
    assert.equal(classifyFailure('salesforce', oauthErr), 'permanent');
  });

  it('describes an object with the properties a mapping is checked against', async () => {
    const conn = await openSalesforce(account());
    const d = await conn.describe('Call_Result__c');
    const byName = Object.fromEntries(d.fields.map((f) => [f.name, f]));
    assert.equal(byName.Name.nillable, false);
    assert.equal(byName.Result_Key__c.externalId, true);
    assert.equal(byName.Formula__c.createable, false);
    assert.equal(byName.Attempts__c.type, 'double');
    const missing = await conn.describe('Nope__c').catch((e: unknown) => e);
    assert.equal((missing as { errorCode: string }).errorCode, 'NOT_FOUND');
  });

  it('creates one record, and answers a bad one with Salesforce errors', async () => {
    const conn = await openSalesforce(account());
    const created = await conn.sobject('Call_Result__c').create({ Name: 'one', Attempts__c: 2 });
    assert.equal(created.success, true);
    assert.match(created.id!, /^a0X/);
    const required = await conn.sobject('Call_Result__c').create({ Attempts__c: 2 }).catch((e: unknown) => e) as { errorCode: string; message: string };
    assert.equal(required.errorCode, 'REQUIRED_FIELD_MISSING');
    assert.equal(required.message, 'Required fields are missing: [Name]');
    const unknown = await conn.sobject('Call_Result__c').create({ Name: 'x', Nope__c: 1 }).catch((e: unknown) => e) as { errorCode: string };
    assert.equal(unknown.errorCode, 'INVALID_FIELD');
    assert.equal(classifyFailure('salesforce', unknown), 'permanent');
  });

  it('creates and upserts collections of up to 200 records; per-record errors come back per record; 201 is refused', async () => {
    const conn = await openSalesforce(account());
    const records = Array.from({ length: 200 }, (_, i) => ({ Name: `r${i}`, Result_Key__c: `k${i}` }));
    records[5] = { Name: '', Result_Key__c: 'k5' };
    const results = await conn.sobject('Call_Result__c').create(records);
    assert.equal(results.length, 200);
    assert.equal(results.filter((r) => r.success).length, 199);
    assert.deepEqual(results[5], { success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] }] });
    const dup = await conn.sobject('Call_Result__c').create([{ Name: 'd', Result_Key__c: 'k0' }]);
    assert.equal((dup[0] as { errors: { statusCode: string }[] }).errors[0].statusCode, 'DUPLICATE_VALUE');
    const upserted = await conn.sobject('Call_Result__c').upsert([{ Name: 'r0 again', Result_Key__c: 'k0' }, { Name: 'new', Result_Key__c: 'k-new' }], 'Result_Key__c');
    assert.deepEqual(upserted.map((r) => [r.success, (r as { created?: boolean }).created]), [[true, false], [true, true]]);
    assert.equal(sf.records('Call_Result__c').find((r) => r.Result_Key__c === 'k0')!.Name, 'r0 again');
    const tooMany = await conn.sobject('Call_Result__c').create(Array.from({ length: 201 }, (_, i) => ({ Name: `t${i}` }))).catch((e: unknown) => e) as { errorCode: string };
    assert.equal(tooMany.errorCode, 'EXCEEDED_ID_LIMIT');
    const found = await conn.query<{ Id: string }>("SELECT Id, Result_Key__c FROM Call_Result__c WHERE Result_Key__c IN ('k1', 'k2', 'zz')");
    assert.equal(found.totalSize, 2);
  });

  it('an expired session is logged in again by jsforce and the request sent once more; limits and 5xx are transient', async () => {
    const conn = await openSalesforce(account());
    const logins = sf.counts.logins;
    sf.expireSessions();
    const created = await conn.sobject('Call_Result__c').create([{ Name: 'after expiry' }]);
    assert.equal(created[0].success, true);
    assert.equal(sf.counts.logins, logins + 1);
    sf.failNext('request-limit');
    const limited = await conn.sobject('Call_Result__c').create([{ Name: 'limited' }]).catch((e: unknown) => e) as { errorCode: string };
    assert.equal(limited.errorCode, 'REQUEST_LIMIT_EXCEEDED');
    assert.equal(classifyFailure('salesforce', limited), 'transient');
    sf.failNext('unavailable');
    const down = await conn.sobject('Call_Result__c').create([{ Name: 'down' }]).catch((e: unknown) => e);
    assert.equal(classifyFailure('salesforce', down), 'transient');
    assert.equal(sf.records('Call_Result__c').filter((r) => r.Name === 'limited' || r.Name === 'down').length, 0, 'a refused request creates nothing');
  });

  it('sendChunk: a record without its external id fails alone with the key named; the others are upserted', async () => {
    const conn = await openSalesforce(account());
    const outcomes = await sendChunk(conn, 'Call_Result__c', 'Result_Key__c', [
      { key: 'one', record: { Name: 'keyed', Result_Key__c: 'send-1' } },
      { key: 'two', record: { Name: 'keyless', Result_Key__c: null } },
      { key: 'three', record: { Name: '', Result_Key__c: 'send-3' } },
    ]);
    assert.equal(outcomes.length, 3);
    assert.deepEqual(outcomes.map((o) => o.key), ['one', 'two', 'three']);
    assert.ok(outcomes[0].salesforceId && outcomes[0].created);
    assert.match(outcomes[1].error!, /^MISSING_EXTERNAL_ID/);
    assert.match(outcomes[2].error!, /^REQUIRED_FIELD_MISSING/);
    assert.equal(sf.records('Call_Result__c').filter((r) => r.Name === 'keyless').length, 0);
  });
});
