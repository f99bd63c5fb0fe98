/**
 * decode-loop.mjs: the timed loops of bench_web.py, shared by Node (node-bench.mjs) and the
 * page (bench-page.mjs). `vq` is the vq.js module, `bytes` the whole .vq file in memory.
 *
 * One pass: new VqFile(bytes), then FrameDecoder.frames() to the end; each frame's labels (or,
 * with rgba, the toRGBA output, into one reused buffer as a player would) are touched once so
 * that no work can be skipped. The time covers the VqFile parse and every frame.
 */

export function decodePass(vq, bytes, { rgba = false, every = 0, onSample = null } = {}) {
  const t0 = performance.now();
  const file = new vq.VqFile(bytes);
  const { width, height, alphaIndex } = file.header;
  const out = rgba ? new Uint8ClampedArray(width * height * 4) : null;
  let frames = 0;
  let check = 0;
  for (const f of new vq.FrameDecoder(file).frames()) {
    if (rgba) {
      vq.toRGBA(f.labels, f.palette, alphaIndex, out);
      check = (check + out[(frames * 4099) % out.length]) | 0;
    } else {
      check = (check + f.labels[(frames * 4099) % f.labels.length]) | 0;
    }
    frames += 1;
    if (onSample && every && frames % every === 0) onSample(frames);
  }
  const ms = performance.now() - t0;
  return { frames, ms, fps: (frames * 1000) / ms, check, width, height };
}

/**
 * A cold pass (the first: the JIT warms up in it), then `repeat` decoder-only passes and
 * `repeat` decoder + toRGBA passes, interleaved. `cpuMs()`, when given, reads the process's CPU
 * time in ms: each pass then also has its CPU time (a figure that other load on the machine
 * disturbs less than the wall time). Every pass is returned: {mode, frames, ms, fps, cpu_ms}.
 */
export function decodeBench(vq, bytes, { repeat = 1, cpuMs = null } = {}) {
  const passes = [];
  const run = (mode) => {
    const c0 = cpuMs ? cpuMs() : null;
    const r = decodePass(vq, bytes, { rgba: mode === 'rgba' });
    const cpu = cpuMs ? cpuMs() - c0 : null;
    passes.push({ mode, frames: r.frames, ms: r.ms, fps: r.fps, cpu_ms: cpu, width: r.width,
      height: r.height, check: r.check });
  };
  run('cold');
  for (let i = 0; i < repeat; i++) {
    run('decode');
    run('rgba');
  }
  return { bytes: bytes.length, passes };
}
