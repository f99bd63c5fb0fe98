// Truncated, corrupted and fuzzed files: vq.js only ever throws a VqError, within a time bound,
// after yielding exactly the frames of the whole records before the damage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { FrameDecoder, VqError, VqTruncatedError } from '../../vidquant/web/vq.js';
import { GOLDEN, FIXTURES, readBytes, decodeAll, walk, fixCrc, prng, makeRecord, concat } from './helpers.mjs';

const CASE_BOUND_MS = 2000;
const GOLDEN_FILES = ['tiny.vq', 'tiny_v3.vq', 'tiny_v2.vq'].map((n) => path.join(GOLDEN, n));
const FIXTURE_FILES = FIXTURES
  ? readdirSync(FIXTURES)
      .filter((n) => n.endsWith('.vq') && !n.startsWith('mut_') && !n.includes('v1'))
      .map((n) => path.join(FIXTURES, n))
  : [];

/** Decode everything the API offers: frames, records, index, a seek. */
function exercise(bytes) {
  const r = decodeAll(bytes);
  if (r.file) {
    try {
      r.file.readIndex();
      const d = new FrameDecoder(r.file);
      for (const _ of d.framesAt(3));
    } catch (e) {
      if (!(e instanceof VqError)) throw e;
    }
  }
  return r;
}

function timed(label, fn) {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  assert.ok(ms < CASE_BOUND_MS, `${label}: ${ms.toFixed(0)} ms`);
  return out;
}

test('a file cut at every byte yields the whole frames before the cut, then VqTruncatedError', () => {
  const files = [...GOLDEN_FILES, ...FIXTURE_FILES.filter((f) => /1x1|alpha|k2\.|9x70/.test(f))];
  let cases = 0;
  for (const file of files) {
    const bytes = readBytes(file);
    const full = decodeAll(bytes);
    assert.equal(full.error, null, file);
    const recs = walk(bytes);
    const frameEnds = recs.filter((r) => r.tag === 'KFRM' || r.tag === 'PFRM').map((r) => r.end);
    for (let cut = 0; cut < bytes.length; cut++) {
      const r = timed(`${file} cut at ${cut}`, () => exercise(bytes.subarray(0, cut)));
      assert.ok(r.error instanceof VqTruncatedError, `${file} cut at ${cut}: ${r.error}`);
      const whole = frameEnds.filter((e) => e <= cut).length;
      assert.deepEqual(r.frames, full.frames.slice(0, whole), `${file} cut at ${cut}`);
      cases++;
    }
  }
  assert.ok(cases > 1000);
});

test('every single-byte corruption (CRCs not fixed) is detected', () => {
  for (const file of GOLDEN_FILES) {
    const bytes = readBytes(file);
    const full = decodeAll(bytes);
    for (let i = 0; i < bytes.length; i++) {
      if (i === 10 || i === 11) continue; // the minor version: a newer minor is only a warning
      for (const mask of [0x01, 0x80, 0xff]) {
        const b = bytes.slice();
        b[i] ^= mask;
        const r = timed(`${file} byte ${i}`, () => exercise(b));
        assert.ok(r.error instanceof VqError, `${file}: byte ${i} ^ ${mask} went unnoticed`);
        // frames before the damaged record are intact
        assert.deepEqual(r.frames, full.frames.slice(0, r.frames.length));
      }
    }
  }
});

/** One mutation of one record, its CRC (and, when asked, its length) fixed up. */
function mutate(bytes, rnd) {
  const recs = walk(bytes);
  if (recs.length === 0) {
    const b = bytes.slice();
    b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
    return b;
  }
  const rec = recs[Math.floor(rnd() * recs.length)];
  const op = Math.floor(rnd() * 8);
  let tag = bytes.subarray(rec.off, rec.off + 4).slice();
  let payload = bytes.slice(rec.start, rec.end - 4);
  const pick = () => Math.floor(rnd() * payload.length);
  if (payload.length === 0 && op < 6) return concat(bytes.subarray(0, rec.off), makeRecord('PFRM', Uint8Array.of(2, 9, 1, 0)), bytes.subarray(rec.end));
  switch (op) {
    case 0: case 1: // bit flips anywhere in the payload
      for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) payload[pick()] ^= 1 << Math.floor(rnd() * 8);
      break;
    case 2: // a random byte in the first 24 (frame headers, palette entries)
      payload[Math.floor(rnd() * Math.min(24, payload.length))] = Math.floor(rnd() * 256);
      break;
    case 3: // a random byte near the end (the label code's tail)
      payload[payload.length - 1 - Math.floor(rnd() * Math.min(8, payload.length))] = Math.floor(rnd() * 256);
      break;
    case 4: { // insert bytes
      const at = Math.floor(rnd() * (payload.length + 1));
      const extra = Uint8Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => Math.floor(rnd() * 256));
      payload = concat(payload.subarray(0, at), extra, payload.subarray(at));
      break;
    }
    case 5: // cut the payload
      payload = payload.slice(0, pick());
      break;
    case 6: { // another tag
      const tags = ['KFRM', 'PFRM', 'apkt', 'INDX', 'TAIL', 'HEAD', 'zzzz', 'ahdr', 'Q Q '];
      tag = Uint8Array.from(tags[Math.floor(rnd() * tags.length)], (c) => c.charCodeAt(0));
      break;
    }
    default: { // the length field, CRC left alone
      const b = bytes.slice();
      new DataView(b.buffer).setUint32(rec.off + 4, Math.floor(rnd() * 2 ** 32), true);
      return b;
    }
  }
  const out = concat(bytes.subarray(0, rec.off), makeRecord(String.fromCharCode(...tag), payload), bytes.subarray(rec.end));
  if (rnd() < 0.5) {
    // keep the trailer pointing at the index when records moved
    const r2 = walk(out);
    const indx = r2.find((r) => r.tag === 'INDX');
    const tail = r2[r2.length - 1];
    if (indx && tail && tail.tag === 'TAIL' && tail.end === out.length && tail.end - tail.off === 36) {
      new DataView(out.buffer).setUint32(tail.start + 8, indx.off, true);
      fixCrc(out, tail);
    }
  }
  return out;
}

test('fuzz: mutated files with fixed-up CRCs only ever raise VqError, in bounded time', () => {
  const rnd = prng(20261204);
  const bases = [...GOLDEN_FILES, ...FIXTURE_FILES.filter((f) => !/sample|audio/.test(f))].map(readBytes);
  const iterations = FIXTURES ? 3000 : 1500;
  let errors = 0;
  let maxMs = 0;
  for (let i = 0; i < iterations; i++) {
    let b = bases[i % bases.length];
    for (let n = 1 + Math.floor(rnd() * 2); n > 0; n--) b = mutate(b, rnd);
    const t0 = performance.now();
    let r;
    try {
      r = exercise(b);
    } catch (e) {
      assert.fail(`case ${i}: ${e && e.stack}`);
    }
    const ms = performance.now() - t0;
    maxMs = Math.max(maxMs, ms);
    assert.ok(ms < CASE_BOUND_MS, `case ${i}: ${ms} ms`);
    if (r.error) errors++;
  }
  console.log(`# fuzz: ${iterations} cases, ${errors} refused, slowest ${maxMs.toFixed(1)} ms`);
  assert.ok(errors > iterations / 4);
});

test('fuzz: random bytes after a valid HEAD only ever raise VqError', () => {
  const rnd = prng(7);
  const tiny = readBytes(GOLDEN_FILES[0]);
  const head = tiny.subarray(0, walk(tiny)[0].end);
  for (let i = 0; i < 500; i++) {
    const tail = Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256));
    // a frame record of random content, properly framed, then the random tail
    const rec = makeRecord(rnd() < 0.5 ? 'KFRM' : 'PFRM', tail);
    const r = timed(`random ${i}`, () => exercise(concat(head, rec, tail)));
    assert.ok(r.error instanceof VqError);
  }
});
