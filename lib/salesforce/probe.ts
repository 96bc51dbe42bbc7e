// The quick checks the API makes against Salesforce itself (like a destination's connection test, a probe and
// not a job): an account's login, an object's describe for validating a mapping, and "test by creating object".
import { errorMessage } from '../../shared/error-message.js';
import { classifyFailure } from '../failures.js';
import type { SalesforceAccount } from './accounts.js';
import { openSalesforce, type SalesforceConnection } from './connection.js';
import type { DescribedObject } from './mapping.js';

export class SalesforceProbeError extends Error {
  constructor(readonly stage: 'login' | 'describe' | 'create', readonly permanent: boolean, cause: unknown) {
    super(`${stage} failed: ${errorMessage(cause)}`, { cause });
    this.name = 'SalesforceProbeError';
  }
}

async function stage<T>(name: SalesforceProbeError['stage'], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new SalesforceProbeError(name, classifyFailure('salesforce', err) === 'permanent', err);
  }
}

export async function withSalesforce<T>(account: SalesforceAccount, work: (conn: SalesforceConnection) => Promise<T>): Promise<T> {
  const conn = await stage('login', () => openSalesforce(account));
  return work(conn);
}

export function describeObject(conn: SalesforceConnection, object: string): Promise<DescribedObject> {
  return stage('describe', async () => (await conn.describe(object)) as unknown as DescribedObject);
}

export async function createOne(conn: SalesforceConnection, object: string, record: Record<string, unknown>): Promise<string> {
  return stage('create', async () => {
    const result = await conn.sobject(object).create(record);
    if (!result.success || !result.id) throw new Error(JSON.stringify((result as { errors?: unknown }).errors ?? result));
    return result.id;
  });
}
