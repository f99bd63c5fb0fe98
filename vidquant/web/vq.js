/**
 * vq.js: a browser-side decoder for vidquant's `.vq` palette-video files (FORMAT.md, 4.0).
 *
 * An ES module with no dependencies and no build step; it runs in browsers and in Node 20.
 * Written from FORMAT.md alone (an independent implementation of the reference decoder).
 *
 * Versions: majors 4, 3 and 2 decode (label coders 3 and 2, §6-7). 1.x files are refused with
 * a VqVersionError (their label maps are Zstandard frames, which this module does not carry:
 * re-encode them with the current vidquant). Any other major is refused. A minor newer than
 * this reader's (4.0, 3.0, 2.0) is read after a warning (the `onWarning` option).
 *
 * Untrusted input: every length, count, index and coded symbol is checked (§9) before it is
 * used; the only allocations beyond the file's own bytes are the label maps (W·H bytes each,
 * W·H ≤ 7680 × 4320), per-block modes and vectors and the palette. Every failure is a VqError
 * carrying the byte offset of the record (or field) at fault.
 *
 * Numbers: 64-bit fields (pts, durations, offsets) are returned as JavaScript Numbers. A value
 * whose magnitude exceeds Number.MAX_SAFE_INTEGER (2^53 − 1) cannot be held exactly and is
 * refused with a VqFormatError (the format allows up to 2^63; no real file comes near).
 *
 * API
 *
 *   new VqFile(bytes: Uint8Array, {onWarning?: (message) => void})
 *       Parses the preamble, HEAD and the optional ahdr. Properties:
 *       version: [major, minor]
 *       header: {width, height, fps: [num, den], timeBase: [num, den], k, labelCoder,
 *                alphaIndex: null | int, meta: object}
 *       audio: null | {sampleRate, timeBase: [num, den], channels, codec, layout,
 *                      extradata: Uint8Array}
 *       firstFrameOffset: offset of the first record after HEAD (and ahdr, if present)
 *     *records(startOffset?, {midStream?})
 *       Yields, from startOffset (default firstFrameOffset) in file order, with every
 *       container check of §9:
 *         {type: 'frame', offset, keyframe, pts, duration, mode, paletteIndex: Uint8Array,
 *          paletteRgb: Uint8Array (n·3), labelBytes: Uint8Array}
 *           (for a KFRM paletteIndex is 0..k−1; for a PFRM the delta indices)
 *         {type: 'audio', offset, pts, duration, data: Uint8Array}
 *       and returns after the INDX record once the TAIL has been checked (TAIL right after
 *       INDX, index_offset = the INDX's offset, and, for a whole-file read without
 *       startOffset, frames = the number of frame records, as the reference reader does).
 *       Audio packets are read anywhere in the frame section when the file has an ahdr (and,
 *       as in the reference reader, skipped without one); other ancillary records (a misplaced
 *       ahdr too) are skipped. The Uint8Arrays are views into `bytes` (do not modify them).
 *     readIndex() -> {trailer: {frames, keyframes, indexOffset, endPts},
 *                     entries: [{frame, pts, offset}]}   (§4.4-4.5, all checks of §9)
 *
 *   new FrameDecoder(vqFile)
 *     *frames(startOffset?, startIndex?)
 *       Yields {index, offset, pts, duration, keyframe, labels: Uint8Array (W·H, row-major),
 *               palette: Uint8Array (k·3)} (offset: the frame record's, where a keyframe's
 *               decoding can start again). The palette is a fresh snapshot per frame. The
 *       labels are a fresh array per decoded map; a REPEAT frame yields the previous frame's
 *       array again (treat labels as read-only). `index` counts from startIndex, else from the
 *       index entry at startOffset, else 0 at firstFrameOffset, else it is null (unknown).
 *       The record at startOffset must be a KFRM (or ancillary/audio records before one).
 *       blockStats (Float64Array of 6) counts the block modes of the last run: SKIP, INTER,
 *       IBC, CODED, CODED with a vector ≠ (0, 0), INTER with a vector ≠ (0, 0).
 *     seek(targetPts) -> offset of the KFRM to decode from to show targetPts (§8): the last
 *       index entry with pts ≤ targetPts, else the first; firstFrameOffset if the trailer or
 *       index is missing or invalid.
 *     *framesAt(targetPts)
 *       seek() then frames(), dropping frames with pts + duration ≤ targetPts (§8 step 5).
 *
 *   new FrameCursor(vqFile, startOffset, startIndex?)
 *     next(file?) -> the next frame (as frames() yields them) or null after the last, read
 *       from `file` (a longer view of the same file, while it downloads); a VqTruncatedError
 *       leaves the cursor where it was, so it can be called again once more bytes are in.
 *
 *   keyframeEntry(entries, targetPts) -> the index entry to decode from (§8 step 3), or null.
 *
 *   toRGBA(labels, palette, alphaIndex = null, out?) -> Uint8ClampedArray (labels.length·4)
 *       RGBA pixels: palette[label], alpha 0 where label === alphaIndex, else 255.
 *
 *   LIMIT_HEAD, LIMIT_AHDR: the largest HEAD and ahdr payloads (§9), for a reader that
 *       fetches a file's head by itself.
 *
 *   Errors: VqError (base, `.offset`), VqFormatError, VqTruncatedError, VqVersionError.
 *   A truncated file yields every whole frame before the cut, then throws VqTruncatedError.
 *
 * Usage
 *
 *   import { VqFile, FrameDecoder, toRGBA } from './vq.js';
 *   const file = new VqFile(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 *   const { width, height, timeBase: [num, den], alphaIndex } = file.header;
 *   const image = new ImageData(width, height);
 *   for (const frame of new FrameDecoder(file).frames()) {
 *     toRGBA(frame.labels, frame.palette, alphaIndex, image.data);
 *     // show `image` at frame.pts * num / den seconds, for frame.duration * num / den
 *   }
 *   // start at t seconds: new FrameDecoder(file).framesAt(Math.floor(t * den / num))
 *
 * Label-map vectors are integers but are kept in Float64Arrays: a valid stream can sum them
 * past 32 bits (FORMAT.md §7.4), and doubles hold them exactly; everything else in the
 * decoding path is 32-bit integer arithmetic on typed arrays.
 */

// ---------------------------------------------------------------------------------------------
// Errors

export class VqError extends Error {
  /** @param {string} message @param {number} offset byte offset in the file */
  constructor(message, offset) {
    super(`${message} (at byte offset ${offset})`);
    this.name = this.constructor.name;
    this.offset = offset;
  }
}
/** The bytes break the format (a check of §9 failed). */
export class VqFormatError extends VqError {}
/** The file ends before a record (or the trailer) is complete. */
export class VqTruncatedError extends VqError {}
/** The file's major version cannot be read by this module. */
export class VqVersionError extends VqError {}

// ---------------------------------------------------------------------------------------------
// Format constants (FORMAT.md)

const MAGIC = [0x89, 0x56, 0x51, 0x55, 0x41, 0x4e, 0x54, 0x0a];
const NEWEST_MINOR = { 4: 0, 3: 0, 2: 0 };
const LABEL_CODER_FOR_MAJOR = { 4: 3, 3: 3, 2: 2 };
const MAX_W = 7680;
const MAX_H = 4320;
const MAX_META = 65536;
const HEAD_FIXED = 30;
export const LIMIT_HEAD = HEAD_FIXED + MAX_META;
const LIMIT_INDX = 4 + 20 * 10000000;
export const LIMIT_AHDR = 18 + 96 + 65536;
const MAX_AUDIO_PACKET = 1 << 20;
const LIMIT_APKT = 16 + MAX_AUDIO_PACKET;
const TAIL_PAYLOAD = 24;
const TAIL_SIZE = 8 + TAIL_PAYLOAD + 4;
const NO_ALPHA = 0xffff;

const MODE_INTRA = 0;
const MODE_REPEAT = 2;
const MODE_BLOCKS = 4;

const TAG_HEAD = 'HEAD';
const TAG_KFRM = 'KFRM';
const TAG_PFRM = 'PFRM';
const TAG_INDX = 'INDX';
const TAG_TAIL = 'TAIL';
const TAG_AHDR = 'ahdr';
const TAG_APKT = 'apkt';

const TWO32 = 4294967296;

// ---------------------------------------------------------------------------------------------
// CRC-32 (zlib / ISO-HDLC, reflected 0xEDB88320)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let j = 0; j < 8; j++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32Update(crc, bytes, start, end) {
  let c = ~crc;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Little-endian readers (offsets are checked by the callers)

function u16(b, o) {
  return b[o] | (b[o + 1] << 8);
}
function u32(b, o) {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
/** u64 as a Number; refused above 2^53 − 1. */
function u64(b, o, errOffset, what) {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi > 0x1fffff) throw new VqFormatError(`${what} exceeds 2^53 - 1 (not supported)`, errOffset);
  return hi * TWO32 + lo;
}
/** i64 as a Number; refused when |value| > 2^53 − 1. */
function i64(b, o, errOffset, what) {
  const lo = u32(b, o);
  const hi = u32(b, o + 4) | 0;
  const v = hi * TWO32 + lo;
  if (hi > 0x1fffff || hi < -0x200000 || v < -Number.MAX_SAFE_INTEGER) {
    throw new VqFormatError(`${what} exceeds 2^53 - 1 in magnitude (not supported)`, errOffset);
  }
  return v;
}

function isTagByte(c) {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x20;
}

// ---------------------------------------------------------------------------------------------
// VqFile: preamble, HEAD, ahdr, records, index

export class VqFile {
  /**
   * @param {Uint8Array} bytes the whole file
   * @param {{onWarning?: (message: string) => void}} [options]
   */
  constructor(bytes, { onWarning } = {}) {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError('VqFile needs a Uint8Array');
    }
    this.bytes = bytes;
    const warn = onWarning || ((m) => console.warn(m));
    const b = bytes;
    const n = b.length;
    // preamble
    for (let i = 0; i < MAGIC.length; i++) {
      if (i >= n) throw new VqTruncatedError('file shorter than the 12-byte preamble', n);
      if (b[i] !== MAGIC[i]) throw new VqFormatError('not a .vq file (bad magic)', 0);
    }
    if (n < 12) throw new VqTruncatedError('file shorter than the 12-byte preamble', n);
    const major = u16(b, 8);
    const minor = u16(b, 10);
    this.version = [major, minor];
    if (major === 1) {
      throw new VqVersionError(
        `version ${major}.${minor}: 1.x files code their label maps with Zstandard, which ` +
          'this browser decoder does not support; re-encode the file with the current vidquant',
        8,
      );
    }
    if (!(major in NEWEST_MINOR)) {
      throw new VqVersionError(
        `unsupported major version ${major} (version ${major}.${minor}; this decoder reads ` +
          '2.x, 3.x and 4.x)',
        8,
      );
    }
    if (minor > NEWEST_MINOR[major]) {
      warn(
        `vq: file version ${major}.${minor} is newer than this decoder's ` +
          `${major}.${NEWEST_MINOR[major]}; reading what it knows`,
      );
    }
    this.major = major;

    // HEAD
    const head = this._readRecord(12, () => LIMIT_HEAD);
    if (head.tag !== TAG_HEAD) throw new VqFormatError(`first record is ${head.tag}, not HEAD`, 12);
    this.header = parseHead(b, head, major);
    this._k = this.header.k;
    const wh = this.header.width * this.header.height;
    this._maxPayload = 21 + 4 * this._k + 2 * wh + 4096;
    let off = head.end;
    this.headEnd = head.end;

    // optional ahdr, right after HEAD
    this.audio = null;
    if (n - off >= 8 && tagAt(b, off) === TAG_AHDR) {
      const rec = this._readRecord(off, (t) => this._limitFor(t));
      this.audio = parseAhdr(b, rec);
      off = rec.end;
    }
    this.firstFrameOffset = off;
    this._index = undefined;
  }

  _limitFor(tag) {
    switch (tag) {
      case TAG_HEAD:
        return LIMIT_HEAD;
      case TAG_INDX:
        return LIMIT_INDX;
      case TAG_AHDR:
        return LIMIT_AHDR;
      case TAG_APKT:
        return LIMIT_APKT;
      case TAG_TAIL:
        return TAIL_PAYLOAD;
      default:
        return this._maxPayload; // KFRM, PFRM, unknown records
    }
  }

  /** The generic record checks of §9, in order. */
  _readRecord(off, limitFor) {
    const b = this.bytes;
    const left = b.length - off;
    if (left <= 0) {
      throw new VqTruncatedError('TAIL missing: the file ends before its trailer', off);
    }
    if (left < 8) throw new VqTruncatedError('truncated record header', off);
    for (let i = 0; i < 4; i++) {
      if (!isTagByte(b[off + i])) throw new VqFormatError('invalid record tag byte', off);
    }
    const tag = String.fromCharCode(b[off], b[off + 1], b[off + 2], b[off + 3]);
    const length = u32(b, off + 4);
    const limit = limitFor(tag);
    if (length > limit) {
      throw new VqFormatError(`${tag} record length ${length} exceeds its limit ${limit}`, off);
    }
    if (length + 4 > left - 8) {
      throw new VqTruncatedError(`${tag} record truncated (needs ${length + 12} bytes)`, off);
    }
    const start = off + 8;
    const end = start + length;
    let crc = crc32Update(0, b, off, off + 4);
    crc = crc32Update(crc, b, start, end);
    if (crc !== u32(b, end)) throw new VqFormatError(`${tag} record CRC mismatch`, off);
    return { tag, offset: off, start, length, end: end + 4 };
  }

  /**
   * Frame records and audio packets in file order, from startOffset; ends after the INDX
   * record once the TAIL has been checked. With `midStream`, the first frame record need not
   * be a KFRM (for a reader that only wants the audio packets from a record boundary on).
   */
  *records(startOffset = undefined, { midStream = false } = {}) {
    const b = this.bytes;
    const k = this._k;
    const v4 = this.major >= 4;
    // a whole-file read (no start offset) also checks TAIL's frame count, as the reference does
    let frameNumber = startOffset === undefined ? 0 : null;
    if (startOffset === undefined) startOffset = this.firstFrameOffset;
    if (!Number.isSafeInteger(startOffset) || startOffset < this.headEnd || startOffset > b.length) {
      throw new VqFormatError('start offset outside the frame section', startOffset);
    }
    let off = startOffset;
    let first = !midStream;
    let lastPts = null;
    for (;;) {
      const rec = this._readRecord(off, (t) => this._limitFor(t));
      off = rec.end;
      const tag = rec.tag;
      if (tag === TAG_KFRM || tag === TAG_PFRM) {
        const fr = parseFrame(b, rec, tag === TAG_KFRM, k, v4);
        if (first && !fr.keyframe) {
          throw new VqFormatError('the first frame record is not a KFRM', rec.offset);
        }
        if (lastPts !== null && fr.pts <= lastPts) {
          throw new VqFormatError(`pts ${fr.pts} not after the previous ${lastPts}`, rec.offset);
        }
        first = false;
        lastPts = fr.pts;
        if (frameNumber !== null) frameNumber++;
        fr.end = rec.end;
        yield fr;
      } else if (tag === TAG_APKT && this.audio !== null) {
        if (rec.length < 16) throw new VqFormatError('apkt payload shorter than 16 bytes', rec.offset);
        const pts = i64(b, rec.start, rec.offset, 'apkt pts');
        const duration = i64(b, rec.start + 8, rec.offset, 'apkt duration');
        if (duration < 0) throw new VqFormatError('negative apkt duration', rec.offset);
        yield {
          type: 'audio',
          offset: rec.offset,
          pts,
          duration,
          data: b.subarray(rec.start + 16, rec.start + rec.length),
          end: rec.end,
        };
      } else if (tag === TAG_INDX) {
        if (b.length < rec.end + TAIL_SIZE) {
          throw new VqTruncatedError('TAIL missing after INDX', rec.end);
        }
        const trailer = this.readTrailer();
        if (b.length !== rec.end + TAIL_SIZE) {
          throw new VqFormatError('unexpected bytes between the INDX and the TAIL', rec.end);
        }
        if (trailer.indexOffset !== rec.offset) {
          throw new VqFormatError(
            `TAIL index_offset ${trailer.indexOffset} but the INDX is at ${rec.offset}`,
            b.length - TAIL_SIZE,
          );
        }
        if (frameNumber !== null && trailer.frames !== frameNumber) {
          throw new VqFormatError(
            `TAIL counts ${trailer.frames} frames, the file holds ${frameNumber}`,
            b.length - TAIL_SIZE,
          );
        }
        return;
      } else if (tag.charCodeAt(0) >= 0x61 && tag.charCodeAt(0) <= 0x7a) {
        // ancillary: skip
      } else {
        throw new VqFormatError(`unexpected critical record ${JSON.stringify(tag)}`, rec.offset);
      }
    }
  }

  /** TAIL (§4.5) with the checks of §9. */
  readTrailer() {
    const b = this.bytes;
    const at = b.length - TAIL_SIZE;
    if (at < this.firstFrameOffset) {
      throw new VqTruncatedError('file too short to hold a trailer', Math.max(at, 0));
    }
    const rec = this._readRecord(at, (t) => this._limitFor(t));
    if (rec.tag !== TAG_TAIL) throw new VqFormatError('no TAIL record at the end of the file', at);
    if (rec.length !== TAIL_PAYLOAD) throw new VqFormatError('TAIL length is not 24', at);
    const p = rec.start;
    const frames = u32(b, p);
    const keyframes = u32(b, p + 4);
    const indexOffset = u64(b, p + 8, at, 'TAIL index_offset');
    const endPts = i64(b, p + 16, at, 'TAIL end_pts');
    if (indexOffset < this.firstFrameOffset || indexOffset >= at) {
      throw new VqFormatError(`TAIL index_offset ${indexOffset} out of range`, at);
    }
    if (keyframes > frames) throw new VqFormatError('TAIL: more keyframes than frames', at);
    return { frames, keyframes, indexOffset, endPts };
  }

  /** The trailer and the keyframe index (§4.4-4.5), with all checks of §9. */
  readIndex() {
    if (this._index) return this._index;
    const b = this.bytes;
    const trailer = this.readTrailer();
    const at = trailer.indexOffset;
    const rec = this._readRecord(at, () => LIMIT_INDX);
    if (rec.tag !== TAG_INDX) throw new VqFormatError('no INDX record at index_offset', at);
    if (rec.end > b.length - TAIL_SIZE) throw new VqFormatError('INDX overlaps the TAIL', at);
    if (rec.length < 4) throw new VqFormatError('INDX payload shorter than 4 bytes', at);
    const count = u32(b, rec.start);
    if (count !== trailer.keyframes) {
      throw new VqFormatError(`INDX count ${count} != TAIL keyframes ${trailer.keyframes}`, at);
    }
    if (rec.length !== 4 + 20 * count) throw new VqFormatError('INDX length does not match count', at);
    const entries = new Array(count);
    let prev = null;
    for (let i = 0; i < count; i++) {
      const p = rec.start + 4 + 20 * i;
      const frame = u32(b, p);
      const pts = i64(b, p + 4, at, 'INDX pts');
      const offset = u64(b, p + 12, at, 'INDX offset');
      if (offset < this.firstFrameOffset || offset >= at) {
        throw new VqFormatError(`INDX entry ${i}: offset ${offset} out of range`, at);
      }
      if (frame >= trailer.frames) throw new VqFormatError(`INDX entry ${i}: frame out of range`, at);
      if (prev && !(offset > prev.offset && pts > prev.pts && frame > prev.frame)) {
        throw new VqFormatError(`INDX entry ${i} does not follow entry ${i - 1}`, at);
      }
      prev = entries[i] = { frame, pts, offset };
    }
    this._index = { trailer, entries };
    return this._index;
  }
}

function tagAt(b, off) {
  return String.fromCharCode(b[off], b[off + 1], b[off + 2], b[off + 3]);
}

function parseHead(b, rec, major) {
  const o = rec.offset;
  const p = rec.start;
  if (rec.length < HEAD_FIXED) throw new VqFormatError('HEAD payload shorter than 30 bytes', o);
  const width = u32(b, p);
  const height = u32(b, p + 4);
  const fpsNum = u32(b, p + 8);
  const fpsDen = u32(b, p + 12);
  const tbNum = u32(b, p + 16);
  const tbDen = u32(b, p + 20);
  const k = u16(b, p + 24);
  const labelCoder = b[p + 26];
  const paletteCoder = b[p + 27];
  const alpha = u16(b, p + 28);
  if (width < 1 || width > MAX_W) throw new VqFormatError(`width ${width} out of range`, o);
  if (height < 1 || height > MAX_H) throw new VqFormatError(`height ${height} out of range`, o);
  if (fpsNum < 1 || fpsDen < 1) throw new VqFormatError('fps numerator/denominator is 0', o);
  if (tbNum < 1 || tbDen < 1) throw new VqFormatError('time base numerator/denominator is 0', o);
  if (k < 2 || k > 256) throw new VqFormatError(`k ${k} out of range 2..256`, o);
  if (labelCoder !== LABEL_CODER_FOR_MAJOR[major]) {
    throw new VqFormatError(`label coder ${labelCoder} does not belong to major ${major}`, o);
  }
  if (paletteCoder !== 0) throw new VqFormatError(`unknown palette coder ${paletteCoder}`, o);
  if (alpha !== NO_ALPHA && alpha >= k) throw new VqFormatError(`alpha index ${alpha} >= k`, o);
  let meta = {};
  if (rec.length > HEAD_FIXED) {
    let text;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
        b.subarray(p + HEAD_FIXED, p + rec.length),
      );
    } catch {
      throw new VqFormatError('HEAD meta is not UTF-8', o);
    }
    try {
      meta = parseJson(text);
    } catch {
      throw new VqFormatError('HEAD meta is not JSON', o);
    }
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
      throw new VqFormatError('HEAD meta is not a JSON object', o);
    }
  }
  return {
    width,
    height,
    fps: [fpsNum, fpsDen],
    timeBase: [tbNum, tbDen],
    k,
    labelCoder,
    alphaIndex: alpha === NO_ALPHA ? null : alpha,
    meta,
  };
}

/**
 * JSON.parse, also accepting the tokens NaN, Infinity and -Infinity outside strings as Python's
 * json module (the reference reader) does; they become null.
 */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!/NaN|Infinity/.test(text)) throw err;
  }
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith('NaN', i)) {
      out += 'null';
      i += 3;
    } else if (text.startsWith('-Infinity', i)) {
      out += 'null';
      i += 9;
    } else if (text.startsWith('Infinity', i)) {
      out += 'null';
      i += 8;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

function asciiName(b, start, len, o, alnum, what) {
  let s = '';
  for (let i = 0; i < len; i++) {
    const c = b[start + i];
    const ok = alnum
      ? (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f
      : c < 0x80;
    if (!ok) throw new VqFormatError(`ahdr ${what} name has a byte 0x${c.toString(16)}`, o);
    s += String.fromCharCode(c);
  }
  return s;
}

function parseAhdr(b, rec) {
  const o = rec.offset;
  const p = rec.start;
  if (rec.length < 18) throw new VqFormatError('ahdr payload shorter than 18 bytes', o);
  const sampleRate = u32(b, p);
  const num = u32(b, p + 4);
  const den = u32(b, p + 8);
  const channels = u16(b, p + 12);
  const codecLen = u16(b, p + 14);
  const layoutLen = u16(b, p + 16);
  if (sampleRate < 1 || sampleRate > 384000) throw new VqFormatError('ahdr sample rate out of range', o);
  if (num < 1 || den < 1) throw new VqFormatError('ahdr time base has a 0', o);
  if (channels < 1 || channels > 64) throw new VqFormatError('ahdr channels out of range', o);
  if (codecLen < 1 || codecLen > 32) throw new VqFormatError('ahdr codec_len out of range', o);
  if (layoutLen > 64) throw new VqFormatError('ahdr layout_len out of range', o);
  if (18 + codecLen + layoutLen > rec.length) throw new VqFormatError('ahdr names run past the record', o);
  const codec = asciiName(b, p + 18, codecLen, o, true, 'codec');
  const layout = asciiName(b, p + 18 + codecLen, layoutLen, o, false, 'layout');
  return {
    sampleRate,
    timeBase: [num, den],
    channels,
    codec,
    layout,
    extradata: b.subarray(p + 18 + codecLen + layoutLen, p + rec.length),
  };
}

/** An unsigned LEB128 varint of §4.3 at b[pos..end); returns [value, nextPos]. */
function readVarint(b, pos, end, o, what) {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 9; i++) {
    if (pos >= end) throw new VqFormatError(`frame header: ${what} runs past the record`, o);
    const c = b[pos++];
    value += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) {
      if (c === 0 && i > 0) throw new VqFormatError(`frame header: ${what} has a needless byte`, o);
      if (value > Number.MAX_SAFE_INTEGER) {
        throw new VqFormatError(`frame header: ${what} exceeds 2^53 - 1 (not supported)`, o);
      }
      return [value, pos];
    }
    mul *= 128;
  }
  throw new VqFormatError(`frame header: ${what} is longer than 9 bytes`, o);
}

const IDENTITY = (() => {
  const a = new Uint8Array(256);
  for (let i = 0; i < 256; i++) a[i] = i;
  return a;
})();

function parseFrame(b, rec, keyframe, k, v4) {
  const o = rec.offset;
  const p = rec.start;
  const end = p + rec.length;
  let mode;
  let pts;
  let duration;
  let n;
  let q;
  if (v4) {
    if (rec.length < 1) throw new VqFormatError('frame header truncated', o);
    mode = b[p];
    [pts, q] = readVarint(b, p + 1, end, o, 'pts');
    [duration, q] = readVarint(b, q, end, o, 'duration');
    [n, q] = readVarint(b, q, end, o, 'palette count');
  } else {
    if (rec.length < 19) throw new VqFormatError('frame header shorter than 19 bytes', o);
    pts = i64(b, p, o, 'pts');
    duration = i64(b, p + 8, o, 'duration');
    mode = b[p + 16];
    n = u16(b, p + 17);
    q = p + 19;
  }
  if (duration <= 0) throw new VqFormatError(`duration ${duration} is not positive`, o);
  if (mode !== MODE_INTRA && mode !== MODE_REPEAT && mode !== MODE_BLOCKS) {
    throw new VqFormatError(`unknown label mode ${mode}`, o);
  }
  if (keyframe && mode !== MODE_INTRA) throw new VqFormatError('KFRM label mode is not INTRA', o);
  if (keyframe && n !== k) throw new VqFormatError(`KFRM palette has ${n} entries, not k`, o);
  if (n > k) throw new VqFormatError(`palette count ${n} exceeds k`, o);
  const s = keyframe ? 3 : 4;
  if (q + n * s > end) throw new VqFormatError('palette runs past the record', o);
  let paletteIndex;
  let paletteRgb;
  if (keyframe) {
    paletteIndex = IDENTITY.subarray(0, k);
    paletteRgb = b.subarray(q, q + 3 * n);
  } else {
    paletteIndex = new Uint8Array(n);
    paletteRgb = new Uint8Array(3 * n);
    let last = -1;
    for (let i = 0; i < n; i++) {
      const e = q + 4 * i;
      const idx = b[e];
      if (idx >= k) throw new VqFormatError(`palette delta index ${idx} >= k`, o);
      if (idx <= last) throw new VqFormatError('palette delta indices not increasing', o);
      last = idx;
      paletteIndex[i] = idx;
      paletteRgb[3 * i] = b[e + 1];
      paletteRgb[3 * i + 1] = b[e + 2];
      paletteRgb[3 * i + 2] = b[e + 3];
    }
  }
  const labelBytes = b.subarray(q + n * s, end);
  if (mode === MODE_REPEAT && labelBytes.length !== 0) {
    throw new VqFormatError('REPEAT frame has a label payload', o);
  }
  return { type: 'frame', offset: o, keyframe, pts, duration, mode, paletteIndex, paletteRgb, labelBytes };
}

// ---------------------------------------------------------------------------------------------
// Label coders 3 and 2 (§6-7)

const CONTEXTS = 4021;
const CTX_SKIP = 0;
const CTX_CODED_P = 25;
const CTX_INTER = 50;
const CTX_CODED_K = 75;
const CTX_INTER_PRED = 100;
const CTX_IBC_PRED = 103;
const CTX_INTER_DX = 106;
const CTX_INTER_DY = 380;
const CTX_IBC_DX = 654;
const CTX_IBC_DY = 928;
const CTX_PIXEL = 1202;
const CTX_LITERAL = 3762;
const CTX_CODED_PRED = 4018;

const SKIP = 0;
const INTER = 1;
const IBC = 2;
const CODED = 3;
const NONE = 4;

/** Adaptive binary range decoder of §6 with the context array (f and s estimates). */
class RangeDecoder {
  constructor() {
    this.f = new Uint16Array(CONTEXTS);
    this.s = new Uint16Array(CONTEXTS);
    this.data = null;
    this.len = 0;
    this.pos = 0;
    this.range = 0;
    this.code = 0;
  }

  resetContexts() {
    this.f.fill(32768);
    this.s.fill(32768);
  }

  start(data) {
    this.data = data;
    this.len = data.length;
    this.pos = 0;
    this.range = 0xffffffff;
    let code = 0;
    for (let i = 0; i < 5; i++) code = ((code << 8) | this.next()) >>> 0;
    this.code = code;
  }

  next() {
    const p = this.pos++;
    return p < this.len ? this.data[p] : 0;
  }

  bit(c) {
    const f = this.f[c];
    const s = this.s[c];
    let p = (f + s) >> 5;
    if (p < 1) p = 1;
    else if (p > 4095) p = 4095;
    const bound = (this.range >>> 12) * p; // < 2^32, exact
    let bit;
    if (this.code < bound) {
      this.range = bound;
      this.f[c] = f + ((65536 - f) >> 4);
      this.s[c] = s + ((65536 - s) >> 7);
      bit = 1;
    } else {
      this.code = (this.code - bound) >>> 0;
      this.range = (this.range - bound) >>> 0;
      this.f[c] = f - (f >> 4);
      this.s[c] = s - (s >> 7);
      bit = 0;
    }
    while (this.range < 0x1000000) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.next()) >>> 0;
    }
    return bit;
  }

  /** Unsigned value of §6.3 with context base B. */
  uint(B) {
    let n = 0;
    while (n < 15 && this.bit(B + n)) n++;
    let w = 1;
    const base = B + 16 + 16 * n;
    for (let j = 0; j < n; j++) w = (w << 1) | this.bit(base + j);
    return w - 1;
  }

  /** Signed value of §6.3 with context base B. */
  sint(B) {
    if (this.bit(B)) return 0;
    const neg = this.bit(B + 1);
    const m = this.uint(B + 2) + 1;
    return neg ? -m : m;
  }
}

function clamp(v, hi) {
  return v < 0 ? 0 : v > hi ? hi : v;
}

/** The state of a label-map stream (§7.1) and the map decoder. */
class LabelMapDecoder {
  constructor(width, height, k, labelCoder, rc = new RangeDecoder()) {
    this.W = width;
    this.H = height;
    this.k = k;
    this.coder3 = labelCoder === 3;
    this.nbx = Math.ceil(width / 8);
    this.nby = Math.ceil(height / 8);
    const nb = this.nbx * this.nby;
    this.modes = new Uint8Array(nb);
    // vectors are integers; Float64Array keeps them exact whatever a crafted file sums up to
    this.vx = new Float64Array(nb);
    this.vy = new Float64Array(nb);
    let nbits = 1;
    while (1 << nbits < k) nbits++;
    this.nbits = nbits;
    this.rc = rc;
    this.valid = false;
    this.interX = 0;
    this.interY = 0;
    this.ibcX = 0;
    this.ibcY = -8;
    this.cand = new Int32Array(5);
    this.stats = new Float64Array(6); // SKIP, INTER, IBC, CODED, CODED with vector != 0, INTER != 0
  }

  reset() {
    this.rc.resetContexts();
    this.interX = 0;
    this.interY = 0;
    this.ibcX = 0;
    this.ibcY = -8;
    this.valid = true;
  }

  /**
   * Decode one map. prev: null for INTRA, the previous labels for BLOCKS. o: record offset.
   */
  decode(data, prev, cur, o) {
    const blocks = prev !== null;
    if (!blocks) this.reset();
    else if (!this.valid) throw new VqFormatError('BLOCKS map without a decoded state chain', o);
    this.valid = false;
    const { W, H, k, nbx, nby, modes, vx, vy, rc, cand, stats } = this;
    const coder3 = this.coder3;
    const nbits = this.nbits;
    const litBase = 1 << nbits;
    const Wm = W - 1;
    const Hm = H - 1;
    rc.start(data);
    const len = data.length;
    for (let by = 0; by < nby; by++) {
      const y0 = 8 * by;
      const bh = Math.min(8, H - y0);
      for (let bx = 0; bx < nbx; bx++) {
        if (rc.pos > len) throw new VqFormatError('label code shorter than its map', o);
        const x0 = 8 * bx;
        const bw = Math.min(8, W - x0);
        const bi = by * nbx + bx;
        const left = bx > 0 ? modes[bi - 1] : NONE;
        const top = by > 0 ? modes[bi - nbx] : NONE;
        const m = 5 * left + top;
        let mode;
        if (blocks) {
          if (rc.bit(CTX_SKIP + m)) mode = SKIP;
          else if (rc.bit(CTX_CODED_P + m)) mode = CODED;
          else if (rc.bit(CTX_INTER + m)) mode = INTER;
          else mode = IBC;
        } else {
          mode = rc.bit(CTX_CODED_K + m) ? CODED : IBC;
        }
        modes[bi] = mode;
        stats[mode]++;
        let dx = 0;
        let dy = 0;
        if (mode === SKIP) {
          for (let y = y0; y < y0 + bh; y++) {
            const r = y * W;
            for (let x = x0; x < x0 + bw; x++) cur[r + x] = prev[r + x];
          }
        } else if (mode !== CODED || (blocks && coder3)) {
          // vector (§7.4)
          const hasL = bx > 0;
          const hasT = by > 0;
          const lm = hasL ? modes[bi - 1] : NONE;
          const tm = hasT ? modes[bi - nbx] : NONE;
          let L;
          let T;
          if (mode === CODED) {
            L = lm === INTER || lm === CODED;
            T = tm === INTER || tm === CODED;
          } else {
            L = lm === mode;
            T = tm === mode;
          }
          let px;
          let py;
          if (L) {
            px = vx[bi - 1];
            py = vy[bi - 1];
          } else if (T) {
            px = vx[bi - nbx];
            py = vy[bi - nbx];
          } else if (mode === IBC) {
            px = this.ibcX;
            py = this.ibcY;
          } else {
            px = this.interX;
            py = this.interY;
          }
          const v = (L ? 1 : 0) + (T ? 1 : 0);
          let predCtx;
          let cdx;
          let cdy;
          if (mode === IBC) {
            predCtx = CTX_IBC_PRED;
            cdx = CTX_IBC_DX;
            cdy = CTX_IBC_DY;
          } else {
            predCtx = mode === INTER ? CTX_INTER_PRED : CTX_CODED_PRED;
            cdx = CTX_INTER_DX;
            cdy = CTX_INTER_DY;
          }
          if (rc.bit(predCtx + v)) {
            dx = px;
            dy = py;
          } else {
            dx = px + rc.sint(cdx);
            dy = py + rc.sint(cdy);
          }
          if (mode === IBC) {
            const sx0 = x0 + dx;
            const sy0 = y0 + dy;
            const sx1 = sx0 + bw;
            const sy1 = sy0 + bh;
            if (
              !(
                sx0 >= 0 &&
                sy0 >= 0 &&
                sx1 <= W &&
                sy1 <= H &&
                (sy1 <= y0 || (sy1 <= y0 + 8 && sx1 <= x0))
              )
            ) {
              throw new VqFormatError(`intra-copy vector (${dx}, ${dy}) reads undecoded pixels`, o);
            }
            this.ibcX = dx;
            this.ibcY = dy;
            const d = dy * W + dx;
            for (let y = y0; y < y0 + bh; y++) {
              const r = y * W;
              for (let x = x0; x < x0 + bw; x++) cur[r + x] = cur[r + x + d];
            }
          } else {
            this.interX = dx;
            this.interY = dy;
            if (mode === INTER) {
              if (dx !== 0 || dy !== 0) stats[5]++;
              for (let y = y0; y < y0 + bh; y++) {
                const r = y * W;
                const sr = clamp(y + dy, Hm) * W;
                for (let x = x0; x < x0 + bw; x++) cur[r + x] = prev[sr + clamp(x + dx, Wm)];
              }
            } else if (dx !== 0 || dy !== 0) {
              stats[4]++;
            }
          }
        }
        vx[bi] = dx;
        vy[bi] = dy;
        if (mode !== CODED) continue;

        // coded pixels (§7.5)
        for (let y = y0; y < y0 + bh; y++) {
          const r = y * W;
          const up = r - W;
          const hasN = y > 0;
          const firstRow = y === y0;
          const rr = blocks ? clamp(y + dy, Hm) * W : 0;
          const rrUp = blocks ? clamp(y - 1 + dy, Hm) * W : 0;
          for (let x = x0; x < x0 + bw; x++) {
            const hasW = x > 0;
            // distinct sentinels: a missing neighbour never equals anything
            const wv = hasW ? cur[r + x - 1] : -1;
            const nv = hasN ? cur[up + x] : -2;
            const nwv = hasW && hasN ? cur[up + x - 1] : -3;
            const nev = hasN && x + 1 < W && (firstRow || x + 1 < x0 + 8) ? cur[up + x + 1] : -4;
            let q = 0;
            if (wv === nv) q |= 1;
            if (wv === nwv) q |= 2;
            if (nv === nev) q |= 4;
            if (nv === nwv) q |= 8;
            let nc = 0;
            if (blocks) {
              const pv = prev[rr + clamp(x + dx, Wm)];
              q |= 16;
              if (pv === wv) q |= 32;
              if (pv === nv) q |= 64;
              if (hasW && prev[rr + clamp(x - 1 + dx, Wm)] === wv) q |= 128;
              if (hasN && prev[rrUp + clamp(x + dx, Wm)] === nv) q |= 256;
              cand[nc++] = pv;
            }
            nc = addCandidate(cand, nc, wv);
            nc = addCandidate(cand, nc, nv);
            nc = addCandidate(cand, nc, nev);
            nc = addCandidate(cand, nc, nwv);
            let label = -1;
            for (let i = 0; i < nc; i++) {
              if (rc.bit(CTX_PIXEL + 512 * i + q)) {
                label = cand[i];
                break;
              }
            }
            if (label < 0) {
              let node = 1;
              for (let j = 0; j < nbits; j++) node = (node << 1) | rc.bit(CTX_LITERAL + node);
              label = node - litBase;
              if (label >= k) throw new VqFormatError(`literal label ${label} >= k`, o);
            }
            cur[r + x] = label;
          }
        }
      }
    }
    if (rc.pos !== len) {
      throw new VqFormatError(
        `label code length ${len} does not match the ${rc.pos} bytes its map reads`,
        o,
      );
    }
    this.valid = true;
  }
}

// ---------------------------------------------------------------------------------------------
// FrameDecoder

export class FrameDecoder {
  /** @param {VqFile} vqFile */
  constructor(vqFile) {
    this.file = vqFile;
    /** Block-mode counts of the last frames() run: SKIP, INTER, IBC, CODED, CODED with a
     * vector, INTER with a vector (informative, for tests and statistics). */
    this.blockStats = new Float64Array(6);
  }

  _startIndex(offset) {
    if (offset === this.file.firstFrameOffset) return 0;
    try {
      const e = this.file.readIndex().entries.find((x) => x.offset === offset);
      return e ? e.frame : null;
    } catch (err) {
      if (err instanceof VqError) return null;
      throw err;
    }
  }

  /** Decoded frames from startOffset (a KFRM, or records before one). */
  *frames(startOffset = undefined, startIndex = undefined) {
    const f = this.file;
    const { width: W, height: H, k, labelCoder } = f.header;
    const dec = new LabelMapDecoder(W, H, k, labelCoder);
    this.blockStats = dec.stats;
    const palette = new Uint8Array(3 * k);
    let index =
      startIndex !== undefined
        ? startIndex
        : this._startIndex(startOffset === undefined ? f.firstFrameOffset : startOffset);
    const state = { dec, palette, prev: null, W, H };
    for (const r of f.records(startOffset)) {
      if (r.type !== 'frame') continue;
      const labels = decodeFrame(state, r);
      yield {
        index,
        offset: r.offset,
        pts: r.pts,
        duration: r.duration,
        keyframe: r.keyframe,
        labels,
        palette: palette.slice(),
      };
      if (index !== null) index++;
    }
  }

  /** Offset of the KFRM to decode from to present targetPts (§8). */
  seek(targetPts) {
    let idx;
    try {
      idx = this.file.readIndex();
    } catch (err) {
      if (err instanceof VqError) return this.file.firstFrameOffset;
      throw err;
    }
    const e = keyframeEntry(idx.entries, targetPts);
    return e === null ? this.file.firstFrameOffset : e.offset;
  }

  /** The frames from the one on screen at targetPts on (§8 steps 3-5). */
  *framesAt(targetPts) {
    for (const fr of this.frames(this.seek(targetPts))) {
      if (fr.pts + fr.duration <= targetPts) continue;
      yield fr;
    }
  }
}

/**
 * The index entry to decode from to present targetPts (§8 step 3): the last one with
 * pts ≤ targetPts, else the first; null for an empty index. `entries` as readIndex gives them.
 */
export function keyframeEntry(entries, targetPts) {
  if (entries.length === 0) return null;
  let lo = 0;
  let hi = entries.length; // first entry with pts > target
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid].pts <= targetPts) lo = mid + 1;
    else hi = mid;
  }
  return entries[lo > 0 ? lo - 1 : 0];
}

/** Append label `v` (-1: no such neighbour) to the first `nc` candidates unless it is among
 * them already (FORMAT.md §7.5: repeats dropped); returns the new count. */
function addCandidate(cand, nc, v) {
  if (v < 0) return nc;
  for (let i = 0; i < nc; i++) if (cand[i] === v) return nc;
  cand[nc] = v;
  return nc + 1;
}

/** Apply frame record `r` to a decoding state {dec, palette, prev, W, H}: its palette entries,
 * then its label map; returns the labels (the previous frame's own array for REPEAT). */
function decodeFrame(state, r) {
  const palette = state.palette;
  if (r.keyframe) {
    palette.set(r.paletteRgb);
  } else {
    const idx = r.paletteIndex;
    const rgb = r.paletteRgb;
    for (let i = 0; i < idx.length; i++) {
      const e = 3 * idx[i];
      palette[e] = rgb[3 * i];
      palette[e + 1] = rgb[3 * i + 1];
      palette[e + 2] = rgb[3 * i + 2];
    }
  }
  let labels;
  if (r.mode === MODE_REPEAT) {
    if (state.prev === null) throw new VqFormatError('REPEAT without a previous frame', r.offset);
    labels = state.prev;
  } else {
    if (r.mode === MODE_BLOCKS && state.prev === null) {
      throw new VqFormatError('BLOCKS without a previous frame', r.offset);
    }
    labels = new Uint8Array(state.W * state.H);
    state.dec.decode(r.labelBytes, r.mode === MODE_BLOCKS ? state.prev : null, labels, r.offset);
  }
  state.prev = labels;
  return labels;
}

/**
 * Frames one at a time from a keyframe on, over a file that may still be arriving: next(file)
 * reads the record after the last one it decoded from `file` (the same file, or a longer view
 * of it) and keeps the decoding state between calls, so a reader that catches up with a
 * download waits and calls next() again without decoding anything twice. When the next record
 * is not all there it throws VqTruncatedError and stays where it was.
 */
export class FrameCursor {
  /** @param {VqFile} vqFile @param {number} startOffset a KFRM's (or records before one)
   * @param {number|null} startIndex the frame number there */
  constructor(vqFile, startOffset, startIndex = null) {
    const { width: W, height: H, k, labelCoder } = vqFile.header;
    this.file = vqFile;
    this.offset = startOffset;
    this.index = startIndex;
    this.state = { dec: new LabelMapDecoder(W, H, k, labelCoder), palette: new Uint8Array(3 * k),
      prev: null, W, H };
    this.lastPts = null;
    this.ended = false;
  }

  /** The next frame (as FrameDecoder.frames yields them), or null after the last. */
  next(file = this.file) {
    this.file = file;
    while (!this.ended) {
      const step = file.records(this.offset, { midStream: true }).next();
      if (step.done) {
        this.ended = true;
        break;
      }
      const r = step.value;
      if (r.type !== 'frame') {
        this.offset = r.end;
        continue;
      }
      if (this.lastPts === null && !r.keyframe) {
        throw new VqFormatError('the first frame record is not a KFRM', r.offset);
      }
      if (this.lastPts !== null && r.pts <= this.lastPts) {
        throw new VqFormatError(`pts ${r.pts} not after the previous ${this.lastPts}`, r.offset);
      }
      const labels = decodeFrame(this.state, r);
      this.offset = r.end;
      this.lastPts = r.pts;
      const index = this.index;
      if (this.index !== null) this.index++;
      return {
        index, offset: r.offset, pts: r.pts, duration: r.duration, keyframe: r.keyframe, labels,
        palette: this.state.palette.slice(),
      };
    }
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Display

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * RGBA pixels of a label map: palette[label] with alpha 255, or alpha 0 at alphaIndex.
 * @param {Uint8Array} labels @param {Uint8Array} palette k·3 bytes
 * @param {number|null} [alphaIndex] @param {Uint8ClampedArray} [out] labels.length·4 bytes
 * @returns {Uint8ClampedArray}
 */
export function toRGBA(labels, palette, alphaIndex = null, out = undefined) {
  const n = labels.length;
  if (!out) out = new Uint8ClampedArray(4 * n);
  if (out.length < 4 * n) throw new RangeError('toRGBA: output array too small');
  const lut = new Uint32Array(256);
  const kk = Math.min(256, Math.floor(palette.length / 3));
  for (let i = 0; i < kk; i++) {
    const r = palette[3 * i];
    const g = palette[3 * i + 1];
    const b = palette[3 * i + 2];
    const a = i === alphaIndex ? 0 : 255;
    lut[i] = LITTLE_ENDIAN
      ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0
      : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
  }
  if (out.byteOffset % 4 === 0) {
    const out32 = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) out32[i] = lut[labels[i]];
  } else {
    for (let i = 0; i < n; i++) {
      const e = 3 * labels[i];
      const o = 4 * i;
      out[o] = palette[e];
      out[o + 1] = palette[e + 1];
      out[o + 2] = palette[e + 2];
      out[o + 3] = labels[i] === alphaIndex ? 0 : 255;
    }
  }
  return out;
}

// Internal, for the tests only (tests/js/randomcodes.mjs drives the map syntax with chosen bits
// to make random valid label codes): not part of the API.
export { RangeDecoder as _RangeDecoder, LabelMapDecoder as _LabelMapDecoder };
