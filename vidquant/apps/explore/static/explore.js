// vidquant explore: the page's logic (no library, nothing loaded from elsewhere).
//
// A slider fires an event per step; computing each would queue seconds of work. So the page
// keeps one request in flight at a time and, when it returns, asks for whatever setting is
// wanted by then: the latest one wins and the steps in between are skipped. Until a new result
// and both its pictures are ready, the last one stays on screen, dimmed.
//
// With several sources the server reads each when it is first chosen (/api/source?s=N); one
// that cannot be read shows its error in place of the pictures, and the others still work.
//
// A busy server answers 503 rather than queue the request: the page waits a moment and asks
// again, for the setting wanted by then.
"use strict";

const $ = (id) => document.getElementById(id);

let catalogue = null; // /api/sources: the sources, the k range, the methods
let source = null; // /api/source?s=N of the chosen source; null while it opens or if broken
const opened = new Map(); // source index -> its /api/source reply, or the Error it gave
const wanted = { source: 0, k: 16, frame: 0, method: "minibatch" };
let shownKey = null; // the setting on screen (or that failed), as keyOf() gives it
let busy = false;

const keyOf = (w) => `${w.source}|${w.k}|${w.frame}|${w.method}`;
const frameTime = (info, frame) => (info.kind === "video" ? frame / info.fps : 0);
const grouped = (n) => n.toLocaleString("en-US").replace(/,/g, "\u202f");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A 503: the server had too many requests waiting; worth asking again after retryMs.
class Busy extends Error {
  constructor(message, retryMs) {
    super(message);
    this.retryMs = retryMs;
  }
}

async function failure(response) {
  const data = await response.json();
  if (response.status === 503) {
    const seconds = Number(response.headers.get("Retry-After")) || 1;
    return new Busy(data.error, Math.min(seconds, 5) * 1000);
  }
  return new Error(data.error || response.statusText);
}

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
  return `${frame + 1} / ${source.frames} · ${frameTime(source, frame).toFixed(2)} s`;
}

// Fetched first for its status (an <img> hides a 503), then decoded from the browser's cache.
async function preload(url) {
  const response = await fetch(url);
  if (!response.ok) throw await failure(response);
  await response.blob();
  const img = new Image();
  img.src = url;
  return img.decode();
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw await failure(response);
  return response.json();
}

async function pump() {
  if (busy || source === null || source.index !== wanted.source) return;
  const want = { ...wanted };
  const info = source;
  const key = keyOf(want);
  if (key === shownKey) return;
  busy = true;
  $("figures").classList.add("stale");
  // Another source's pictures are not this one's last result: dim them too.
  const otherSource = !(document.body.dataset.shown || "").startsWith(`${want.source}|`);
  $("pictures").classList.toggle("stale", otherSource);
  const where = info.kind === "video" ? `, frame ${want.frame + 1}` : "";
  setStatus(`computing k=${want.k} (${want.method}${where})…`);
  try {
    const query = new URLSearchParams({
      s: want.source,
      k: want.k,
      t: frameTime(info, want.frame).toFixed(6),
      method: want.method,
    });
    const data = await getJson(`/api/quantize?${query}`);
    await Promise.all([preload(data.original_url), preload(data.quantized_url)]);
    await show(data, info);
    shownKey = key;
    setStatus("");
  } catch (err) {
    if (err instanceof Busy) {
      setStatus(`${err.message}; trying again…`);
      await sleep(err.retryMs);
    } else {
      setStatus(`error: ${err.message}`, true);
      shownKey = key; // a new setting tries again, this one does not loop
    }
  } finally {
    busy = false;
    $("figures").classList.remove("stale");
    $("pictures").classList.remove("stale");
  }
  pump();
}

async function show(data, info) {
  const original = $("original");
  const quantized = $("quantized");
  original.src = data.original_url;
  quantized.src = data.quantized_url;
  await Promise.all([original.decode(), quantized.decode()]); // from the cache: at once

  const size = `${data.width}×${data.height}${info.preview ? " preview" : ""}`;
  $("original-caption").textContent =
    info.kind === "video" ? `${size} · frame ${data.frame + 1} (${data.time_s.toFixed(2)} s)` : size;
  $("quantized-caption").textContent = `${size} · k=${data.k}, ${data.method}`;

  $("fig-k").textContent = `${data.k} · ${data.method}`;
  $("colours").textContent = `${grouped(data.colours_before)} → ${grouped(data.colours_after)}`;
  $("psnr").textContent = data.psnr_db === null ? "∞ (identical)" : `${data.psnr_db.toFixed(2)} dB`;
  $("size").textContent = bytes(data.png_bytes);
  $("ratio").textContent = `${compared(data.ratio_raw)} than ${bytes(data.raw_bytes)}`;
  if (data.ratio_source !== null) {
    const what = info.kind === "video" ? " (the video stream's mean per frame)" : "";
    $("source-size").textContent =
      `${compared(data.ratio_source)} than ${bytes(data.source_bytes)}${what}`;
  } else if (info.preview) {
    $("source-size").textContent =
      `n/a: the figures are for the ${data.width}×${data.height} preview`;
  } else {
    $("source-size").textContent = "n/a: the video stream's size is unknown";
  }
  const total = data.fit_ms + data.assign_ms;
  $("compute-time").textContent =
    `${total.toFixed(0)} ms (fit ${data.fit_ms.toFixed(0)} + assign ${data.assign_ms.toFixed(0)})` +
    (data.cached ? " · cached" : "");

  // What is on screen, for anyone (a test) waiting for a setting to show.
  for (const img of [original, quantized]) {
    img.dataset.source = data.source;
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
  document.title = `${source.name} · vidquant explore`;
  $("name").textContent = source.name;
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
  const note = $("preview-note");
  note.hidden = !source.preview;
  if (source.preview) {
    note.textContent = `Pictures and figures are for a ${source.width}×${source.height} preview ` +
      `of the ${size} source (scaled down to at most 1280 px on the long side).`;
    $("about").textContent += ` Explored at ${source.width}×${source.height} (a scaled preview).`;
  }
  $("source-label").textContent =
    source.kind === "video" ? "PNG vs source clip" : "PNG vs source file";

  // A still has no frames to pick. With one source the picker's slider goes; with several it
  // keeps its room, so that the page does not jump as the sources change.
  const video = source.kind === "video";
  const several = catalogue.sources.length > 1;
  for (const id of ["time", "prev-frame", "next-frame"]) {
    $(id).hidden = !video && !several;
    $(id).style.visibility = video ? "" : "hidden";
  }
  $("time").max = source.frames - 1;
}

// A source that cannot be read: its error where the pictures were, and no stale figures.
function showBroken(entry, err) {
  document.title = `${entry.name} · vidquant explore`;
  $("name").textContent = entry.name;
  $("about").textContent = `This file cannot be explored (${bytes(entry.file_bytes)}).`;
  $("source-error").textContent = err.message;
  $("source-error").hidden = false;
  $("pictures").hidden = true;
  $("preview-note").hidden = true;
  for (const id of ["fig-k", "colours", "psnr", "size", "ratio", "source-size", "compute-time"]) {
    $(id).textContent = "–";
  }
  $("source-label").textContent = "PNG vs source file";
  for (const id of ["time", "prev-frame", "next-frame"]) $(id).style.visibility = "hidden";
  $("time-value").textContent = "–";
  setStatus("");
  document.body.dataset.shown = `${entry.index}|error`;
  shownKey = null;
}

async function selectSource(index) {
  const count = catalogue.sources.length;
  index = Math.max(0, Math.min(count - 1, index));
  const entry = catalogue.sources[index];
  wanted.source = index;
  wanted.frame = 0;
  $("source").value = index;
  $("source-value").textContent = `${index + 1} / ${count}`;
  $("prev-source").disabled = index === 0;
  $("next-source").disabled = index === count - 1;
  source = null;
  if (!opened.has(index)) {
    setStatus(`opening ${entry.name}…`);
    while (!opened.has(index)) {
      try {
        opened.set(index, await getJson(`/api/source?s=${index}`));
      } catch (err) {
        if (err instanceof TypeError) { // no answer at all (the server stopped): not kept
          setStatus(`error: cannot reach the explorer: ${err.message}`, true);
          return;
        }
        if (!(err instanceof Busy)) {
          opened.set(index, err);
        } else if (wanted.source === index) { // busy: not kept; asked again while wanted
          setStatus(`${err.message}; trying again…`);
          await sleep(err.retryMs);
        }
      }
      if (wanted.source !== index) return; // another source was chosen meanwhile
    }
  }
  const info = opened.get(index);
  if (info instanceof Error) {
    showBroken(entry, info);
    return;
  }
  $("source-error").hidden = true;
  $("pictures").hidden = false;
  source = info;
  describe();
  setFrame(0); // and pump()
}

function setUpControls() {
  const k = $("k");
  k.min = catalogue.k_min;
  k.max = catalogue.k_max;
  k.value = catalogue.k;
  wanted.k = catalogue.k;
  $("k-value").textContent = catalogue.k;
  k.addEventListener("input", () => {
    wanted.k = Number(k.value);
    $("k-value").textContent = k.value;
    pump();
  });

  const method = $("method");
  for (const name of catalogue.methods) method.add(new Option(name, name));
  method.value = catalogue.method;
  wanted.method = catalogue.method;
  method.addEventListener("change", () => {
    wanted.method = method.value;
    pump();
  });

  const time = $("time");
  time.addEventListener("input", () => setFrame(Number(time.value)));
  $("prev-frame").addEventListener("click", () => setFrame(wanted.frame - 1));
  $("next-frame").addEventListener("click", () => setFrame(wanted.frame + 1));

  const picker = $("source");
  for (const entry of catalogue.sources) picker.add(new Option(entry.name, entry.index));
  picker.addEventListener("change", () => selectSource(Number(picker.value)));
  $("prev-source").addEventListener("click", () => selectSource(wanted.source - 1));
  $("next-source").addEventListener("click", () => selectSource(wanted.source + 1));
  $("source-picker").hidden = catalogue.sources.length < 2;
  document.body.classList.toggle("several-sources", catalogue.sources.length > 1);
}

async function init() {
  try {
    catalogue = await getJson("/api/sources");
  } catch (err) {
    $("about").textContent = `Cannot reach the explorer: ${err.message}`;
    return;
  }
  setUpControls();
  selectSource(0);
}

init();
