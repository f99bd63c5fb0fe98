/**
 * vq-worker.js: decodes a `.vq` file off the page's main thread, for <vq-player>.
 *
 * A module worker (new Worker(url, {type: 'module'})). Messages in:
 *   {type: 'open', url}            fetch the file (or {type: 'open', buffer: ArrayBuffer})
 *   {type: 'seek', gen, pts, count} decode from the keyframe before `pts` (FORMAT.md §8),
 *                                   dropping frames that end before it, and send `count` frames
 *   {type: 'more', gen, count}     send `count` more frames of generation `gen`
 * Messages out:
 *   {type: 'meta', header, version, audio, endPts, frames, keyframes, bytes}
 *   {type: 'frame', gen, index, pts, duration, keyframe, labels, palette}   (buffers transferred)
 *   {type: 'end', gen}             no frame follows
 *   {type: 'warning', message}
 *   {type: 'error', gen, message, offset}   the decoder's message and the byte offset, if any
 * A generation is one seek: frames of an older generation are stale and the page drops them.
 */

import { FrameDecoder, VqFile } from './vq.js';

let file = null;
let decoder = null;
let frames = null; // the iterator of the current generation
let gen = -1;

function fail(err, generation) {
  const offset = err && typeof err.offset === 'number' ? err.offset : null;
  const message = err && err.message ? err.message : String(err);
  postMessage({ type: 'error', gen: generation, message, offset });
}

async function open(message) {
  let bytes;
  if (message.buffer) {
    bytes = new Uint8Array(message.buffer);
  } else {
    const response = await fetch(message.url);
    if (!response.ok) throw new Error(`cannot load ${message.url}: HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  }
  file = new VqFile(bytes, { onWarning: (text) => postMessage({ type: 'warning', message: text }) });
  let endPts = null;
  let count = null;
  let keyframes = 0;
  try {
    const { trailer, entries } = file.readIndex();
    endPts = trailer.endPts;
    count = trailer.frames;
    keyframes = entries.length;
  } catch (err) {
    postMessage({ type: 'warning', message: `no usable index (seeking decodes from the start): ${err.message}` });
  }
  decoder = new FrameDecoder(file);
  const audio = file.audio
    ? { sampleRate: file.audio.sampleRate, channels: file.audio.channels, codec: file.audio.codec }
    : null;
  postMessage({
    type: 'meta', header: file.header, version: file.version, audio, endPts, frames: count,
    keyframes, bytes: bytes.length,
  });
}

function pump(count) {
  const generation = gen;
  for (let i = 0; i < count; i++) {
    let step;
    try {
      step = frames.next();
    } catch (err) {
      frames = null;
      fail(err, generation);
      return;
    }
    if (step.done) {
      frames = null;
      postMessage({ type: 'end', gen: generation });
      return;
    }
    const f = step.value;
    const labels = f.labels.slice(); // a REPEAT frame shares its labels with the one before
    const palette = f.palette.slice();
    postMessage({
      type: 'frame', gen: generation, index: f.index, pts: f.pts, duration: f.duration,
      keyframe: f.keyframe, labels, palette,
    }, [labels.buffer, palette.buffer]);
  }
}

onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === 'open') {
      await open(message);
    } else if (message.type === 'seek') {
      if (!decoder) return;
      gen = message.gen;
      frames = decoder.framesAt(Math.max(0, Math.floor(message.pts)));
      pump(message.count);
    } else if (message.type === 'more') {
      if (message.gen === gen && frames) pump(message.count);
    }
  } catch (err) {
    fail(err, message.gen ?? gen);
  }
};
