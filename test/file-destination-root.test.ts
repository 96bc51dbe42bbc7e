// `file` destinations are confined to FILE_DESTINATION_ROOT (issue 13: an admin saved a destination at /etc and
// imported /etc/passwd through it). Escape attempts are refused with 400 when saved, and again at every
// transfer — reading (an import) and writing (an export) — when a symlink planted later leads out.
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { openDestination } from '../lib/destinations.js';
import { TransferError } from '../lib/transfer/index.js';
import { startApi, type Api } from './erasure-fixtures.js';
import { createTestEnv, type TestEnv } from './harness/env.js';

let env: TestEnv;
let api: Api;
let base: string;
let adminKey: string;
let root: string;
let outside: string;

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${url}`, {
    method, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

let counter = 0;
const create = (folder: string) => call('POST', '/destinations', { name: `d-${++counter}`, protocol: 'file', path: folder });

async function refusedOutside(work: Promise<unknown>, stage: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof TransferError, String(err));
    assert.equal(err.stage, stage);
    assert.equal(err.permanent, true);
    assert.match(err.message, /FILE_DESTINATION_ROOT/);
    return true;
  });
}

before(async () => {
  // A data folder of the test's own: the root inside it, a "secret" folder beside the root.
  const scratch = path.join(process.env.FILE_DESTINATION_ROOT!, `file-root-${process.pid}`);
  root = path.join(scratch, 'root');
  outside = path.join(scratch, 'outside');
  process.env.FILE_DESTINATION_ROOT = root;  // read by the activities' side (lib/destinations.ts)
  env = await createTestEnv({ env: { FILE_DESTINATION_ROOT: root } });
  await mkdir(root, { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  api = await startApi(env);
  ({ base, adminKey } = api);
});

after(async () => {
  await api?.close();
  await env?.stop();
  await rm(path.dirname(root), { recursive: true, force: true });
});

describe('saving a file destination', () => {
  it('a folder inside the root (absolute, or relative to the root) is accepted', async () => {
    assert.equal((await create(path.join(root, 'exports'))).status, 201);
    const relative = await create('imports/daily');
    assert.equal(relative.status, 201);
    const transfer = await openDestination(env.sql, env.deps.keyring, relative.json.id);
    try {
      await transfer.put('list.csv', Readable.from([Buffer.from('phone\n')]));
    } finally {
      await transfer.close();
    }
    assert.equal(await readFile(path.join(root, 'imports', 'daily', 'list.csv'), 'utf8'), 'phone\n');
  });

  it('an absolute folder outside the root (/etc) is refused with 400 naming the path field, and nothing is saved', async () => {
    const res = await create('/etc');
    assert.equal(res.status, 400);
    assert.deepEqual(res.json.errors.map((e: { path: string }) => e.path), ['path']);
    assert.match(res.json.errors[0].message, /outside/);
    const [{ count }] = await env.sql<{ count: number }[]>`select count(*)::int as count from destinations where settings->>'path' = '/etc'`;
    assert.equal(count, 0);
  });

  it('".." climbing out of the root is refused, absolute or relative', async () => {
    assert.equal((await create(path.join(root, 'a', '..', '..', 'outside'))).status, 400);
    assert.equal((await create('../outside')).status, 400);
    assert.equal((await create('a/../../../..')).status, 400);
  });

  it('a symlink inside the root that leads outside is refused', async () => {
    await symlink(outside, path.join(root, 'link-out'));
    assert.equal((await create(path.join(root, 'link-out'))).status, 400);
    assert.equal((await create('link-out/sub')).status, 400);
  });

  it('a PATCH moving a destination outside the root is refused', async () => {
    const created = await create(path.join(root, 'moving'));
    const res = await call('PATCH', `/destinations/${created.json.id}`, { path: '/etc' });
    assert.equal(res.status, 400);
    assert.equal((await call('GET', `/destinations/${created.json.id}`)).json.path, path.join(root, 'moving'));
  });
});

describe('a symlink planted after the destination was saved', () => {
  it('an import (read, list) through a folder replaced by a symlink to the outside is refused', async () => {
    const created = await create(path.join(root, 'incoming'));
    assert.equal(created.status, 201);
    // After the save, the folder becomes a link to the outside (as `ln -s /etc incoming` would).
    await symlink(outside, path.join(root, 'incoming'));
    const transfer = await openDestination(env.sql, env.deps.keyring, created.json.id);
    try {
      await refusedOutside(transfer.get('passwd'), 'read');
      await refusedOutside(transfer.list(''), 'list');
    } finally {
      await transfer.close();
    }
  });

  it('a file inside the root that links to a file outside is not read', async () => {
    const folder = path.join(root, 'lists');
    const created = await create(folder);
    await mkdir(folder, { recursive: true });
    await symlink(path.join(outside, 'passwd'), path.join(folder, 'passwd'));
    const transfer = await openDestination(env.sql, env.deps.keyring, created.json.id);
    try {
      await refusedOutside(transfer.get('passwd'), 'read');
    } finally {
      await transfer.close();
    }
  });

  it('an export (write, remove, test) through a symlinked folder is refused and writes nothing outside', async () => {
    const created = await create(path.join(root, 'outgoing'));
    await mkdir(path.join(root, 'outgoing'), { recursive: true });
    await symlink(outside, path.join(root, 'outgoing', 'recordings'));
    const transfer = await openDestination(env.sql, env.deps.keyring, created.json.id);
    try {
      await refusedOutside(transfer.put('recordings/2026/call.wav', Readable.from([Buffer.from('RIFF')])), 'write');
      await refusedOutside(transfer.put('recordings/call.wav', Readable.from([Buffer.from('RIFF')])), 'write');
      await refusedOutside(transfer.remove('recordings/passwd'), 'remove');
    } finally {
      await transfer.close();
    }
    assert.deepEqual((await readdir(outside)).sort(), ['passwd']);
    assert.equal(await readFile(path.join(outside, 'passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/bash\n');
  });

  it('a temporary file name planted as a symlink to the outside is not written through', async () => {
    const folder = path.join(root, 'planted');
    const created = await create(folder);
    await mkdir(folder, { recursive: true });
    await symlink(path.join(outside, 'passwd'), path.join(folder, '.call.wav.part'));
    const transfer = await openDestination(env.sql, env.deps.keyring, created.json.id);
    try {
      await refusedOutside(transfer.put('call.wav', Readable.from([Buffer.from('RIFF')])), 'write');
    } finally {
      await transfer.close();
    }
    assert.equal(await readFile(path.join(outside, 'passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/bash\n');
  });

  it('the whole destination folder replaced by a symlink fails its connection test at the write stage (422)', async () => {
    const created = await create(path.join(root, 'probe'));
    await symlink(outside, path.join(root, 'probe'));
    const res = await call('POST', `/destinations/${created.json.id}/test`);
    assert.equal(res.status, 422);
    assert.equal(res.json.stage, 'write');
    assert.deepEqual((await readdir(outside)).sort(), ['passwd']);
  });
});
