/**
 * bench-page.mjs: the measurements bench_web.py runs in headless chromium (bench.html).
 *
 * Served by vidquant.apps.web.WebServer from one folder that also holds the player's modules
 * (vq.js, vq-worker.js, vq-player.js) and the .vq files. Each entry of window.vqBench returns a
 * promise of plain JSON figures; selenium calls them with execute_async_script.
 */

import * as vq from './vq.js';
import { decodePass } from './decode-loop.mjs';

let loaded = null; // the file of load() and pass()

async function load(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function gc() {
  if (typeof window.gc === 'function') window.gc(); // with --js-flags=--expose-gc
}

function heap() {
  const m = performance.memory;
  return m ? m.usedJSHeapSize : null;
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(resolve));
}

function removePlayers() {
  document.querySelectorAll('vq-player').forEach((p) => p.remove());
}

/**
 * A <vq-player> for `url`, counting the frames its worker sends (every message of type
 * 'frame') and the frames it draws. Both counters wrap the element's own methods on this one
 * instance; the player is not changed otherwise.
 */
function makePlayer(url, t0) {
  removePlayers();
  const p = document.createElement('vq-player');
  p.setAttribute('muted', '');
  p.style.width = '640px';
  const proto = Object.getPrototypeOf(p);
  const stats = { received: 0, shown: 0, firstShownMs: null, metaMs: null, seekedMs: null };
  p._receive = function receive(m) {
    if (m && m.type === 'frame') stats.received += 1;
    return proto._receive.call(this, m);
  };
  p._show = function show(frame) {
    stats.shown += 1;
    if (stats.firstShownMs === null) stats.firstShownMs = performance.now() - t0;
    return proto._show.call(this, frame);
  };
  p.addEventListener('loadedmetadata', () => {
    if (stats.metaMs === null) stats.metaMs = performance.now() - t0;
  });
  p.addEventListener('seeked', () => {
    if (stats.seekedMs === null) stats.seekedMs = performance.now() - t0;
  });
  p.setAttribute('src', url);
  return { p, stats };
}

function waitEvent(target, names, timeoutMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    for (const name of names) {
      target.addEventListener(name, () => {
        clearTimeout(timer);
        resolve(name);
      }, { once: true });
    }
  });
}

window.vqBench = {
  /** Fetch `url` into memory for pass() (untimed); one file at a time. */
  async load(url) {
    loaded = null;
    gc();
    loaded = await load(url);
    return loaded.length;
  },

  /** One decodePass (decode-loop.mjs) over the loaded file, on the page's main thread. */
  pass({ rgba = false } = {}) {
    const r = decodePass(vq, loaded, { rgba });
    return { frames: r.frames, ms: r.ms, fps: r.fps, width: r.width, height: r.height };
  },

  unload() {
    loaded = null;
    gc();
    return true;
  },

  /**
   * One decoder + toRGBA pass over `url` on the page: usedJSHeapSize every `every` frames (as
   * it comes, garbage included) and, every `gcEvery` frames, right after a gc() (what is live).
   */
  async heap(url, { every = 8, gcEvery = 64 } = {}) {
    loaded = null;
    gc();
    const before = heap();
    const bytes = await load(url);
    gc();
    const withFile = heap();
    const samples = [];
    const live = [];
    const pass = decodePass(vq, bytes, {
      rgba: true,
      every,
      onSample: (n) => {
        samples.push(heap());
        if (n % gcEvery === 0) {
          gc();
          live.push(heap());
        }
      },
    });
    gc();
    return {
      frames: pass.frames, fps: pass.fps, bytes: bytes.length, before, loaded: withFile,
      peak: Math.max(withFile, ...samples), live_peak: Math.max(withFile, ...live),
      after: heap(), samples: samples.length, live_samples: live.length,
      precise: samples.some((v) => v % 1000 !== 0),
    };
  },

  /**
   * vq-worker.js driven with the player's own messages: open, then one seek to 0 asking for
   * every frame. Frames per second received on the page, from the seek to the 'end' message
   * (download, decode, the labels' copy, the transfer). Run twice in one worker: cold, then
   * warm. A worker error ends the run: `error` and the frames received until then.
   */
  async worker(url, { timeoutMs = 300000 } = {}) {
    const w = new Worker('./vq-worker.js', { type: 'module' });
    const result = {};
    try {
      const meta = await new Promise((resolve, reject) => {
        w.onmessage = (e) => {
          if (e.data.type === 'meta') resolve(e.data);
          else if (e.data.type === 'error') reject(new Error(e.data.message));
        };
        w.onerror = (e) => reject(new Error(e.message || 'worker failed'));
        w.postMessage({ type: 'open', url: new URL(url, document.baseURI).href });
        setTimeout(() => reject(new Error('no meta')), timeoutMs);
      });
      result.frames_in_index = meta.frames;
      for (const [gen, key] of [[1, 'cold'], [2, 'warm']]) {
        const run = await new Promise((resolve) => {
          let frames = 0;
          const t0 = performance.now();
          const finish = (error) => {
            const ms = performance.now() - t0;
            resolve({ frames, ms, fps: (frames * 1000) / ms, error });
          };
          const timer = setTimeout(() => finish('timeout'), timeoutMs);
          w.onmessage = (e) => {
            const m = e.data;
            if (m.gen !== gen && m.type !== 'error') return;
            if (m.type === 'frame') frames += 1;
            else if (m.type === 'end' || m.type === 'error') {
              clearTimeout(timer);
              finish(m.type === 'error' ? `${m.message}` : null);
            }
          };
          w.postMessage({ type: 'seek', gen, pts: 0, count: 1e9 });
        });
        result[`${key}_fps`] = run.fps;
        result[`${key}_frames`] = run.frames;
        if (run.error) {
          result.error = run.error;
          break;
        }
      }
    } finally {
      w.terminate();
    }
    return result;
  },

  /**
   * The player from the start to 'ended' at normal speed: frames its worker sent and frames it
   * drew per second of wall time, and the frames it dropped as late.
   */
  async play(url, { timeoutMs = 300000 } = {}) {
    const t0 = performance.now();
    const { p, stats } = makePlayer(url, t0);
    document.body.appendChild(p);
    p.play();
    const how = await waitEvent(p, ['ended', 'error'], timeoutMs);
    const ms = performance.now() - t0;
    const playMs = stats.seekedMs === null ? ms : ms - stats.seekedMs;
    const out = {
      how, ms, play_ms: playMs, received: stats.received, shown: stats.shown,
      dropped: p.dropped, renderer: p.renderer, duration_s: p.duration, error: p.error,
      received_fps: (stats.received * 1000) / playMs, shown_fps: (stats.shown * 1000) / playMs,
      first_frame_ms: stats.firstShownMs,
    };
    removePlayers();
    return out;
  },

  /** Element creation to the first frame drawn (frameIndex not null, seen on a frame tick). */
  async firstFrame(url, { timeoutMs = 60000 } = {}) {
    const t0 = performance.now();
    const { p, stats } = makePlayer(url, t0);
    document.body.appendChild(p);
    let polledMs = null;
    while (performance.now() - t0 < timeoutMs) {
      await nextFrame();
      if (p.error) break;
      if (p.frameIndex !== null) {
        polledMs = performance.now() - t0;
        break;
      }
    }
    const out = {
      polled_ms: polledMs, drawn_ms: stats.firstShownMs, meta_ms: stats.metaMs,
      seeked_ms: stats.seekedMs, renderer: p.renderer, error: p.error,
    };
    removePlayers();
    return out;
  },

  vq: Object.keys(vq),
};
document.getElementById('status').textContent = 'ready';
