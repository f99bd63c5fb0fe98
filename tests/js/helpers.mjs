// Shared helpers of the vq.js tests: fixtures, hashes, a seeded PRNG, record surgery.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { VqFile, FrameDecoder, VqError } from '../../vidquant/web/vq.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const GOLDEN = path.join(ROOT, 'tests', 'golden');
/** The directory tests/test_js_decoder.py made (fixtures + expected.json), or null. */
export const FIXTURES = process.env.VQ_JS_FIXTURES || null;

export function readBytes(file) {
  return new Uint8Array(readFileSync(file));
}

export function loadExpected() {
  if (!FIXTURES) return null;
  const file = path.join(FIXTURES, 'expected.json');
  if (!existsSync(file)) throw new Error(`VQ_JS_FIXTURES=${FIXTURES} has no expected.json`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

const TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let j = 0; j < 8; j++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (zlib's), written here again so the tests do not lean on the decoder's. */
export function crc32(bytes, crc = 0) {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** mulberry32: a small seeded PRNG, floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Decode a whole file: {frames: [[pts, duration, keyframe, crc(labels), crc(palette)]],
 * audio: [[pts, duration, crc(data)]] (those before the failing record), error: null | VqError,
 * ms}. Non-VqError exceptions
 * propagate (they are bugs).
 */
export function decodeAll(bytes, { onWarning = () => {} } = {}) {
  const t0 = performance.now();
  const frames = [];
  const audio = [];
  let error = null;
  let file = null;
  try {
    file = new VqFile(bytes, { onWarning });
    const dec = new FrameDecoder(file);
    for (const f of dec.frames()) {
      frames.push([f.pts, f.duration, f.keyframe, crc32(f.labels), crc32(f.palette)]);
    }
  } catch (e) {
    if (!(e instanceof VqError)) throw e;
    error = e;
  }
  if (file) {
    // audio packets up to the same failure (records() stops where frames() stopped)
    try {
      for (const r of file.records()) {
        if (error && r.offset >= error.offset) break; // what a single pass would have reached
        if (r.type === 'audio') audio.push([r.pts, r.duration, crc32(r.data)]);
      }
    } catch (e) {
      if (!(e instanceof VqError)) throw e;
    }
  }
  return { file, frames, audio, error, ms: performance.now() - t0 };
}

/** (offset, tag, payloadStart, end) of every whole record after the preamble. */
export function walk(bytes) {
  const out = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 12;
  while (off + 8 <= bytes.length) {
    const len = dv.getUint32(off + 4, true);
    const end = off + 12 + len;
    if (end > bytes.length) break;
    out.push({ off, tag: String.fromCharCode(...bytes.subarray(off, off + 4)), start: off + 8, end });
    off = end;
  }
  return out;
}

/** Recompute the CRC of the record at rec (after its tag or payload changed in place). */
export function fixCrc(bytes, rec) {
  const c = crc32(bytes.subarray(rec.start, rec.end - 4), crc32(bytes.subarray(rec.off, rec.off + 4)));
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(rec.end - 4, c, true);
}

/** A record (tag, payload) with its framing and CRC. */
export function makeRecord(tag, payload) {
  const out = new Uint8Array(12 + payload.length);
  for (let i = 0; i < 4; i++) out[i] = tag.charCodeAt(i);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, payload.length, true);
  out.set(payload, 8);
  dv.setUint32(8 + payload.length, crc32(payload, crc32(out.subarray(0, 4))), true);
  return out;
}

export function concat(...parts) {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function hex(s) {
  return Uint8Array.from(s.replace(/\s+/g, '').match(/../g).map((h) => parseInt(h, 16)));
}
