// vq.js on the committed golden files and the worked example of FORMAT.md §10.1; runs with no
// fixtures (the comparisons with the Python decoder are in fixtures.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  VqFile,
  FrameDecoder,
  VqError,
  VqFormatError,
  VqTruncatedError,
  VqVersionError,
  toRGBA,
} from '../../vidquant/web/vq.js';
import { GOLDEN, FIXTURES, readBytes, decodeAll, crc32, hex, walk, fixCrc } from './helpers.mjs';

if (!FIXTURES) {
  console.log(
    '# VQ_JS_FIXTURES is not set: decoding only the committed golden files ' +
      '(python -m pytest tests/test_js_decoder.py makes the fixtures and runs every test)',
  );
}

// The Python decoder's frames of tests/golden/tiny.vq (its 3.0 and 2.0 versions hold the same
// clip): [pts, duration, keyframe, crc32(labels), crc32(palette)].
const TINY = [
  [0, 1, true, 0x5a574c32, 0x1ba48b8b],
  [1, 1, false, 0xb28027fb, 0xa5ab95dd],
  [2, 1, false, 0xb28027fb, 0xa5ab95dd],
  [3, 2, true, 0x36ad9815, 0xaf453d38],
  [5, 1, false, 0xdf92712f, 0xaf453d38],
  [6, 1, false, 0xdf92712f, 0x38ea4440],
];

for (const [name, version, coder] of [
  ['tiny.vq', [4, 0], 3],
  ['tiny_v3.vq', [3, 0], 3],
  ['tiny_v2.vq', [2, 0], 2],
]) {
  test(`golden ${name} (${version.join('.')}) decodes to the reference frames`, () => {
    const r = decodeAll(readBytes(path.join(GOLDEN, name)));
    assert.equal(r.error, null);
    assert.deepEqual(r.file.version, version);
    assert.equal(r.file.header.labelCoder, coder);
    assert.deepEqual(
      [r.file.header.width, r.file.header.height, r.file.header.k],
      [24, 16, 4],
    );
    assert.deepEqual(r.file.header.meta, { golden: 'tiny', note: 'tests/make_golden.py' });
    assert.deepEqual(r.frames, TINY);
    const idx = r.file.readIndex();
    assert.deepEqual(
      idx.entries.map((e) => [e.frame, e.pts]),
      [
        [0, 0],
        [3, 3],
      ],
    );
    assert.equal(idx.entries[0].offset, r.file.firstFrameOffset);
    assert.deepEqual(
      [idx.trailer.frames, idx.trailer.keyframes, idx.trailer.endPts],
      [6, 2, 7],
    );
  });
}

test('golden tiny_v1.vq (1.1, Zstandard) is refused with a VqVersionError', () => {
  assert.throws(
    () => new VqFile(readBytes(path.join(GOLDEN, 'tiny_v1.vq'))),
    (e) => e instanceof VqVersionError && /Zstandard/.test(e.message) && e.offset === 8,
  );
});

test('an unknown major is refused; a newer minor is read after a warning', () => {
  const bytes = readBytes(path.join(GOLDEN, 'tiny.vq'));
  for (const major of [0, 5, 65535]) {
    const b = bytes.slice();
    b[8] = major & 0xff;
    b[9] = major >> 8;
    assert.throws(() => new VqFile(b), VqVersionError);
  }
  const b = bytes.slice();
  b[10] = 7; // 4.7
  const warnings = [];
  const r = decodeAll(b, { onWarning: (m) => warnings.push(m) });
  assert.equal(r.error, null);
  assert.deepEqual(r.frames, TINY);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /4\.7/);
});

// FORMAT.md §10.1, byte for byte
const EXAMPLE = hex(`
89 56 51 55 41 4e 54 0a 04 00 00 00 48 45 41 44 33 00 00 00 04 00 00 00 02 00 00 00 19 00 00 00
01 00 00 00 01 00 00 00 e8 03 00 00 04 00 03 00 ff ff 7b 22 65 6e 63 6f 64 65 72 22 3a 22 65 78
61 6d 70 6c 65 22 7d a7 d5 f3 d3 4b 46 52 4d 18 00 00 00 00 00 28 04 00 00 00 ff ff ff ff 00 00
00 00 ff 00 7a 66 1c 70 a0 c9 86 05 90 2d 8d 50 46 52 4d 0e 00 00 00 04 28 28 01 02 00 ff 00 00
94 2a 22 30 00 d6 0c 11 72 50 46 52 4d 04 00 00 00 02 50 28 00 79 11 12 6d 49 4e 44 58 18 00 00
00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 4b 00 00 00 00 00 00 00 45 60 c0 e9 54 41 49
4c 18 00 00 00 03 00 00 00 01 00 00 00 99 00 00 00 00 00 00 00 78 00 00 00 00 00 00 00 1b ce b0
03`);

test('the worked example of FORMAT.md §10.1', () => {
  assert.equal(EXAMPLE.length, 225);
  const f = new VqFile(EXAMPLE);
  assert.deepEqual(f.header, {
    width: 4,
    height: 2,
    fps: [25, 1],
    timeBase: [1, 1000],
    k: 4,
    labelCoder: 3,
    alphaIndex: null,
    meta: { encoder: 'example' },
  });
  assert.equal(f.firstFrameOffset, 0x4b);
  const recs = [...f.records()];
  assert.deepEqual(
    recs.map((r) => [r.offset, r.keyframe, r.pts, r.duration, r.mode, r.labelBytes.length]),
    [
      [0x4b, true, 0, 40, 0, 8],
      [0x6f, false, 40, 40, 4, 6],
      [0x89, false, 80, 40, 2, 0],
    ],
  );
  assert.deepEqual([...recs[1].paletteIndex], [2]);
  assert.deepEqual([...recs[1].paletteRgb], [0, 255, 0]);
  const frames = [...new FrameDecoder(f).frames()];
  assert.deepEqual([...frames[0].labels], [0, 1, 2, 3, 3, 2, 1, 0]);
  assert.deepEqual([...frames[1].labels], [2, 1, 2, 3, 3, 2, 1, 0]);
  assert.deepEqual([...frames[2].labels], [2, 1, 2, 3, 3, 2, 1, 0]);
  assert.deepEqual([...frames[0].palette], [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255]);
  assert.deepEqual([...frames[1].palette], [0, 0, 0, 255, 255, 255, 0, 255, 0, 0, 0, 255]);
  assert.deepEqual(
    frames.map((x) => x.index),
    [0, 1, 2],
  );
  assert.deepEqual(f.readIndex(), {
    trailer: { frames: 3, keyframes: 1, indexOffset: 0x99, endPts: 120 },
    entries: [{ frame: 0, pts: 0, offset: 0x4b }],
  });
  const rgba = toRGBA(frames[1].labels, frames[1].palette, null);
  assert.deepEqual([...rgba.subarray(0, 8)], [0, 255, 0, 255, 255, 255, 255, 255]);
});

test('a label code one byte too long or too short is refused', () => {
  // the KFRM's code with a byte appended / removed, lengths and CRCs fixed up
  for (const delta of [1, -1]) {
    const head = EXAMPLE.subarray(0, 0x4b);
    const kfrm = EXAMPLE.subarray(0x4b, 0x6f);
    const payload = kfrm.subarray(8, kfrm.length - 4);
    const p2 = delta > 0 ? Uint8Array.from([...payload, 0]) : payload.subarray(0, payload.length - 1);
    const rec = new Uint8Array(12 + p2.length);
    rec.set(kfrm.subarray(0, 4));
    new DataView(rec.buffer).setUint32(4, p2.length, true);
    rec.set(p2, 8);
    fixCrc(rec, { off: 0, start: 8, end: rec.length });
    const b = Uint8Array.from([...head, ...rec]);
    assert.throws(
      () => [...new FrameDecoder(new VqFile(b)).frames()],
      (e) => e instanceof VqFormatError && e.offset === 0x4b && /label code/.test(e.message),
    );
  }
});

test('seeking (§8) picks the last keyframe at or before the target', () => {
  const f = new VqFile(readBytes(path.join(GOLDEN, 'tiny.vq')));
  const d = new FrameDecoder(f);
  const [k0, k3] = f.readIndex().entries.map((e) => e.offset);
  assert.deepEqual(
    [-5, 0, 2, 3, 4, 99].map((t) => d.seek(t)),
    [k0, k0, k0, k3, k3, k3],
  );
  const all = [...d.frames()].map((x) => [x.index, x.pts, crc32(x.labels), crc32(x.palette)]);
  for (const t of [0, 2, 3, 4, 5, 6]) {
    const got = [...d.framesAt(t)].map((x) => [x.index, x.pts, crc32(x.labels), crc32(x.palette)]);
    assert.deepEqual(got, all.filter((x) => TINY[x[0]][0] + TINY[x[0]][1] > t));
  }
  // without a usable trailer, seek falls back to the first frame
  const cut = readBytes(path.join(GOLDEN, 'tiny.vq')).subarray(0, 300);
  const dc = new FrameDecoder(new VqFile(cut));
  assert.equal(dc.seek(4), dc.file.firstFrameOffset);
});

test('records() from a PFRM offset is refused (a KFRM must come first)', () => {
  const f = new VqFile(readBytes(path.join(GOLDEN, 'tiny.vq')));
  const recs = [...f.records()];
  assert.throws(() => [...f.records(recs[1].offset)], VqFormatError);
  assert.throws(() => [...f.records(5)], VqFormatError);
});

test('toRGBA: palette lookup, alpha index, output reuse', () => {
  const labels = Uint8Array.from([0, 1, 2, 1]);
  const pal = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90]);
  const out = toRGBA(labels, pal, 1);
  assert.ok(out instanceof Uint8ClampedArray);
  assert.deepEqual([...out], [10, 20, 30, 255, 40, 50, 60, 0, 70, 80, 90, 255, 40, 50, 60, 0]);
  const buf = new Uint8ClampedArray(16);
  assert.equal(toRGBA(labels, pal, null, buf), buf);
  assert.deepEqual([...buf.subarray(4, 8)], [40, 50, 60, 255]);
  const odd = new Uint8ClampedArray(new ArrayBuffer(20), 1, 16); // not 4-byte aligned
  toRGBA(labels, pal, 1, odd);
  assert.deepEqual([...odd], [...out]);
});

test('errors carry byte offsets and classes', () => {
  const bytes = readBytes(path.join(GOLDEN, 'tiny.vq'));
  assert.throws(() => new VqFile(bytes.subarray(0, 5)), VqTruncatedError);
  assert.throws(() => new VqFile(Uint8Array.from([1, 2, 3])), VqFormatError);
  const b = bytes.slice();
  const recs = walk(b);
  b[recs[2].start + 3] ^= 0x40; // a PFRM's payload, CRC not fixed
  const r = decodeAll(b);
  assert.ok(r.error instanceof VqFormatError);
  assert.equal(r.error.offset, recs[2].off);
  assert.match(r.error.message, /CRC/);
  assert.equal(r.frames.length, 1);
  assert.ok(r.error instanceof VqError && r.error instanceof Error);
});

test('huge dimensions with a garbage label code fail fast', () => {
  // HEAD 7680 x 4320, k = 256; a KFRM whose 12-byte label code runs out at once
  const bytes = readBytes(path.join(GOLDEN, 'tiny.vq'));
  const recs = walk(bytes);
  const head = bytes.slice(recs[0].off, recs[0].end);
  const dv = new DataView(head.buffer);
  dv.setUint32(8, 7680, true);
  dv.setUint32(12, 4320, true);
  dv.setUint16(8 + 24, 256, true);
  fixCrc(head, { off: 0, start: 8, end: head.length });
  const pal = new Uint8Array(256 * 3);
  const payload = Uint8Array.from([0, 0, 1, 0x80, 0x02, ...pal, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const rec = new Uint8Array(12 + payload.length);
  rec.set([0x4b, 0x46, 0x52, 0x4d]);
  new DataView(rec.buffer).setUint32(4, payload.length, true);
  rec.set(payload, 8);
  fixCrc(rec, { off: 0, start: 8, end: rec.length });
  const file = Uint8Array.from([...bytes.subarray(0, 12), ...head, ...rec]);
  const t0 = performance.now();
  const r = decodeAll(file);
  assert.ok(r.error instanceof VqFormatError, String(r.error));
  assert.ok(performance.now() - t0 < 3000);
});

test('TAIL checks: frame count on a whole-file read only, INDX right before TAIL', () => {
  const bytes = readBytes(path.join(GOLDEN, 'tiny.vq'));
  const recs = walk(bytes);
  const tail = recs[recs.length - 1];
  const b = bytes.slice();
  new DataView(b.buffer).setUint32(tail.start, 7, true); // frames 6 -> 7
  fixCrc(b, tail);
  const f = new VqFile(b);
  const d = new FrameDecoder(f);
  assert.throws(() => [...d.frames()], (e) => e instanceof VqFormatError && /7 frames/.test(e.message));
  assert.deepEqual(
    [...d.framesAt(3)].map((x) => x.index),
    [3, 4, 5],
  );
  // a record between INDX and TAIL
  const indx = recs[recs.length - 2];
  const extra = Uint8Array.from([0x7a, 0x7a, 0x7a, 0x7a, 0, 0, 0, 0, 0, 0, 0, 0]);
  fixCrc(extra, { off: 0, start: 8, end: 12 });
  const g = Uint8Array.from([...bytes.subarray(0, indx.end), ...extra, ...bytes.subarray(indx.end)]);
  assert.throws(() => [...new FrameDecoder(new VqFile(g)).frames()], VqFormatError);
});
