// FrameCursor (vq.js), the worker's way of decoding a file that is still arriving: fed views
// of the file that grow a few hundred bytes at a time, it gives exactly the frames that
// FrameDecoder.frames gives on the whole file, throws VqTruncatedError (and keeps its place)
// whenever the next record is not all there, and never decodes a frame twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readdirSync } from 'node:fs';

import { FrameCursor, FrameDecoder, VqFile, VqTruncatedError } from '../../vidquant/web/vq.js';
import { FIXTURES, GOLDEN, crc32, readBytes } from './helpers.mjs';

function summary(f) {
  return [f.index, f.offset, f.pts, f.duration, f.keyframe, crc32(f.labels), crc32(f.palette)];
}

function viaCursor(bytes, step) {
  const head = new VqFile(bytes);
  const cursor = new FrameCursor(head, head.firstFrameOffset, 0);
  const out = [];
  let have = Math.min(bytes.length, head.firstFrameOffset + 1);
  let truncations = 0;
  for (;;) {
    let f;
    try {
      f = cursor.next(new VqFile(bytes.subarray(0, have), { onWarning: () => {} }));
    } catch (err) {
      if (!(err instanceof VqTruncatedError) || have === bytes.length) throw err;
      truncations++;
      have = Math.min(bytes.length, have + step);
      continue;
    }
    if (f === null) break;
    out.push(summary(f));
  }
  return { out, truncations };
}

function files() {
  const list = ['tiny.vq', 'tiny_v3.vq', 'tiny_v2.vq'].map((n) => path.join(GOLDEN, n));
  if (FIXTURES) {
    for (const name of readdirSync(FIXTURES).sort()) {
      if (name.endsWith('.vq') && !name.startsWith('mut') && list.length < 40) {
        list.push(path.join(FIXTURES, name));
      }
    }
  }
  return list;
}

test('a cursor over a growing file gives the whole-file frames, once each', () => {
  let checked = 0;
  for (const file of files()) {
    const bytes = readBytes(file);
    let whole;
    try {
      whole = [...new FrameDecoder(new VqFile(bytes, { onWarning: () => {} })).frames()].map(summary);
    } catch {
      continue; // a fixture that is meant to fail
    }
    const step = Math.max(64, Math.floor(bytes.length / 50));
    const { out, truncations } = viaCursor(bytes, step);
    assert.deepEqual(out, whole, path.basename(file));
    if (bytes.length > 4 * step) assert.ok(truncations > 0, `${path.basename(file)}: never waited`);
    checked++;
  }
  assert.ok(checked >= 3);
});
