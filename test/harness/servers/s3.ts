// An S3-compatible server (moto_server from PyPI, installed into tools/) on a loopback port. Moto accepts any
// credentials unless told otherwise, so startup creates an IAM user with an access key and then switches
// authentication on: wrong secrets are refused like on real S3.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { toolEnv, toolFromPip } from '../../../lib/tools.js';
import { freePort, waitForPort } from './ports.js';
import { spawnServer } from './process.js';

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const MOTO_SPEC = 'moto[server]';

/**
 * Calls moto's IAM query API while authentication is still off. The Authorization header is never verified
 * then; moto only reads its credential scope to route the request to IAM.
 */
async function iam(endpoint: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=setup/20240101/${REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ ...params, Version: '2010-05-08' }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`moto IAM ${params.Action} failed with HTTP ${response.status}: ${text}`);
  return text;
}

function xmlValue(xml: string, tag: string): string {
  const match = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml);
  if (!match) throw new Error(`moto IAM response has no <${tag}>: ${xml}`);
  return match[1];
}

async function createAccessKey(endpoint: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const user = 'cc-jobs-test';
  await iam(endpoint, { Action: 'CreateUser', UserName: user });
  await iam(endpoint, {
    Action: 'PutUserPolicy',
    UserName: user,
    PolicyName: 'everything',
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
  });
  const created = await iam(endpoint, { Action: 'CreateAccessKey', UserName: user });
  return { accessKeyId: xmlValue(created, 'AccessKeyId'), secretAccessKey: xmlValue(created, 'SecretAccessKey') };
}

async function enableAuthentication(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!response.ok) throw new Error(`moto reset-auth failed with HTTP ${response.status}: ${await response.text()}`);
}

export async function startS3(): Promise<S3Server> {
  const motoServer = await toolFromPip('moto_server', MOTO_SPEC);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = spawnServer('moto_server', motoServer, ['-H', '127.0.0.1', '-p', String(port)], { env: toolEnv(MOTO_SPEC) });
  let credentials;
  try {
    await waitForPort(port, { timeoutMs: 60_000, failed: server.exitError });
    credentials = await createAccessKey(endpoint);
    await enableAuthentication(endpoint);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const { accessKeyId, secretAccessKey } = credentials;
  return {
    endpoint,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    async createBucket(name: string) {
      const client = new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    stop: () => server.stop(),
  };
}
