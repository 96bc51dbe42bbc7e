// A logged-in jsforce connection for an integration account. With an OAuth client (clientId + clientSecret)
// jsforce logs in by the OAuth2 username-password flow, otherwise by SOAP login with the password followed by
// the security token. Either way jsforce keeps a refresh function: a request answered 401 INVALID_SESSION_ID
// (an expired session) logs in again and is sent once more, so an expiry mid-run costs one login.
// jsforce (~10 MB resident) is imported by the first login, not when a worker loads its activities.
import type jsforce from 'jsforce';
import type { SalesforceAccount } from './accounts.js';

/** The REST API version we speak: sObject Collections upsert needs 46.0 or later. */
export const SALESFORCE_API_VERSION = '59.0';

export type SalesforceConnection = InstanceType<typeof jsforce.Connection>;

export async function openSalesforce(account: SalesforceAccount): Promise<SalesforceConnection> {
  const loginUrl = account.loginUrl.replace(/\/+$/, '');
  const oauth2 = account.clientId && account.secrets.clientSecret
    ? { loginUrl, clientId: account.clientId, clientSecret: account.secrets.clientSecret }
    : undefined;
  const { default: { Connection } } = await import('jsforce');
  const conn = new Connection({ loginUrl, version: SALESFORCE_API_VERSION, ...(oauth2 ? { oauth2 } : {}) });
  await conn.login(account.username, `${account.secrets.password}${account.secrets.securityToken ?? ''}`);
  return conn;
}
