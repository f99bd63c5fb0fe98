/**
 * vq-player.js: the <vq-player> element, a `.vq` player for any web page.
 *
 *   <script type="module" src="vq-player.js"></script>
 *   <vq-player src="clip.vq" controls autoplay muted loop></vq-player>
 *
 * It behaves like <video> where it can: attributes `src`, `controls`, `autoplay`, `loop`,
 * `muted` and `renderer` ("webgl2", the default, or "2d"); methods play() and pause();
 * properties currentTime (settable: a seek), duration, paused, ended, error; events
 * loadedmetadata, play, pause, timeupdate, seeked, ended and error (the decoder's message and
 * byte offset in `event.detail` and in `player.error`). Keys when focused: space or k
 * play/pause, left/right arrows 5 s back/on, Home and End.
 *
 * Decoding runs in a Web Worker (vq-worker.js, beside this file); frames are shown by their
 * timestamps, so variable frame rate plays right, and a frame that is late is dropped, never
 * shown slowly. Pixels are exact: WebGL2 draws the labels as an R8UI texture looked up in a
 * 256x1 palette texture with texelFetch (no filtering, no colour management on the lookup);
 * the canvas-2D fallback writes the same RGBA with vq.js's toRGBA (a Uint32Array lookup). The
 * canvas has the video's own size and CSS scales it (image-rendering: pixelated).
 *
 * For tests and tools: `renderer` (the one in use), `frameIndex` (the frame on screen) and
 * readPixels() (its RGBA, top row first, as the canvas holds it).
 */

import { toRGBA } from './vq.js';

const WORKER_URL = new URL('./vq-worker.js', import.meta.url);
const AHEAD = 6; // frames decoded ahead of the one on screen
const TIMEUPDATE_MS = 250;

const STYLE = `
:host { display: inline-block; position: relative; background: #000; color: #fff;
        font: 13px system-ui, sans-serif; line-height: 0; outline: none; }
:host(:focus-visible) { box-shadow: 0 0 0 2px #4a90d9; }
canvas { display: block; width: 100%; height: auto; image-rendering: pixelated; }
.controls { display: none; align-items: center; gap: 8px; padding: 4px 8px; line-height: 1.4;
            background: #222; }
:host([controls]) .controls { display: flex; }
button { background: none; border: 0; color: inherit; font-size: 16px; width: 24px;
         cursor: pointer; padding: 0; }
input { flex: 1; min-width: 40px; }
.time { font-variant-numeric: tabular-nums; white-space: nowrap; }
.message { position: absolute; left: 0; right: 0; top: 0; padding: 6px 8px; line-height: 1.4;
           background: rgba(120, 0, 0, 0.85); }
.message.note { background: rgba(0, 0, 0, 0.7); top: auto; bottom: 34px; }
`;

const VERTEX = `#version 300 es
in vec2 corner;
void main() { gl_Position = vec4(corner, 0.0, 1.0); }`;

const FRAGMENT = `#version 300 es
precision highp float;
precision highp int;
precision highp usampler2D;
uniform usampler2D labels;
uniform highp sampler2D palette;
uniform int rows;
out vec4 colour;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  p.y = rows - 1 - p.y;
  uint label = texelFetch(labels, p, 0).r;
  colour = texelFetch(palette, ivec2(int(label), 0), 0);
}`;

const ENTRIES = Uint8Array.from({ length: 256 }, (_, i) => i); // label i for palette entry i

class GLRenderer {
  constructor(canvas, width, height) {
    const gl = canvas.getContext('webgl2', {
      alpha: true, antialias: false, depth: false, stencil: false, premultipliedAlpha: false,
      preserveDrawingBuffer: true,
    });
    if (!gl) throw new Error('no WebGL2');
    this.name = 'webgl2';
    this.gl = gl;
    this.width = width;
    this.height = height;
    const program = gl.createProgram();
    for (const [kind, source] of [[gl.VERTEX_SHADER, VERTEX], [gl.FRAGMENT_SHADER, FRAGMENT]]) {
      const shader = gl.createShader(kind);
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        throw new Error(`shader: ${gl.getShaderInfoLog(shader)}`);
      }
      gl.attachShader(program, shader);
    }
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
      throw new Error(`program: ${gl.getProgramInfoLog(program)}`);
    }
    gl.useProgram(program);
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    const corner = gl.getAttribLocation(program, 'corner');
    gl.enableVertexAttribArray(corner);
    gl.vertexAttribPointer(corner, 2, gl.FLOAT, false, 0, 0);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    this.labels = this._texture(0);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8UI, width, height, 0, gl.RED_INTEGER,
      gl.UNSIGNED_BYTE, null);
    this.palette = this._texture(1);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    gl.uniform1i(gl.getUniformLocation(program, 'labels'), 0);
    gl.uniform1i(gl.getUniformLocation(program, 'palette'), 1);
    gl.uniform1i(gl.getUniformLocation(program, 'rows'), height);
    gl.viewport(0, 0, width, height);
    this.entries = new Uint8ClampedArray(256 * 4);
    this.texels = new Uint8Array(this.entries.buffer);
  }

  _texture(unit) {
    const gl = this.gl;
    const texture = gl.createTexture();
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(gl.TEXTURE_2D, texture);
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) {
      gl.texParameteri(gl.TEXTURE_2D, p, gl.NEAREST);
    }
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return texture;
  }

  draw(labels, palette, alphaIndex) {
    const gl = this.gl;
    // the palette's RGBA, one texel per entry: toRGBA of the labels 0..k-1
    toRGBA(ENTRIES.subarray(0, palette.length / 3), palette, alphaIndex, this.entries);
    gl.activeTexture(gl.TEXTURE1);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, 256, 1, gl.RGBA, gl.UNSIGNED_BYTE, this.texels);
    gl.activeTexture(gl.TEXTURE0);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, this.width, this.height, gl.RED_INTEGER,
      gl.UNSIGNED_BYTE, labels);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  read() {
    const { gl, width, height } = this;
    const raw = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    const out = new Uint8Array(raw.length);
    const row = width * 4;
    for (let y = 0; y < height; y++) {
      out.set(raw.subarray((height - 1 - y) * row, (height - y) * row), y * row);
    }
    return out;
  }
}

class CanvasRenderer {
  constructor(canvas, width, height) {
    this.name = '2d';
    this.context = canvas.getContext('2d', { willReadFrequently: true });
    if (!this.context) throw new Error('no canvas 2D context');
    this.image = this.context.createImageData(width, height);
  }

  draw(labels, palette, alphaIndex) {
    toRGBA(labels, palette, alphaIndex, this.image.data);
    this.context.putImageData(this.image, 0, 0);
  }

  read() {
    const { width, height } = this.image;
    return new Uint8Array(this.context.getImageData(0, 0, width, height).data.buffer);
  }
}

/** WebCodecs' codec string and description for the file's audio, or null (FORMAT.md §4.6). */
export function audioConfig(a) {
  const base = { sampleRate: a.sampleRate, numberOfChannels: a.channels };
  const extra = a.extradata && a.extradata.length ? { description: a.extradata } : {};
  switch (a.codec) {
    case 'opus':
      return { ...base, codec: 'opus', ...extra };
    case 'aac': {
      let profile = 2; // AAC-LC unless the AudioSpecificConfig says otherwise
      if (a.extradata && a.extradata.length >= 2) {
        profile = a.extradata[0] >> 3;
        if (profile === 31) profile = 32 + (((a.extradata[0] & 7) << 3) | (a.extradata[1] >> 5));
      }
      return { ...base, codec: `mp4a.40.${profile}`, ...extra };
    }
    case 'mp3':
      return { ...base, codec: 'mp3' };
    case 'ac3':
      return { ...base, codec: 'ac-3' };
    case 'eac3':
      return { ...base, codec: 'ec-3' };
    case 'flac': {
      const x = a.extradata || new Uint8Array(0);
      if (x.length >= 4 && String.fromCharCode(...x.subarray(0, 4)) === 'fLaC') {
        return { ...base, codec: 'flac', description: x };
      }
      const d = new Uint8Array(8 + x.length); // "fLaC" + a last STREAMINFO block header
      d.set([0x66, 0x4c, 0x61, 0x43, 0x80, (x.length >> 16) & 255, (x.length >> 8) & 255,
        x.length & 255]);
      d.set(x, 8);
      return { ...base, codec: 'flac', description: d };
    }
    case 'vorbis':
      return { ...base, codec: 'vorbis', ...extra };
    default:
      return null;
  }
}

/** The file's audio through WebCodecs' AudioDecoder and Web Audio, on the media clock. */
class AudioOut {
  /** An AudioOut, or a reason (a string) why this browser cannot play the file's audio. */
  static async open(info) {
    const config = audioConfig(info);
    if (!config) return `its codec (${info.codec}) has no WebCodecs name`;
    if (typeof AudioDecoder === 'undefined' || typeof AudioContext === 'undefined') {
      return 'this browser has no WebCodecs AudioDecoder (it needs a secure context: https or localhost)';
    }
    let support;
    try {
      support = await AudioDecoder.isConfigSupported(config);
    } catch (err) {
      support = { supported: false };
    }
    if (!support.supported) return `this browser cannot decode ${info.codec} audio (${config.codec})`;
    return new AudioOut(config);
  }

  constructor(config) {
    this.config = config;
    this.context = null; // made on the first start(): browsers let a page start sound only
    this.gain = null; //    after a user gesture, and play() is where one leads
    this._muted = false;
    this.buffers = []; // {start, end, buffer} in media seconds, in arrival order
    this.sources = new Set();
    this.playing = false;
    this.t0 = 0; // media time at context time c0
    this.c0 = 0;
    this.failed = null;
    this.decodedSeconds = 0; // for tests and statistics
    this._decoder();
  }

  _decoder() {
    this.decoder = new AudioDecoder({
      output: (data) => this._output(data),
      error: (err) => { this.failed = err.message || String(err); },
    });
    this.decoder.configure(this.config);
  }

  set muted(value) {
    this._muted = Boolean(value);
    if (this.gain) this.gain.gain.value = this._muted ? 0 : 1;
  }

  get running() { return Boolean(this.context) && this.context.state === 'running'; }

  push(start, duration, data) {
    if (this.failed || this.decoder.state !== 'configured') return;
    this.decoder.decode(new EncodedAudioChunk({
      type: 'key', timestamp: Math.round(start * 1e6), duration: Math.round(duration * 1e6), data,
    }));
  }

  _output(data) {
    const frames = data.numberOfFrames;
    const channels = data.numberOfChannels;
    const buffer = new AudioBuffer({
      length: frames, numberOfChannels: channels, sampleRate: data.sampleRate,
    });
    const plane = new Float32Array(frames);
    for (let c = 0; c < channels; c++) {
      data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
      buffer.copyToChannel(plane, c);
    }
    const start = data.timestamp / 1e6;
    data.close();
    const entry = { start, end: start + frames / buffer.sampleRate, buffer };
    this.decodedSeconds += buffer.duration;
    this.buffers.push(entry);
    if (this.playing && this.running) this._schedule(entry);
  }

  _schedule(entry) {
    const now = this.context.currentTime;
    const when = this.c0 + (entry.start - this.t0);
    if (when + entry.buffer.duration <= now) return;
    const source = this.context.createBufferSource();
    source.buffer = entry.buffer;
    source.connect(this.gain);
    source.onended = () => this.sources.delete(source);
    source.start(Math.max(when, now), Math.max(0, now - when));
    this.sources.add(source);
  }

  /** Start the sound at media time `t` (a little ahead, so the first packet is on time). */
  start(t) {
    if (!this.context) {
      this.context = new AudioContext({ latencyHint: 'playback' });
      this.gain = this.context.createGain();
      this.gain.gain.value = this._muted ? 0 : 1;
      this.gain.connect(this.context.destination);
    }
    this.context.resume();
    this.t0 = t;
    this.c0 = this.context.currentTime + 0.05;
    this.playing = true;
    this.buffers = this.buffers.filter((e) => e.end > t - 1);
    if (this.running) for (const e of this.buffers) this._schedule(e);
  }

  stop() {
    this.playing = false;
    for (const s of this.sources) s.stop();
    this.sources.clear();
  }

  /** After a seek: nothing decoded so far is wanted. */
  reset() {
    this.stop();
    this.buffers = [];
    if (this.decoder.state !== 'closed') this.decoder.reset();
    this._decoder();
  }

  /** The media time being heard now (what the video follows while the sound plays). */
  clock() {
    if (!this.context) return this.t0;
    const elapsed = this.context.currentTime - this.c0;
    return this.t0 + Math.max(0, elapsed) - (this.context.outputLatency || 0);
  }

  close() {
    this.stop();
    if (this.decoder.state !== 'closed') this.decoder.close();
    this.context?.close();
  }
}

function clock(seconds) {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export class VqPlayer extends HTMLElement {
  static get observedAttributes() { return ['src']; }

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style><canvas part="canvas" width="1" height="1"></canvas>
<div class="controls" part="controls"><button class="play" aria-label="Play">&#9654;</button>
<input class="seek" type="range" min="0" max="1000" step="1" value="0" aria-label="Seek">
<span class="time">--:-- / --:--</span></div><div class="message" hidden></div>`;
    this._canvas = root.querySelector('canvas');
    this._button = root.querySelector('.play');
    this._bar = root.querySelector('.seek');
    this._time = root.querySelector('.time');
    this._message = root.querySelector('.message');
    this._button.addEventListener('click', () => (this.paused ? this.play() : this.pause()));
    this._bar.addEventListener('input', () => {
      if (Number.isFinite(this.duration)) this.currentTime = (this._bar.value / 1000) * this.duration;
    });
    this.addEventListener('keydown', (event) => this._key(event));
    this._reset();
  }

  _reset() {
    this._worker?.terminate();
    this._worker = null;
    this._audio?.close();
    this._audio = null;
    this._useAudio = false; // the media clock follows the sound
    this._sync = { frames: 0, sum: 0, max: 0 };
    this._early = [];
    this._audioProblem = null;
    this._meta = null;
    this._renderer = null;
    this._queue = [];
    this._requested = 0;
    this._gen = 0;
    this._finished = false; // the worker sent every frame of this generation
    this._current = null;
    this._paused = true;
    this._ended = false;
    this._seeking = false;
    this._time0 = 0; // performance.now() at which the media clock read this._base
    this._base = 0;
    this._lastUpdate = 0;
    this.error = null;
    this.dropped = 0;
    if (this._raf) cancelAnimationFrame(this._raf);
    this._raf = 0;
  }

  connectedCallback() {
    if (!this.hasAttribute('tabindex')) this.tabIndex = 0;
    if (!this._worker && this.getAttribute('src')) this._load(this.getAttribute('src'));
  }

  disconnectedCallback() { this._reset(); }

  attributeChangedCallback(name, old, value) {
    if (name === 'src' && this.isConnected && value && value !== old) this._load(value);
  }

  get src() { return this.getAttribute('src') || ''; }
  set src(value) { this.setAttribute('src', value); }
  get loop() { return this.hasAttribute('loop'); }
  get muted() { return this.hasAttribute('muted'); }
  set muted(value) {
    this.toggleAttribute('muted', Boolean(value));
    if (!this._audio) return;
    this._audio.muted = this.muted;
    if (!this.muted && !this._paused && !this._useAudio) this._startAudio(this.currentTime);
  }

  /** How far the sound heard is from the frame on screen, measured at each frame shown while
   * the sound plays: {frames, meanMs, maxMs} (positive: the sound is ahead). */
  get audioSync() {
    const { frames, sum, max } = this._sync;
    return { frames, meanMs: frames ? (1000 * sum) / frames : null, maxMs: 1000 * max };
  }

  /** Why the sound does not play (null when it does, or the file has none). */
  get audioProblem() {
    if (this._audio && this._audio.failed) return `the audio decoder failed: ${this._audio.failed}`;
    return this._audioProblem || null;
  }

  /** Seconds of sound decoded so far. */
  get audioDecoded() { return this._audio ? this._audio.decodedSeconds : 0; }
  set loop(value) { this.toggleAttribute('loop', Boolean(value)); }
  get paused() { return this._paused; }
  get ended() { return this._ended; }
  get renderer() { return this._renderer ? this._renderer.name : null; }
  get frameIndex() { return this._current ? this._current.index : null; }
  get videoWidth() { return this._meta ? this._meta.header.width : 0; }
  get videoHeight() { return this._meta ? this._meta.header.height : 0; }

  /** Seconds per timestamp unit, as a float (display only: decoding stays integer). */
  get _unit() {
    const [num, den] = this._meta.header.timeBase;
    return num / den;
  }

  get duration() {
    if (!this._meta || this._meta.endPts === null) return NaN;
    return this._meta.endPts * this._unit;
  }

  get currentTime() {
    if (!this._meta) return 0;
    if (this._paused || this._seeking) return this._base;
    return this._clock(performance.now());
  }

  _clock(now) {
    if (this._useAudio) return Math.max(this._base, this._audio.clock());
    return this._base + (now - this._time0) / 1000;
  }

  _startAudio(t) {
    const audio = this._audio;
    if (!audio || this.muted) return;
    audio.start(t);
    this._useAudio = audio.running;
    if (!this._useAudio) { // not allowed to start yet (autoplay policy): follow when it runs
      audio.context.onstatechange = () => {
        if (audio.context.state === 'running' && !this._paused) {
          const now = this.currentTime;
          audio.start(now);
          this._base = now;
          this._useAudio = true;
        }
      };
    }
  }

  set currentTime(seconds) { this._seek(Number(seconds) || 0); }

  readPixels() { return this._renderer ? this._renderer.read() : null; }

  play() {
    if (!this._meta) {
      this._autoplay = true;
      return Promise.resolve();
    }
    if (this._ended || (Number.isFinite(this.duration) && this._base >= this.duration)) this._seek(0);
    if (this._paused) {
      this._paused = false;
      this._time0 = performance.now();
      if (!this._seeking) this._startAudio(this._base);
      this._button.innerHTML = '&#10073;&#10073;';
      this._button.setAttribute('aria-label', 'Pause');
      this.dispatchEvent(new Event('play'));
      this._schedule();
    }
    return Promise.resolve();
  }

  pause() {
    if (this._paused) return;
    this._base = this.currentTime;
    this._paused = true;
    this._audio?.stop();
    this._useAudio = false;
    this._button.innerHTML = '&#9654;';
    this._button.setAttribute('aria-label', 'Play');
    this.dispatchEvent(new Event('pause'));
    this._timeupdate(true);
  }

  _load(src) {
    this._reset();
    this._message.hidden = true;
    const worker = new Worker(WORKER_URL, { type: 'module' });
    this._worker = worker;
    worker.onmessage = (event) => this._receive(event.data);
    worker.onerror = (event) => this._fail(event.message || 'the decoder worker failed', null);
    worker.postMessage({ type: 'open', url: new URL(src, document.baseURI).href });
  }

  _receive(m) {
    if (m.type === 'meta') {
      this._meta = m;
      const { width, height } = m.header;
      this._canvas.width = width;
      this._canvas.height = height;
      this._renderer = this._makeRenderer(width, height);
      if (m.audio) {
        AudioOut.open(m.audio).then((audio) => {
          if (this._meta !== m) return;
          if (typeof audio === 'string') {
            this._audioProblem = `playing without sound: ${audio}`;
            this._note(this._audioProblem);
            return;
          }
          this._audio = audio;
          audio.muted = this.muted;
          for (const p of this._early) if (p.gen === this._gen) audio.push(p.start, p.duration, p.data);
          this._early = [];
          if (!this._paused && !this._seeking) this._startAudio(this.currentTime);
        });
      }
      this._timeupdate(true);
      this.dispatchEvent(new Event('loadedmetadata'));
      this._seek(0);
      if (this._autoplay || this.hasAttribute('autoplay')) this.play();
    } else if (m.type === 'frame') {
      if (m.gen !== this._gen) return;
      this._requested = Math.max(0, this._requested - 1);
      const unit = this._unit;
      const frame = {
        index: m.index, start: m.pts * unit, end: (m.pts + m.duration) * unit, labels: m.labels,
        palette: m.palette,
      };
      this._queue.push(frame);
      if (this._seeking) {
        this._seeking = false;
        this._show(frame);
        this._time0 = performance.now();
        if (!this._paused) this._startAudio(this._base);
        this.dispatchEvent(new Event('seeked'));
        this._timeupdate(true);
      }
      this._refill();
    } else if (m.type === 'end') {
      if (m.gen !== this._gen) return;
      this._finished = true;
      this._requested = 0;
      if (this._seeking) { // nothing at or after the target: stay on what is shown
        this._seeking = false;
        this.dispatchEvent(new Event('seeked'));
      }
      this._schedule();
    } else if (m.type === 'audio') {
      if (m.gen !== this._gen) return;
      if (this._audio) this._audio.push(m.start, m.duration, m.data);
      else if (!this._audioProblem) this._early.push(m); // before the decoder is ready
    } else if (m.type === 'index') { // a whole download brought the index: the duration
      Object.assign(this._meta, { endPts: m.endPts, frames: m.frames, keyframes: m.keyframes });
      this.dispatchEvent(new Event('durationchange'));
      this._timeupdate(true);
    } else if (m.type === 'warning') {
      console.warn(`vq-player: ${m.message}`);
    } else if (m.type === 'error') {
      if (m.gen !== undefined && m.gen !== this._gen && m.gen !== -1) return;
      this._fail(m.message, m.offset);
    }
  }

  _makeRenderer(width, height) {
    if (this.getAttribute('renderer') !== '2d') {
      try {
        return new GLRenderer(this._canvas, width, height);
      } catch (err) {
        // a canvas that had a WebGL context cannot give a 2D one: start on a fresh canvas
        const fresh = this._canvas.cloneNode();
        this._canvas.replaceWith(fresh);
        this._canvas = fresh;
      }
    }
    return new CanvasRenderer(this._canvas, width, height);
  }

  _fail(message, offset) {
    this.error = { message, offset };
    this._paused = true;
    const where = offset === null || offset === undefined ? '' : ` (at byte ${offset})`;
    this._message.textContent = `cannot play: ${message}${where}`;
    this._message.className = 'message';
    this._message.hidden = false;
    this.dispatchEvent(new CustomEvent('error', { detail: { message, offset } }));
  }

  _note(text) {
    this._message.textContent = text;
    this._message.className = 'message note';
    this._message.hidden = false;
  }

  _seek(seconds) {
    if (!this._meta || !this._worker) return;
    const limit = Number.isFinite(this.duration) ? this.duration : Infinity;
    const target = Math.min(Math.max(0, seconds), limit);
    this._gen += 1;
    this._queue = [];
    this._audio?.reset();
    this._early = [];
    this._useAudio = false;
    this._requested = AHEAD;
    this._finished = false;
    this._ended = false;
    this._seeking = true;
    this._base = target;
    this._time0 = performance.now();
    this._worker.postMessage({
      type: 'seek', gen: this._gen, pts: Math.floor(target / this._unit), count: AHEAD,
    });
  }

  _refill() {
    if (this._finished || !this._worker) return;
    const want = AHEAD - this._queue.length - this._requested;
    if (want > 0) {
      this._requested += want;
      this._worker.postMessage({ type: 'more', gen: this._gen, count: want });
    }
  }

  _show(frame) {
    this._current = frame;
    if (this._useAudio && !this._paused) this._measureSync(frame);
    this._renderer.draw(frame.labels, frame.palette, this._meta.header.alphaIndex);
  }

  _measureSync(frame) {
    const audio = this._audio;
    const stamp = audio.context.getOutputTimestamp ? audio.context.getOutputTimestamp() : null;
    if (!stamp || !stamp.performanceTime) return;
    const heardContext = stamp.contextTime + (performance.now() - stamp.performanceTime) / 1000;
    const heard = audio.t0 + (heardContext - audio.c0);
    const offset = heard - frame.start;
    this._sync.frames += 1;
    this._sync.sum += offset;
    this._sync.max = Math.max(this._sync.max, Math.abs(offset));
  }

  _schedule() {
    if (!this._raf && !this._paused) this._raf = requestAnimationFrame((now) => this._tick(now));
  }

  _tick(now) {
    this._raf = 0;
    if (this._paused) return;
    if (this._seeking || (!this._queue.length && !this._finished)) {
      // waiting for the decoder: the clock holds (a stall, not a slow-down)
      this._base = this.currentTime;
      this._time0 = now;
      this._schedule();
      return;
    }
    const t = this._clock(now);
    const queue = this._queue;
    // late frames (their time is over) are dropped, never shown late
    while (queue.length > 1 && queue[1].start <= t) {
      const late = queue.shift();
      if (late !== this._current) this.dropped += 1;
    }
    if (queue.length && queue[0] !== this._current && queue[0].start <= t) this._show(queue[0]);
    this._refill();
    const over = !queue.length || (queue.length === 1 && queue[0].end <= t);
    if (this._finished && over && queue.every((f) => f === this._current)) {
      if (this.loop) {
        this._seek(0);
        this._schedule();
        return;
      }
      this._base = Number.isFinite(this.duration) ? this.duration : t;
      this._paused = true;
      this._audio?.stop();
      this._useAudio = false;
      this._ended = true;
      this._button.innerHTML = '&#9654;';
      this._timeupdate(true);
      this.dispatchEvent(new Event('pause'));
      this.dispatchEvent(new Event('ended'));
      return;
    }
    this._timeupdate(false);
    this._schedule();
  }

  _timeupdate(force) {
    const now = performance.now();
    if (!force && now - this._lastUpdate < TIMEUPDATE_MS) return;
    this._lastUpdate = now;
    const t = this.currentTime;
    const d = this.duration;
    this._time.textContent = `${clock(t)} / ${clock(d)}`;
    if (Number.isFinite(d) && d > 0) this._bar.value = String(Math.round((t / d) * 1000));
    this.dispatchEvent(new Event('timeupdate'));
  }

  _key(event) {
    const keys = {
      ' ': () => (this.paused ? this.play() : this.pause()),
      k: () => (this.paused ? this.play() : this.pause()),
      ArrowLeft: () => { this.currentTime = this.currentTime - 5; },
      ArrowRight: () => { this.currentTime = this.currentTime + 5; },
      Home: () => { this.currentTime = 0; },
      End: () => { if (Number.isFinite(this.duration)) this.currentTime = this.duration; },
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }
}

if (!customElements.get('vq-player')) customElements.define('vq-player', VqPlayer);
