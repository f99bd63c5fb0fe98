/**
 * vq-worker.js: downloads and decodes a `.vq` file off the page's main thread, for <vq-player>.
 *
 * A module worker (new Worker(url, {type: 'module'})). Messages in:
 *   {type: 'open', url}             start loading the file
 *   {type: 'seek', gen, pts, count} decode from the keyframe before `pts` (FORMAT.md §8),
 *                                    dropping frames that end before it, and send `count` frames
 *   {type: 'more', gen, count}      send `count` more frames of generation `gen`
 * Messages out:
 *   {type: 'meta', header, version, audio, endPts, frames, keyframes, bytes, ranges}
 *   {type: 'index', endPts, frames, keyframes}   the index, once a whole download has it
 *   {type: 'frame', gen, index, pts, duration, keyframe, labels, palette}   (buffers moved)
 *   {type: 'audio', gen, start, duration, data}   an audio packet (seconds on the video's
 *                                    clock), sent up to AUDIO_AHEAD_S past the last frame sent
 *   {type: 'end', gen}              no frame follows
 *   {type: 'warning', message}
 *   {type: 'error', gen, message, offset}   the decoder's message and the byte offset, if any
 * A generation is one seek: frames of an older generation are stale and the page drops them.
 *
 * Loading. The first request asks for the file's first FIRST_BYTES with a Range header. A server
 * that answers 206 gets two more small requests (the TAIL, then the INDX it points at), so the
 * duration and the keyframes are known at once; after that the frames are streamed from the
 * keyframe a seek needs, and a seek elsewhere starts a new ranged stream there. A server that
 * ignores Range sends the whole file: it is read as a stream, and frames play as soon as their
 * bytes are in; the index (and so fast seeking and the duration) comes with the end of the file.
 * Either way the decoder only ever reads bytes that have arrived: when it catches up with the
 * download, its FrameCursor keeps its place and state while it waits for RESUME_BYTES more. The whole file is kept in memory once loaded (its size in bytes).
 */

import {
  FrameCursor, LIMIT_AHDR, LIMIT_HEAD, VqFile, VqTruncatedError, keyframeEntry,
} from './vq.js';

const FIRST_BYTES = 1 << 16; // the first request: the preamble, HEAD and ahdr, usually
const TAIL_BYTES = 36;
const RESUME_BYTES = 1 << 18;
const AUDIO_AHEAD_S = 2;

let url = null;
let buf = new Uint8Array(0);
let spans = []; // filled byte ranges [start, end), sorted, not touching
let total = null; // the file's size, when known
let ranged = false;
let done = false; // the whole file is in (or, ranged: not needed)
let head = null; // a VqFile over the first bytes: header, firstFrameOffset
let entries = null; // the keyframe index
let indexOffset = null;
let stream = null; // the current ranged download: {controller, pos}
let broken = null; // a download that failed: nothing more will arrive
let waiters = [];
let session = null; // the current generation's decoding
let requested = 0;
let running = false;

function warn(message) { postMessage({ type: 'warning', message }); }

function fail(err, gen) {
  const offset = err && typeof err.offset === 'number' ? err.offset : null;
  const message = err && err.message ? err.message : String(err);
  postMessage({ type: 'error', gen, message, offset });
}

function notify() {
  const w = waiters;
  waiters = [];
  for (const resolve of w) resolve();
}

function waitData() { return new Promise((resolve) => waiters.push(resolve)); }

function addSpan(start, end) {
  const out = [];
  let s = start;
  let e = end;
  for (const [a, b] of spans) {
    if (b < s || a > e) out.push([a, b]);
    else { s = Math.min(s, a); e = Math.max(e, b); }
  }
  out.push([s, e]);
  out.sort((x, y) => x[0] - y[0]);
  spans = out;
}

/** Where the bytes that have arrived stop, going on from `from` without a gap. */
function filledEnd(from) {
  for (const [a, b] of spans) if (a <= from && from <= b) return b;
  return from;
}

function room(n) {
  if (buf.length >= n) return;
  const grown = new Uint8Array(Math.max(n, 2 * buf.length, 1 << 20));
  grown.set(buf.subarray(0, filledEnd(0)));
  buf = grown;
}

/** Copy a response's body into the buffer at `start` as it arrives; return where it ended. */
async function pull(response, start, tracker = null) {
  const reader = response.body.getReader();
  let pos = start;
  for (;;) {
    const { done: end, value } = await reader.read();
    if (end) break;
    room(pos + value.length);
    buf.set(value, pos);
    addSpan(pos, pos + value.length);
    pos += value.length;
    if (tracker) tracker.pos = pos;
    notify();
  }
  return pos;
}

async function get(range, signal = undefined) {
  const headers = range ? { Range: range } : {};
  const response = await fetch(url, { headers, signal });
  if (!response.ok) throw new Error(`cannot load ${url}: HTTP ${response.status}`);
  return response;
}

function parseTotal(response) {
  const m = /\/(\d+)\s*$/.exec(response.headers.get('Content-Range') || '');
  return response.status === 206 && m ? Number(m[1]) : null;
}

function u32(o) {
  return (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) >>> 0;
}

/** How many bytes from the start the header needs: preamble, HEAD, and an ahdr if one follows
 * (lengths capped at the format's limits: a longer one is refused by VqFile anyway). */
function prefixNeed() {
  const have = filledEnd(0);
  if (have < 20) return 20;
  const headEnd = 24 + Math.min(u32(16), LIMIT_HEAD);
  if (have < headEnd + 8) return headEnd + 8;
  const tag = String.fromCharCode(buf[headEnd], buf[headEnd + 1], buf[headEnd + 2], buf[headEnd + 3]);
  if (tag !== 'ahdr') return headEnd + 8;
  return headEnd + 12 + Math.min(u32(headEnd + 4), LIMIT_AHDR);
}

function readIndex(file) {
  try {
    const { trailer, entries: found } = file.readIndex();
    entries = found;
    indexOffset = trailer.indexOffset;
    return trailer;
  } catch (err) {
    warn(`no usable index (seeking decodes from the start): ${err.message}`);
    return null;
  }
}

async function open(message) {
  url = message.url;
  const first = await get(`bytes=0-${FIRST_BYTES - 1}`);
  total = parseTotal(first);
  let trailer = null;
  if (total !== null) {
    ranged = true;
    buf = new Uint8Array(total);
    await pull(first, 0);
    for (let need = Math.min(prefixNeed(), total); filledEnd(0) < need;) {
      const have = filledEnd(0);
      await pull(await get(`bytes=${have}-${need - 1}`), have);
      need = Math.min(prefixNeed(), total);
    }
    if (filledEnd(0) < total) {
      await pull(await get(`bytes=${total - TAIL_BYTES}-${total - 1}`), total - TAIL_BYTES);
      const tail = new VqFile(buf, { onWarning: warn }).readTrailer();
      if (tail.indexOffset < total - TAIL_BYTES) {
        await pull(await get(`bytes=${tail.indexOffset}-${total - TAIL_BYTES - 1}`),
          tail.indexOffset);
      }
    }
    done = filledEnd(0) >= total;
    trailer = readIndex(new VqFile(buf, { onWarning: warn }));
  } else {
    const length = Number(first.headers.get('Content-Length'));
    if (length > 0) buf = new Uint8Array(length);
    const whole = pull(first, 0).then((end) => {
      buf = buf.subarray(0, end);
      total = end;
      done = true;
      notify();
      const t = readIndex(new VqFile(buf, { onWarning: () => {} }));
      if (t) {
        postMessage({ type: 'index', endPts: t.endPts, frames: t.frames, keyframes: entries.length });
      }
    });
    whole.catch((err) => {
      broken = err;
      notify();
      fail(err, session ? session.gen : -1);
    });
    while (!done && !broken && filledEnd(0) < prefixNeed()) await waitData();
    if (broken) throw broken;
  }
  head = new VqFile(buf.subarray(0, filledEnd(0)), { onWarning: warn });
  const a = head.audio;
  postMessage({
    type: 'meta', header: head.header, version: head.version,
    audio: a ? {
      sampleRate: a.sampleRate, channels: a.channels, codec: a.codec, layout: a.layout,
      extradata: a.extradata.slice(),
    } : null,
    endPts: trailer ? trailer.endPts : null, frames: trailer ? trailer.frames : null,
    keyframes: entries ? entries.length : 0, bytes: total, ranges: ranged,
  });
}

/** The keyframe to decode from to show `pts`, and its frame number (§8). */
function keyframeFor(pts) {
  const e = entries ? keyframeEntry(entries, pts) : null;
  if (e === null) return { offset: head.firstFrameOffset, index: 0 };
  return { offset: e.offset, index: e.frame };
}

/** In a ranged load: make sure bytes from `offset` on are on their way. */
function follow(offset) {
  if (!ranged || done) return;
  const end = filledEnd(offset);
  const stop = indexOffset !== null ? indexOffset : total - TAIL_BYTES;
  if (end >= stop) return;
  if (stream && stream.pos === end) return; // already extending this very stretch
  if (stream) stream.controller.abort();
  const tracker = { controller: new AbortController(), pos: end };
  stream = tracker;
  get(`bytes=${end}-${stop - 1}`, tracker.controller.signal)
    .then((response) => pull(response, end, tracker))
    .catch((err) => {
      if (err.name === 'AbortError') return;
      broken = err;
      fail(err, session ? session.gen : -1);
    })
    .finally(() => { if (stream === tracker) stream = null; notify(); });
}

/** Whether every byte the decoder may need from `offset` on has arrived (or never will). */
function complete(offset) {
  if (done || broken) return true;
  return ranged && filledEnd(offset) >= (indexOffset !== null ? indexOffset : total - TAIL_BYTES);
}

/** Send the audio packets of session `s` that have arrived, up to `until` seconds. */
function sendAudio(s, until) {
  const a = head.audio;
  if (!a || s.audioAt === null) return;
  const unit = a.timeBase[0] / a.timeBase[1];
  const end = filledEnd(s.audioAt);
  if (!s.audioFile || end > s.audioViewEnd) { // a longer view, once more has arrived
    s.audioViewEnd = end;
    s.audioFile = new VqFile(buf.subarray(0, end), { onWarning: () => {} });
  }
  try {
    for (const r of s.audioFile.records(s.audioAt, { midStream: true })) {
      if (r.type === 'audio') {
        const start = r.pts * unit;
        if (start > until) return; // the next call starts at this packet
        if (start + r.duration * unit > s.target * s.unit) {
          const data = r.data.slice();
          postMessage({
            type: 'audio', gen: s.gen, start, duration: r.duration * unit, data,
          }, [data.buffer]);
        }
      }
      s.audioAt = r.end;
    }
    s.audioAt = null; // the index: no audio follows
  } catch (err) {
    if (!(err instanceof VqTruncatedError)) s.audioAt = null; // the video reports the damage
  }
}

/** Decode until one frame of session `s` is sent; 'frame', 'end' or 'stale' (a seek came). */
async function step(s) {
  for (;;) {
    if (s !== session) return 'stale';
    const end = filledEnd(s.cursor.offset);
    if (!s.file || end > s.viewEnd) { // a longer view of the file, once more has arrived
      s.viewEnd = end;
      s.file = new VqFile(buf.subarray(0, end), { onWarning: () => {} });
    }
    let f;
    try {
      f = s.cursor.next(s.file);
    } catch (err) {
      if (!(err instanceof VqTruncatedError)) throw err;
      if (filledEnd(s.cursor.offset) > s.viewEnd) continue; // more arrived meanwhile
      if (complete(s.cursor.offset)) throw err; // the file itself ends there
      // caught up with the download: wait for more (the cursor keeps its place and state)
      follow(s.cursor.offset);
      const want = filledEnd(s.cursor.offset) + RESUME_BYTES;
      while (s === session && !complete(s.cursor.offset) && filledEnd(s.cursor.offset) < want) {
        if (ranged && !stream) follow(s.cursor.offset);
        await waitData();
      }
      continue;
    }
    if (f === null) {
      sendAudio(s, Infinity);
      return 'end';
    }
    if (f.pts + f.duration <= s.target) continue;
    const labels = f.labels.slice(); // a REPEAT frame shares its labels with the one before
    const palette = f.palette;
    postMessage({
      type: 'frame', gen: s.gen, index: f.index, pts: f.pts, duration: f.duration,
      keyframe: f.keyframe, labels, palette,
    }, [labels.buffer, palette.buffer]);
    sendAudio(s, (f.pts + f.duration) * s.unit + AUDIO_AHEAD_S);
    return 'frame';
  }
}

async function run() {
  running = true;
  try {
    while (session && requested > 0) {
      const s = session;
      let result;
      try {
        result = await step(s);
      } catch (err) {
        if (s === session) { fail(err, s.gen); session = null; }
        continue;
      }
      if (s !== session) continue;
      if (result === 'end') {
        postMessage({ type: 'end', gen: s.gen });
        session = null;
      } else if (result === 'frame') {
        requested -= 1;
      }
    }
  } finally {
    running = false;
  }
}

onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === 'open') {
      await open(message);
    } else if (message.type === 'seek') {
      if (!head) return;
      const target = Math.max(0, Math.floor(message.pts));
      const { offset, index } = keyframeFor(target);
      const [num, den] = head.header.timeBase;
      session = {
        gen: message.gen, target, cursor: new FrameCursor(head, offset, index), file: null,
        viewEnd: 0, unit: num / den, audioAt: head.audio ? offset : null, audioFile: null,
        audioViewEnd: 0,
      };
      requested = message.count;
      follow(offset);
      notify(); // wake a decoder waiting for the old generation's bytes
      if (!running) run();
    } else if (message.type === 'more') {
      if (session && message.gen === session.gen) {
        requested += message.count;
        if (!running) run();
      }
    }
  } catch (err) {
    fail(err, message.gen ?? -1);
  }
};
