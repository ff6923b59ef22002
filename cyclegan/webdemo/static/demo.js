// The demo page: pick files and methods, send them as one job, follow the job (queue position, progress,
// results as they come) and cancel it. Talks only to this server's /api (see cyclegan/webdemo/app.py).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, files: [], job: null, timer: null, shown: 0, urls: [] };
const FINISHED = ["done", "failed", "cancelled"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function api(path, options) {
  const r = await fetch(path, options);
  const type = r.headers.get("content-type") || "";
  const body = type.includes("application/json") ? await r.json() : null;
  if (!r.ok) throw new Error((body && body.error) || `${r.status} ${r.statusText}`);
  return body;
}

function say(text, kind) {
  const m = $("message");
  m.hidden = !text;
  m.textContent = text || "";
  m.className = kind || "error";
}

const mb = (bytes) => bytes < 2 ** 20 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 2 ** 20).toFixed(1)} MB`;
const stem = (name) => name.replace(/\.[^.]*$/, "");
const isVideo = (file) => file.type.startsWith("video/") ||
  state.info.limits.video_suffixes.some((s) => file.name.toLowerCase().endsWith(s));

// ---- what the server offers
async function loadInfo() {
  const info = state.info = await api("/api/info");
  const lim = info.limits;
  $("device").textContent = `Runs on ${info.device}. Models from ${info.checkpoints_dir}.`;
  $("limits").textContent = `Up to ${lim.max_files} files and ${mb(lim.max_upload_bytes)} per run, ` +
    `${(lim.max_pixels / 1e6).toFixed(0)} megapixels per image` +
    (lim.max_video_frames ? `, videos up to ${lim.max_video_frames} frames.` : "; videos are turned off.");
  for (const method of ["cyclegan", "fast_nst"]) {
    const box = document.querySelector(`#group-${method} .choices`);
    box.replaceChildren();
    const models = info.models.filter((m) => m.method === method);
    models.forEach((m, i) => box.append(el("label", { class: "choice" },
      el("input", { type: "checkbox", name: "model", value: m.key, checked: i === 0 }), ` ${m.label}`)));
    if (!models.length) box.append(el("p", { class: "hint", text: "none found" }));
  }
  const none = $("no-models");
  none.hidden = info.models.length > 0;
  none.textContent = `No models found under ${info.checkpoints_dir}: train one (cyclegan-train, cyclegan-fast-nst ` +
    "train) or put an official latest_net_G.pth in a folder there (scripts/download_cyclegan_model.sh), " +
    "then reload this page. Gatys needs no model.";
  $("gatys-size").value = lim.default_gatys_size;
  $("gatys-size").max = lim.max_side;
  $("num-iters").value = lim.default_gatys_iters;
  $("num-iters").max = lim.max_gatys_iters;
  $("size").value = lim.default_size;
  $("size").max = lim.max_side;
  const select = $("style-select");
  select.replaceChildren(...info.styles.map((s) => el("option", { value: s.key,
    text: s.count > 1 ? `${s.key} (${s.count} paintings pooled)` : s.key })));
  if (!info.styles.length) select.append(el("option", { value: "", text: "none offered: upload one" }));
  $("gatys-on").checked = !info.models.length;
  const vgg = $("vgg-message");
  vgg.hidden = info.gatys.ready;
  vgg.textContent = info.gatys.ready ? "" : info.gatys.message;
}

// ---- the chosen files
function addFiles(list) {
  const lim = state.info.limits;
  for (const f of list) {
    if (state.files.length >= lim.max_files) { say(`At most ${lim.max_files} files per run.`); break; }
    if (f.size > lim.max_upload_bytes) {
      say(`${f.name} is ${mb(f.size)}, over the limit of ${mb(lim.max_upload_bytes)}.`);
      continue;
    }
    state.files.push(f);
  }
  renderPicked();
}

function renderPicked() {
  state.urls.forEach((u) => URL.revokeObjectURL(u));
  state.urls = [];
  const ul = $("picked");
  ul.replaceChildren(...state.files.map((f, i) => {
    const url = URL.createObjectURL(f);
    state.urls.push(url);
    const preview = isVideo(f) ? el("video", { src: url, muted: true }) : el("img", { src: url, alt: "" });
    preview.addEventListener("error", () => preview.replaceWith(el("span", { class: "noimg", text: "?" })));
    const remove = el("button", { type: "button", class: "small", "aria-label": `remove ${f.name}`, text: "×" });
    remove.addEventListener("click", () => { state.files.splice(i, 1); renderPicked(); });
    return el("li", {}, preview, el("span", { text: `${f.name} (${mb(f.size)})` }), remove);
  }));
}

// ---- a run
function form() {
  const fd = new FormData();
  state.files.forEach((f) => fd.append("image", f, f.name));
  document.querySelectorAll('input[name="model"]:checked').forEach((c) => fd.append("model", c.value));
  fd.append("size", $("size").value);
  if ($("gatys-on").checked) {
    fd.append("method", "gatys");
    fd.append("gatys_size", $("gatys-size").value);
    fd.append("num_iters", $("num-iters").value);
    const painted = [...$("style-files").files, ...$("style-folder").files].filter((f) => f.type.startsWith("image/"));
    if (painted.length) painted.forEach((f) => fd.append("style_image", f, f.name));
    else fd.append("style", $("style-select").value);
  }
  return fd;
}

async function run() {
  say("");
  if (!state.files.length) { say("Choose at least one photo first."); return; }
  if (!document.querySelector('input[name="model"]:checked') && !$("gatys-on").checked) {
    say("Tick at least one model or Gatys."); return;
  }
  $("run").disabled = true;
  $("status").textContent = "Sending…";
  try {
    const job = await api("/api/jobs", { method: "POST", body: form() });
    state.job = job;
    state.shown = 0;
    layout(job);
    $("cancel").hidden = false;
    update(job);
    poll();
  } catch (e) {
    say(e.message);
    $("status").textContent = "";
    $("run").disabled = false;
  }
}

function layout(job) {
  const box = $("results");
  box.replaceChildren();
  $("results-section").hidden = false;
  $("zip").href = `/api/jobs/${job.id}/results.zip`;
  $("zip").hidden = true;
  job.inputs.forEach((inp, i) => {
    const file = state.files[i];
    const url = file ? URL.createObjectURL(file) : "";
    const media = inp.kind === "video" ? el("video", { src: url, controls: true, muted: true, class: "result" })
      : el("img", { src: url, alt: inp.name, class: "original" });
    const row = el("div", { class: "row", id: `row-${i}` },
      el("figure", { class: "card" }, media, el("figcaption", {}, el("strong", { text: inp.name }),
        el("span", { class: "hint", text: inp.width ? ` ${inp.width} × ${inp.height}` : " original" }))));
    job.columns.forEach((col, c) => row.append(el("figure", { class: "card pending", id: `cell-${i}-${c}` },
      el("div", { class: "placeholder", text: "waiting…" }),
      el("figcaption", {}, el("strong", { text: col.label })))));
    box.append(row);
  });
}

function card(r, inputName) {
  const fig = el("figure", { class: r.error ? "card failed" : "card" });
  if (r.error) {
    fig.append(el("pre", { class: "error", text: r.error }), el("figcaption", {}, el("strong", { text: r.label })));
    return fig;
  }
  const name = `${stem(inputName)}__${r.key.replace(/[^A-Za-z0-9._-]+/g, "_")}.${r.kind === "video" ? "webm" : "png"}`;
  fig.append(r.kind === "video" ? el("video", { src: r.url, controls: true, loop: true, muted: true, class: "result" })
    : el("img", { src: r.url, alt: `${r.label}: ${inputName}`, class: "result" }));
  const details = [`${r.seconds.toFixed(2)} s on ${r.device.split(":")[0]}`];
  if (r.load_seconds > 0) details.push(`+ ${r.load_seconds.toFixed(2)} s loading`);
  if (r.precision) details.push(r.precision);
  if (r.iterations) details.push(`${r.iterations} iterations, ${r.style}`);
  if (r.frames) details.push(`${r.frames} frames at ${r.fps} fps`);
  if (r.notes && r.notes.length) details.push(...r.notes);
  const time = el("span", { class: "time", title: r.device, text: details.join(" · ") });
  fig.append(el("figcaption", {}, el("strong", { text: r.label }), time,
    el("a", { href: r.url, download: name, text: "download" })));
  return fig;
}

function update(job) {
  const p = job.progress;
  const text = {
    queued: `Waiting in the queue: position ${job.position}`,
    running: `Running ${p.label} (task ${p.task} of ${p.tasks}${p.steps > 1 ? `, ${p.step}/${p.steps}` : ""})`,
    done: `Done in ${job.seconds.toFixed(1)} s`,
    cancelled: "Cancelled",
    failed: "Failed",
  }[job.status];
  $("status").textContent = text;
  const bar = $("progress");
  bar.hidden = FINISHED.includes(job.status);
  bar.value = p.fraction;
  bar.setAttribute("aria-valuetext", text);
  if (job.status === "failed") say(job.error);
  for (const r of job.results.slice(state.shown)) {
    const inputName = job.inputs[r.input].name;
    if (r.column === null) {
      $(`row-${r.input}`).replaceChildren(card(r, inputName));
    } else {
      const cell = $(`cell-${r.input}-${r.column}`);
      if (cell) cell.replaceWith(card(r, inputName));
    }
  }
  state.shown = job.results.length;
  $("zip").hidden = !job.results.some((r) => r.url);
  if (FINISHED.includes(job.status)) {
    document.querySelectorAll(".card.pending .placeholder").forEach((d) => { d.textContent = job.status; });
    $("cancel").hidden = true;
    $("run").disabled = false;
    state.job = null;
  }
}

async function poll() {
  if (!state.job) return;
  try {
    const job = await api(`/api/jobs/${state.job.id}`);
    update(job);
  } catch (e) {
    say(e.message);
    $("run").disabled = false;
    state.job = null;
  }
  if (state.job) state.timer = setTimeout(poll, 300);
}

async function cancel() {
  if (!state.job) return;
  $("status").textContent = "Cancelling…";
  try { update(await api(`/api/jobs/${state.job.id}/cancel`, { method: "POST" })); } catch (e) { say(e.message); }
}

function wire() {
  const drop = $("drop");
  const input = $("files");
  drop.addEventListener("click", (e) => { if (e.target !== input) input.click(); });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    addFiles(e.dataTransfer.files);
  });
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", cancel);
}

wire();
loadInfo().catch((e) => say(`The demo server did not answer: ${e.message}`));
