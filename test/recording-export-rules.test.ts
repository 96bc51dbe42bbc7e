// The pure rules of the recording export: the provider window (midnight crossing, DST days) and the
// file-name templates (validation at save time, safe rendering).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJobConfigSchema } from '../lib/export/definition.js';
import { MANIFEST_PLACEHOLDERS, RECORDING_PLACEHOLDERS, renderFileName, validateTemplate } from '../lib/export/file-names.js';
import { nextWindowOpening, parseExportWindow, windowCloses, windowState } from '../lib/export/window.js';

const LA = parseExportWindow('23:00-06:00 America/Los_Angeles');

describe('export window', () => {
  it('no window configured means always open', () => {
    assert.deepEqual(windowState(null, new Date('2025-01-01T12:00:00Z')), { open: true, opensAt: null, closesAt: null });
  });

  it('a window crossing midnight is open late evening and early morning, closed in the day', () => {
    // 2025-01-15 is PST (UTC-8).
    assert.equal(windowState(LA, new Date('2025-01-16T07:30:00Z')).open, true); // 23:30 local
    assert.equal(windowState(LA, new Date('2025-01-16T13:00:00Z')).open, true); // 05:00 local next day
    assert.deepEqual(windowCloses(LA, new Date('2025-01-16T07:30:00Z')), new Date('2025-01-16T14:00:00Z')); // 06:00 local
    const noon = new Date('2025-01-15T20:00:00Z'); // 12:00 local
    assert.equal(windowState(LA, noon).open, false);
    assert.deepEqual(nextWindowOpening(LA, noon), new Date('2025-01-16T07:00:00Z')); // 23:00 local
  });

  it('the edges: open at the start minute, closed at the end minute', () => {
    assert.equal(windowState(LA, new Date('2025-01-16T07:00:00Z')).open, true);
    assert.equal(windowState(LA, new Date('2025-01-16T14:00:00Z')).open, false);
  });

  it('on the spring-forward night the window is one hour shorter in UTC terms and closes at 06:00 PDT', () => {
    // DST starts 2025-03-09 02:00 in Los Angeles: the night of 8→9 March opens 23:00 PST, closes 06:00 PDT.
    const state = windowState(LA, new Date('2025-03-09T08:00:00Z')); // 00:00 PST
    assert.equal(state.open, true);
    assert.deepEqual(state.closesAt, new Date('2025-03-09T13:00:00Z')); // 06:00 PDT = 13:00Z
    assert.deepEqual(nextWindowOpening(LA, new Date('2025-03-09T20:00:00Z')), new Date('2025-03-10T06:00:00Z')); // 23:00 PDT
  });

  it('on the fall-back night the window opens at 23:00 PDT and closes at 06:00 PST', () => {
    // DST ends 2025-11-02 02:00 in Los Angeles.
    const state = windowState(LA, new Date('2025-11-02T06:30:00Z')); // 23:30 PDT on 1 Nov
    assert.equal(state.open, true);
    assert.deepEqual(state.closesAt, new Date('2025-11-02T14:00:00Z')); // 06:00 PST
  });

  it('a window boundary inside the skipped hour moves forward by the skipped hour', () => {
    const w = parseExportWindow('02:30-04:00 America/Los_Angeles');
    assert.deepEqual(nextWindowOpening(w, new Date('2025-03-09T08:00:00Z')), new Date('2025-03-09T10:30:00Z')); // 03:30 PDT
  });

  it('a same-day window and the next day\'s opening', () => {
    const w = parseExportWindow('01:00-03:00 UTC');
    assert.equal(windowState(w, new Date('2025-05-01T02:00:00Z')).open, true);
    assert.deepEqual(nextWindowOpening(w, new Date('2025-05-01T04:00:00Z')), new Date('2025-05-02T01:00:00Z'));
  });

  it('rejects malformed windows naming the problem', () => {
    assert.throws(() => parseExportWindow('23:00 to 06:00'), /HH:MM-HH:MM Zone/);
    assert.throws(() => parseExportWindow('25:00-06:00 UTC'), /not a time of day/);
    assert.throws(() => parseExportWindow('23:00-06:00 Mars/Base'), /IANA/);
  });
});

describe('file-name templates', () => {
  it('the defaults are valid', () => {
    const config = exportJobConfigSchema.parse({ destinationId: '1' });
    assert.deepEqual(validateTemplate(config.fileNameTemplate, RECORDING_PLACEHOLDERS), []);
    assert.deepEqual(validateTemplate(config.manifestTemplate, MANIFEST_PLACEHOLDERS), []);
  });

  for (const [template, problem] of [
    ['../${recordingId}.wav', /"\.\."/],
    ['a/../../etc/${recordingId}', /"\.\."/],
    ['/abs/${recordingId}.wav', /absolute/],
    ['C:\\x\\${recordingId}.wav', /absolute/],
    ['${callDate}/${nope}.wav', /unknown placeholder "nope"/],
    ['${callDate', /unclosed/],
    ['recordings/', /folder/],
  ] as const) {
    it(`rejects ${JSON.stringify(template)}`, () => {
      assert.match(validateTemplate(template, RECORDING_PLACEHOLDERS).join('; '), problem);
    });
  }

  it('manifest templates only know currentDate, currentTime and periodEndDate', () => {
    assert.deepEqual(validateTemplate('details_$(periodEndDate).csv', MANIFEST_PLACEHOLDERS), []);
    assert.match(validateTemplate('details_${agent}.csv', MANIFEST_PLACEHOLDERS).join(), /unknown placeholder "agent"/);
  });

  it('rendered values cannot climb out of the folder or carry unsafe characters', () => {
    const name = renderFileName('rec/${agent}/${customerPhone}_${disposition}.wav', {
      agent: '../../etc', customerPhone: '+1 (555) 010-2030', disposition: 'Sale: "won"/ok?*',
    });
    assert.equal(name, 'rec/etc/+1-555-010-2030_Sale-won-ok-.wav');
    assert.equal(renderFileName('${agent}.wav', { agent: null }), 'none.wav');
  });
});
