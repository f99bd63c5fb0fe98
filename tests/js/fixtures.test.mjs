// vq.js against the Python decoder on the fixtures tests/test_js_decoder.py made
// (VQ_JS_FIXTURES): every frame's labels and palette (CRC-32), pts, duration, keyframe flag,
// the audio packets, the index, and whether (not why) a file is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { VqFile, FrameDecoder, VqError, VqVersionError } from '../../vidquant/web/vq.js';
import { FIXTURES, loadExpected, readBytes, decodeAll } from './helpers.mjs';

const expected = loadExpected();
const skip = expected ? false : 'VQ_JS_FIXTURES is not set (run python -m pytest tests/test_js_decoder.py)';
const TIME_BOUND_MS = 5000;

function gcd(a, b) {
  return b ? gcd(b, a % b) : a;
}
function reduce([n, d]) {
  const g = gcd(n, d);
  return [n / g, d / g];
}

/** Where vq.js may differ from the Python decoder, by design. */
function allowedDivergence(name, js, py) {
  if (name === 'golden_tiny_v1.vq') return js.error instanceof VqVersionError; // 1.x: Zstandard
  // values above 2^53 are refused (documented); the Python decoder takes them
  if (js.error && /2\^53/.test(js.error.message) && !py.error) return true;
  return false;
}

test('fixtures decode exactly as the Python decoder decodes them', { skip }, () => {
  const failures = [];
  let n = 0;
  for (const [name, py] of Object.entries(expected)) {
    const js = decodeAll(readBytes(path.join(FIXTURES, name)));
    n++;
    assert.ok(js.ms < TIME_BOUND_MS, `${name}: ${js.ms} ms`);
    if (allowedDivergence(name, js, py)) continue;
    const problems = [];
    if (!!js.error !== !!py.error) {
      problems.push(`python ${py.error || 'ok'}, js ${js.error ? js.error.message : 'ok'}`);
    }
    if (JSON.stringify(js.frames) !== JSON.stringify(py.frames)) {
      problems.push(`frames differ: js ${js.frames.length}, python ${py.frames.length}`);
    }
    if (JSON.stringify(js.audio) !== JSON.stringify(py.audio)) {
      problems.push(`audio differs: js ${js.audio.length}, python ${py.audio.length}`);
    }
    if (py.header && js.file) {
      const h = js.file.header;
      const mine = {
        width: h.width,
        height: h.height,
        k: h.k,
        labelCoder: h.labelCoder,
        alphaIndex: h.alphaIndex,
        fps: reduce(h.fps),
        timeBase: reduce(h.timeBase), // the Python decoder keeps Fractions
      };
      if (JSON.stringify(mine) !== JSON.stringify(py.header)) problems.push('header differs');
    }
    if (js.file && py.index && !py.error) {
      let idx;
      try {
        const r = js.file.readIndex();
        idx = {
          frames: r.trailer.frames,
          keyframes: r.trailer.keyframes,
          entries: r.entries.map((e) => [e.frame, e.pts, e.offset]),
        };
      } catch (e) {
        if (!(e instanceof VqError)) throw e;
        idx = { error: e.message };
      }
      if (!!idx.error !== !!py.index.error) problems.push(`index: python ${JSON.stringify(py.index)}, js ${JSON.stringify(idx)}`);
      else if (!idx.error && JSON.stringify(idx) !== JSON.stringify(py.index)) problems.push('index differs');
    }
    if (problems.length) failures.push(`${name}: ${problems.join('; ')}`);
  }
  assert.deepEqual(failures, [], failures.join('\n'));
  assert.ok(n > 100);
});

test('the fixtures cover every block mode, k, size, version and record kind', { skip }, () => {
  const stats = new Float64Array(6);
  const ks = new Set();
  const versions = new Set();
  let deltas = 0;
  let audio = 0;
  let tiny = false;
  let odd = false;
  let alpha = false;
  let intraP = 0;
  for (const [name, py] of Object.entries(expected)) {
    if (name.startsWith('mut_') || py.error || name === 'golden_tiny_v1.vq') continue;
    if (/2e60/.test(name)) continue; // refused by vq.js (beyond 2^53)
    const f = new VqFile(readBytes(path.join(FIXTURES, name)));
    const d = new FrameDecoder(f);
    for (const _ of d.frames());
    for (let i = 0; i < 6; i++) stats[i] += d.blockStats[i];
    ks.add(f.header.k);
    versions.add(f.version.join('.'));
    const { width: w, height: h } = f.header;
    tiny ||= w === 1 && h === 1;
    odd ||= w % 8 !== 0 && h % 8 !== 0 && w % 2 === 1;
    alpha ||= f.header.alphaIndex !== null;
    for (const r of f.records()) {
      if (r.type === 'audio') audio++;
      else if (!r.keyframe && r.paletteIndex.length) deltas++;
      else if (!r.keyframe && r.mode === 0) intraP++;
    }
  }
  const [skipB, inter, ibc, coded, codedVec, interVec] = stats;
  assert.ok(skipB > 0 && inter > 0 && ibc > 0 && coded > 0, `modes ${stats}`);
  assert.ok(codedVec > 0 && interVec > 0, `vectors ${stats}`);
  for (const k of [2, 16, 255, 256]) assert.ok(ks.has(k), `k = ${k}`);
  for (const v of ['4.0', '3.0', '2.0']) assert.ok(versions.has(v), `version ${v}`);
  assert.ok(tiny && odd && alpha, 'sizes 1x1 and odd, alpha');
  assert.ok(deltas > 0, 'palette deltas');
  assert.ok(audio > 0, 'audio packets');
  console.log(`# block modes over the fixtures: SKIP ${skipB}, INTER ${inter} (${interVec} moved), ` +
    `IBC ${ibc}, CODED ${coded} (${codedVec} with a vector); palette-delta frames ${deltas}, ` +
    `INTRA PFRMs ${intraP}, audio packets ${audio}`);
});

test('seeking into every fixture yields the sequential frames', { skip }, () => {
  for (const [name, py] of Object.entries(expected)) {
    if (name.startsWith('mut_') || py.error || name === 'golden_tiny_v1.vq') continue;
    if (/2e60/.test(name)) continue;
    const f = new VqFile(readBytes(path.join(FIXTURES, name)));
    const d = new FrameDecoder(f);
    const frames = py.frames;
    for (const i of [0, Math.floor(frames.length / 2), frames.length - 1]) {
      const target = frames[i][0];
      const got = [...d.framesAt(target)].map((x) => x.pts);
      assert.deepEqual(got, frames.slice(i).map((x) => x[0]), `${name} at pts ${target}`);
      const first = d.framesAt(target).next().value;
      assert.equal(first.index, i, `${name}: frame number after seeking`);
    }
  }
});
