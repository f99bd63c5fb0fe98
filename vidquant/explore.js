// vidquant explore: the page's logic (no library, nothing loaded from elsewhere).
//
// A slider fires an event per step; computing each would queue seconds of work. So the page
// keeps one request in flight at a time and, when it returns, asks for whatever setting is
// wanted by then: the latest one wins and the steps in between are skipped. Until a new result
// and both its pictures are ready, the last one stays on screen, dimmed.
"use strict";

const $ = (id) => document.getElementById(id);

let source = null; // /api/source
const wanted = { k: 16, frame: 0, method: "minibatch" };
let shownKey = null; // the setting on screen (or that failed), as keyOf() gives it
let busy = false;

const keyOf = (w) => `${w.k}|${w.frame}|${w.method}`;
const frameTime = (frame) => (source.kind === "video" ? frame / source.fps : 0);
const grouped = (n) => n.toLocaleString("en-US").replace(/,/g, "\u202f");

function bytes(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

// "3.1× smaller" or "1.4× larger": how the indexed PNG compares with another size.
function compared(ratio) {
  return ratio >= 1 ? `${ratio.toFixed(1)}× smaller` : `${(1 / ratio).toFixed(1)}× larger`;
}

function frameLabel(frame) {
  if (source.kind !== "video") return "still image";
  return `${frame + 1} / ${source.frames} · ${frameTime(frame).toFixed(2)} s`;
}

function preload(url) {
  const img = new Image();
  img.src = url;
  return img.decode();
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function pump() {
  if (busy || source === null) return;
  const want = { ...wanted };
  const key = keyOf(want);
  if (key === shownKey) return;
  busy = true;
  $("figures").classList.add("stale");
  const where = source.kind === "video" ? `, frame ${want.frame + 1}` : "";
  setStatus(`computing k=${want.k} (${want.method}${where})…`);
  try {
    const query = new URLSearchParams({
      k: want.k,
      t: frameTime(want.frame).toFixed(6),
      method: want.method,
    });
    const response = await fetch(`/api/quantize?${query}`);
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    await Promise.all([preload(data.original_url), preload(data.quantized_url)]);
    await show(data);
    setStatus("");
  } catch (err) {
    setStatus(`error: ${err.message}`, true);
  } finally {
    shownKey = key; // also after an error: a new setting tries again, this one does not loop
    busy = false;
    $("figures").classList.remove("stale");
  }
  pump();
}

async function show(data) {
  const original = $("original");
  const quantized = $("quantized");
  original.src = data.original_url;
  quantized.src = data.quantized_url;
  await Promise.all([original.decode(), quantized.decode()]); // from the cache: at once

  const size = `${data.width}×${data.height}${source.preview ? " preview" : ""}`;
  $("original-caption").textContent =
    source.kind === "video" ? `${size} · frame ${data.frame + 1} (${data.time_s.toFixed(2)} s)` : size;
  $("quantized-caption").textContent = `${size} · k=${data.k}, ${data.method}`;

  $("fig-k").textContent = `${data.k} · ${data.method}`;
  $("colours").textContent = `${grouped(data.colours_before)} → ${grouped(data.colours_after)}`;
  $("psnr").textContent = data.psnr_db === null ? "∞ (identical)" : `${data.psnr_db.toFixed(2)} dB`;
  $("size").textContent = bytes(data.png_bytes);
  $("ratio").textContent = `${compared(data.ratio_raw)} than ${bytes(data.raw_bytes)}`;
  const what = source.kind === "video" ? " (the clip's mean per frame)" : "";
  $("source-size").textContent =
    `${compared(data.ratio_source)} than ${bytes(data.source_bytes)}${what}`;
  const total = data.fit_ms + data.assign_ms;
  $("compute-time").textContent =
    `${total.toFixed(0)} ms (fit ${data.fit_ms.toFixed(0)} + assign ${data.assign_ms.toFixed(0)})` +
    (data.cached ? " · cached" : "");

  // What is on screen, for anyone (a test) waiting for a setting to show.
  for (const img of [original, quantized]) {
    img.dataset.frame = data.frame;
    img.dataset.k = data.k;
    img.dataset.method = data.method;
  }
  document.body.dataset.shown = keyOf(data);
}

function setFrame(frame) {
  wanted.frame = Math.max(0, Math.min(source.frames - 1, frame));
  $("time").value = wanted.frame;
  $("time-value").textContent = frameLabel(wanted.frame);
  $("prev-frame").disabled = wanted.frame === 0;
  $("next-frame").disabled = wanted.frame === source.frames - 1;
  pump();
}

function describe() {
  const size = `${source.source_width}×${source.source_height}`;
  let about;
  if (source.kind === "video") {
    const seconds = source.duration_s === null ? "?" : source.duration_s.toFixed(2);
    about = `Video, ${size}, ${source.fps.toFixed(3).replace(/\.?0+$/, "")} fps, ` +
      `${source.frames} frames, ${seconds} s`;
  } else {
    about = `Still image, ${size}`;
  }
  $("about").textContent = `${about}, ${bytes(source.file_bytes)} file.`;
  if (source.preview) {
    const note = $("preview-note");
    note.textContent = `Pictures and figures are for a ${source.width}×${source.height} preview ` +
      `of the ${size} source (scaled down to at most 1280 px on the long side).`;
    note.hidden = false;
    $("about").textContent += ` Explored at ${source.width}×${source.height} (a scaled preview).`;
  }
  if (source.kind === "video") {
    $("source-label").textContent = "PNG vs source clip";
  }
}

async function init() {
  try {
    const response = await fetch("/api/source");
    source = await response.json();
    if (!response.ok) throw new Error(source.error || response.statusText);
  } catch (err) {
    source = null;
    $("about").textContent = `Cannot reach the explorer: ${err.message}`;
    return;
  }
  document.title = `${source.name} · vidquant explore`;
  $("name").textContent = source.name;
  describe();

  const k = $("k");
  k.min = source.k_min;
  k.max = source.k_max;
  k.value = source.k;
  wanted.k = source.k;
  $("k-value").textContent = source.k;
  k.addEventListener("input", () => {
    wanted.k = Number(k.value);
    $("k-value").textContent = k.value;
    pump();
  });

  const method = $("method");
  for (const name of source.methods) method.add(new Option(name, name));
  method.value = source.method;
  wanted.method = source.method;
  method.addEventListener("change", () => {
    wanted.method = method.value;
    pump();
  });

  const time = $("time");
  if (source.kind === "video") {
    time.max = source.frames - 1;
    time.addEventListener("input", () => setFrame(Number(time.value)));
    $("prev-frame").addEventListener("click", () => setFrame(wanted.frame - 1));
    $("next-frame").addEventListener("click", () => setFrame(wanted.frame + 1));
    setFrame(0);
  } else {
    for (const id of ["time", "prev-frame", "next-frame"]) $(id).hidden = true;
    $("time-value").textContent = "still image";
    pump();
  }
}

init();
