// Patches postgres.js 3.4.9 (run by `npm install`/`npm ci` as postinstall, and by the Dockerfile) for a bug that
// kills the process when PostgreSQL restarts or a connection drops inside a transaction — upstream
// porsager/postgres#1208 (also #1066, #1154), open and unfixed in the latest release (3.4.9):
//   sql.begin() answers the failed statement with its own ROLLBACK on the connection that just closed; the write
//   is deferred to a setImmediate that dereferences the closed connection's null socket, and the TypeError
//   thrown from there is uncatchable ("Cannot read properties of null (reading 'write')"). Teardown also cancels
//   that deferred write without forgetting it, so a reused connection never flushes again (CONNECT_TIMEOUT).
// The patch: a statement on a connection with no socket is rejected with CONNECTION_CLOSED instead of written
// (execute, and the deferred write as a last guard); teardown forgets the cancelled write and the dead backend's
// last error (else the query that reconnects the connection fails with the old 57P01 "terminating connection");
// a transaction whose connection closed rejects its further statements, so none run in the reconnected session.
// Plain JavaScript with no dependencies so it runs before anything else is installed. Idempotent; fails loudly
// if the installed source is not the one this patch was written for.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKER = '/* cc-jobs patch: porsager/postgres#1208 */';
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');

const connection = [
  [ // execute: a closed connection (socket gone) rejects the statement instead of buffering it for a null socket
    `  function execute(q) {
    if (terminated)
      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))
`,
    `  function execute(q) {
    if (terminated)
      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))

    ${MARKER}
    if (!socket)
      return queryError(q, Errors.connection('CONNECTION_CLOSED', options))
`,
  ],
  [ // the deferred write: never dereference a socket that closed meanwhile; settle what was waiting on it
    `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    `  function nextWrite(fn) {
    if (!socket) {
      clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  ],
  [ // terminate: forget the cancelled deferred write
    `    clearImmediate(nextWriteTimer)
    if (socket) {`,
    `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    if (socket) {`,
  ],
  [ // closed: forget the cancelled deferred write
    `    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)`,
    `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    socket.removeListener('data', data)`,
  ],
  [ // closed: forget the dead backend's last error (57P01 "terminating connection"), which the first ReadyForQuery
    // of the reconnected session would otherwise hand to the query that reconnected it
    `  async function closed(hadError) {
    incoming = Buffer.alloc(0)`,
    `  async function closed(hadError) {
    errorResponse = null
    incoming = Buffer.alloc(0)`,
  ],
];

const index = [
  [ // begin: remember that the transaction's connection closed
    `    let savepoints = 0
      , connection
      , prepare = null
`,
    `    let savepoints = 0
      , connection
      , prepare = null
      , closedError = null ${MARKER}
`,
  ],
  [
    `        new Promise((_, reject) => connection.onclose = reject)`,
    `        new Promise((_, reject) => connection.onclose = (e) => reject(closedError = e || Errors.connection('CONNECTION_CLOSED', options)))`,
  ],
  [ // ... and reject its later statements (ROLLBACK included) rather than run them on the reconnected session
    `      function handler(q) {
        q.catch(e => uncaughtError || (uncaughtError = e))
        c.queue === full`,
    `      function handler(q) {
        q.catch(e => uncaughtError || (uncaughtError = e))
        if (closedError)
          return q.reject(closedError)
        c.queue === full`,
  ],
];

/** Applies each edit not applied yet (so a tree patched by an earlier version of this script gets the new ones). */
function patch(file, edits) {
  if (!existsSync(file)) return false;
  const original = readFileSync(file, 'utf8');
  let source = original;
  for (const [from, to] of edits) {
    if (source.includes(to)) continue;
    const at = source.indexOf(from);
    if (at < 0 || source.indexOf(from, at + 1) >= 0) {
      throw new Error(`${file}: the code this patch expects is not there (postgres.js is not 3.4.9?); re-check porsager/postgres#1208 and update scripts/patch-postgres.mjs`);
    }
    source = source.replace(from, () => to);
  }
  if (source === original) return false;
  writeFileSync(file, source);
  return true;
}

if (existsSync(root)) {
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  if (version !== '3.4.9') throw new Error(`postgres.js is ${version}, scripts/patch-postgres.mjs was written for 3.4.9: check whether porsager/postgres#1208 is fixed and drop or update the patch`);
  const patched = ['src', 'cjs/src', 'cf/src'].flatMap((dir) => [
    patch(path.join(root, dir, 'connection.js'), connection) ? [`${dir}/connection.js`] : [],
    patch(path.join(root, dir, 'index.js'), index) ? [`${dir}/index.js`] : [],
  ].flat());
  if (patched.length) console.log(`patched postgres.js (porsager/postgres#1208): ${patched.join(', ')}`);
}
