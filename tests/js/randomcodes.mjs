// Random *valid* label codes: the map syntax of vq.js driven by chosen bits (block modes,
// vectors, ranks, literals picked at random), then coded with the range encoder of FORMAT.md
// §6.2. The files exercise corners no real encoder reaches (odd vectors, IBC everywhere,
// literals equal to a refused candidate, INTRA PFRMs, huge carried vectors); the Python decoder
// decodes them too and fixtures.test.mjs compares.
//
//   node tests/js/randomcodes.mjs OUTDIR     writes OUTDIR/rc_*.vq
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  _RangeDecoder,
  _LabelMapDecoder,
  VqFile,
  FrameDecoder,
  VqFormatError,
} from '../../vidquant/web/vq.js';
import { prng, makeRecord, concat, crc32 } from './helpers.mjs';

/** LZMA's range encoder (FORMAT.md §6.2, informative part). */
export class RangeEncoder {
  constructor() {
    this.low = 0; // up to 33 bits, exact in a Number
    this.range = 0xffffffff;
    this.cache = 0;
    this.pending = 1;
    this.out = [];
  }
  encode(p, bit) {
    const bound = (this.range >>> 12) * p;
    if (bit) this.range = bound;
    else {
      this.low += bound;
      this.range -= bound;
    }
    while (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.shiftLow();
    }
  }
  shiftLow() {
    if (this.low < 0xff000000 || this.low >= 0x100000000) {
      const carry = this.low >= 0x100000000 ? 1 : 0;
      this.out.push((this.cache + carry) & 0xff);
      for (; this.pending > 1; this.pending--) this.out.push((0xff + carry) & 0xff);
      this.cache = Math.floor(this.low / 0x1000000) & 0xff;
      this.pending = 0;
    }
    this.pending++;
    this.low = (this.low % 0x1000000) * 256;
  }
  finish() {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return Uint8Array.from(this.out);
  }
}

/** A bit source for the map decoder: bits chosen by `policy`, decisions recorded. */
class DrivenBits extends _RangeDecoder {
  constructor(policy) {
    super();
    this.policy = policy;
    this.decisions = [];
  }
  start() {
    this.pos = 0;
    this.len = 0;
  }
  bit(c) {
    const f = this.f[c];
    const s = this.s[c];
    let p = (f + s) >> 5;
    p = p < 1 ? 1 : p > 4095 ? 4095 : p;
    const b = this.policy(c) ? 1 : 0;
    this.decisions.push(p, b);
    if (b) {
      this.f[c] = f + ((65536 - f) >> 4);
      this.s[c] = s + ((65536 - s) >> 7);
    } else {
      this.f[c] = f - (f >> 4);
      this.s[c] = s - (s >> 7);
    }
    return b;
  }
}

function randomPolicy(rnd, k, w) {
  let nbits = 1;
  while (1 << nbits < k) nbits++;
  let target = 0;
  const signedBit = (off, dy) => {
    if (off === 0) return rnd() < (dy ? w.dyZero ?? w.zero : w.zero);
    if (off === 1) return rnd() < w.negative;
    if (off < 2 + 16) return rnd() < w.grow; // unary length
    return rnd() < 0.5;
  };
  return (c) => {
    if (c < 25) return rnd() < w.skip;
    if (c < 50) return rnd() < w.coded;
    if (c < 75) return rnd() < w.inter;
    if (c < 100) return rnd() < w.codedK;
    if (c < 103) return rnd() < w.interPred;
    if (c < 106) return rnd() < w.ibcPred;
    if (c < 1202) return signedBit((c - 106) % 274, c >= 380 && c < 654);
    if (c < 3762) return rnd() < w.rank;
    if (c < 4018) {
      const node = c - 3762;
      const depth = 31 - Math.clz32(node);
      if (node === 1) target = Math.floor(rnd() * k) + (1 << nbits);
      return (target >> (nbits - 1 - depth)) & 1;
    }
    return rnd() < 0.5;
  };
}

function varint(v) {
  const out = [];
  for (;;) {
    const b = v % 128;
    v = Math.floor(v / 128);
    if (v) out.push(b | 0x80);
    else {
      out.push(b);
      return out;
    }
  }
}

function u32le(v) {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function u64le(v) {
  return [...u32le(v % 0x100000000), ...u32le(Math.floor(v / 0x100000000))];
}

/** A whole file (preamble, HEAD, frames, INDX, TAIL) for `major` from frame descriptions. */
export function buildFile({ major, W, H, k, coder, frames }) {
  const head = [
    ...u32le(W), ...u32le(H), ...u32le(25), ...u32le(1), ...u32le(1), ...u32le(1000),
    k & 0xff, k >> 8, coder, 0, 0xff, 0xff,
  ];
  const parts = [
    Uint8Array.from([0x89, 0x56, 0x51, 0x55, 0x41, 0x4e, 0x54, 0x0a, major, 0, 0, 0]),
    makeRecord('HEAD', Uint8Array.from(head)),
  ];
  let size = parts[0].length + parts[1].length;
  const index = [];
  let endPts = 0;
  frames.forEach((f, i) => {
    const n = f.keyframe ? k : f.palIdx.length;
    const hdr =
      major >= 4
        ? [f.mode, ...varint(f.pts), ...varint(f.dur), ...varint(n)]
        : [...u64le(f.pts), ...u64le(f.dur), f.mode, n & 0xff, n >> 8];
    const pal = [];
    if (f.keyframe) pal.push(...f.palRgb);
    else f.palIdx.forEach((x, j) => pal.push(x, ...f.palRgb.subarray(3 * j, 3 * j + 3)));
    const rec = makeRecord(f.keyframe ? 'KFRM' : 'PFRM', concat(Uint8Array.from([...hdr, ...pal]), f.payload));
    if (f.keyframe) index.push([...u32le(i), ...u64le(f.pts), ...u64le(size)]);
    parts.push(rec);
    size += rec.length;
    endPts = f.pts + f.dur;
  });
  const indexOffset = size;
  parts.push(makeRecord('INDX', Uint8Array.from([...u32le(index.length), ...index.flat()])));
  parts.push(
    makeRecord('TAIL', Uint8Array.from([...u32le(frames.length), ...u32le(index.length), ...u64le(indexOffset), ...u64le(endPts)])),
  );
  return concat(...parts);
}

const MODES = { INTRA: 0, REPEAT: 2, BLOCKS: 4 };

/** One random stream: maps decoded from chosen bits; returns the file and the maps' CRCs. */
export function randomStream(seed, { W, H, k, coder, major, frames = 6, weights = {}, forceMode } = {}) {
  const rnd = prng(seed);
  const w = { skip: 0.25, coded: 0.5, inter: 0.6, codedK: 0.75, ibcPred: 0.6, interPred: 0.5, zero: 0.35, negative: 0.5, grow: 0.3, rank: 0.6, ...weights };
  const policy = randomPolicy(rnd, k, w);
  const bits = new DrivenBits(policy);
  const dec = new _LabelMapDecoder(W, H, k, coder, bits);
  const out = [];
  const crcs = [];
  let prev = null;
  let pts = 0;
  for (let i = 0; i < frames; i++) {
    const keyframe = i === 0 || (forceMode === undefined && rnd() < 0.15);
    let mode = keyframe ? MODES.INTRA : forceMode ?? (rnd() < 0.15 ? MODES.INTRA : rnd() < 0.12 ? MODES.REPEAT : MODES.BLOCKS);
    let labels = prev;
    let payload = new Uint8Array(0);
    if (mode !== MODES.REPEAT) {
      const snap = [bits.f.slice(), bits.s.slice(), dec.interX, dec.interY, dec.ibcX, dec.ibcY, dec.valid];
      let ok = false;
      for (let attempt = 0; attempt < 5000 && !ok; attempt++) {
        bits.decisions = [];
        labels = new Uint8Array(W * H);
        try {
          dec.decode(new Uint8Array(0), mode === MODES.BLOCKS ? prev : null, labels, 0);
          ok = true;
        } catch (e) {
          if (!(e instanceof VqFormatError)) throw e;
          bits.f.set(snap[0]);
          bits.s.set(snap[1]);
          [, , dec.interX, dec.interY, dec.ibcX, dec.ibcY, dec.valid] = snap;
        }
      }
      if (!ok) throw new Error(`seed ${seed}: no valid map in 5000 attempts`);
      const enc = new RangeEncoder();
      const d = bits.decisions;
      for (let j = 0; j < d.length; j += 2) enc.encode(d[j], d[j + 1]);
      payload = enc.finish();
    }
    const n = keyframe ? k : Math.floor(rnd() * Math.min(k, 5));
    const palIdx = Uint8Array.from(
      [...new Set(Array.from({ length: n }, () => Math.floor(rnd() * k)))].sort((a, b) => a - b),
    );
    const palRgb = Uint8Array.from({ length: 3 * (keyframe ? k : palIdx.length) }, () => Math.floor(rnd() * 256));
    const dur = 1 + Math.floor(rnd() * 50);
    out.push({ keyframe, pts, dur, mode, palIdx, palRgb, payload });
    pts += dur + (rnd() < 0.2 ? Math.floor(rnd() * 1000) : 0);
    crcs.push(crc32(labels));
    if (process.env.RC_DEBUG) console.log(seed, i, dec.interX, dec.interY);
    prev = labels;
  }
  const bytes = buildFile({ major, W, H, k, coder, frames: out });
  // self-check: vq.js decodes the code back to the maps it was driven to
  const got = [...new FrameDecoder(new VqFile(bytes)).frames()].map((f) => crc32(f.labels));
  if (JSON.stringify(got) !== JSON.stringify(crcs)) throw new Error(`seed ${seed}: self-check failed`);
  return bytes;
}

/** The set of random-code files written for the fixtures. */
export function randomFiles() {
  const files = {};
  const rnd = prng(99);
  const ks = [2, 3, 5, 16, 200, 256];
  for (let i = 0; i < 60; i++) {
    const coder = i % 3 === 2 ? 2 : 3;
    const major = coder === 2 ? 2 : i % 3 === 1 ? 3 : 4;
    const W = 1 + Math.floor(rnd() * 40);
    const H = 1 + Math.floor(rnd() * 30);
    const k = ks[i % ks.length];
    files[`rc_${String(i).padStart(2, '0')}_${W}x${H}_k${k}_v${major}.vq`] = randomStream(1000 + i, { W, H, k, coder, major });
  }
  // long vectors and intra copies everywhere
  files['rc_vectors_v4.vq'] = randomStream(7, { W: 64, H: 48, k: 8, coder: 3, major: 4, frames: 8, weights: { skip: 0.05, coded: 0.3, inter: 0.8, zero: 0.1, grow: 0.75 } });
  // the carried INTER vector grows past 2^31 (and 2^32) over the maps: exact integers needed
  const huge = { skip: 0, coded: 0.05, inter: 1, codedK: 1, interPred: 0, zero: 0, negative: 0, grow: 1, dyZero: 1, rank: 0.9 };
  files['rc_hugevectors_v4.vq'] = randomStream(10, { W: 7680, H: 8, k: 4, coder: 3, major: 4, frames: 100, weights: huge, forceMode: MODES.BLOCKS });
  const ibc = { skip: 0.05, coded: 0.3, inter: 0.2, codedK: 0.6, ibcPred: 0.6, zero: 0.6, grow: 0.15 };
  files['rc_ibc_v4.vq'] = randomStream(8, { W: 40, H: 24, k: 4, coder: 3, major: 4, frames: 5, weights: ibc });
  files['rc_ibc_v2.vq'] = randomStream(9, { W: 40, H: 24, k: 4, coder: 2, major: 2, frames: 5, weights: ibc });
  return files;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node tests/js/randomcodes.mjs OUTDIR');
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(randomFiles())) writeFileSync(path.join(dir, name), bytes);
}
