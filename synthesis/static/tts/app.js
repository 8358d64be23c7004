"use strict";
// The web page: plain JavaScript, no build step, no CDN.
const $ = (id) => document.getElementById(id);
const state = { voices: [], voice: null, controller: null, audioCtx: null, sources: [], recorder: null,
  recording: null };
const SAMPLE_TEXT = { en: "Hello, this is my voice.", zh: "你好，这是我的声音。", ja: "こんにちは、これは私の声です。",
  es: "Hola, esta es mi voz.", fr: "Bonjour, voici ma voix.", it: "Ciao, questa è la mia voce.",
  pt: "Olá, esta é a minha voz.", hi: "नमस्ते, यह मेरी आवाज़ है।" };

function apiKey() { return localStorage.getItem("tts-api-key") || ""; }
function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (apiKey()) h["Authorization"] = "Bearer " + apiKey();
  return h;
}

// Errors come in each dialect's shape; say them in plain words next to the right control.
async function errorMessage(response) {
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  let message = `The server answered ${response.status}.`;
  let field = null;
  if (body && body.error) { message = body.error.message; field = body.error.param; }
  else if (body && Array.isArray(body.detail)) {
    const first = body.detail[0]; field = first.loc[first.loc.length - 1]; message = `${field}: ${first.msg}`;
  } else if (body && body.detail) { message = body.detail; }
  if (response.status === 401) { field = "key"; message = "The API key is missing or wrong."; }
  if (response.status === 429) { message = "Too many requests: wait a moment and try again."; }
  return { message, field, status: response.status };
}

function showError(id, message) { $(id).textContent = message || ""; }
function clearErrors() { ["key-error", "text-error", "voice-error", "synth-error"].forEach((id) => showError(id, "")); }
function routeError(err) {
  if (err.field === "key") { $("key-section").hidden = false; showError("key-error", err.message); $("api-key").focus(); }
  else if (err.field === "text" || err.field === "input") showError("text-error", err.message);
  else if (err.field === "name" || err.field === "voice" || err.status === 404) showError("voice-error", err.message);
  else showError("synth-error", err.message);
}

function updateCount() {
  const max = Number(document.body.dataset.maxText);
  $("char-count").textContent = `${$("text").value.length} / ${max} characters`;
}

async function loadVoices(select) {
  const response = await fetch(voicesUrl(), { headers: headers() });
  if (!response.ok) { routeError(await errorMessage(response)); return; }
  const body = await response.json();
  state.voices = body.data;
  fillFilter("filter-language", state.voices.filter((v) => v.language)
    .map((v) => ({ value: v.language, label: v.language_name || v.language })));
  fillFilter("filter-engine", state.voices.map((v) => ({ value: v.engine, label: v.engine })));
  if (select) { state.voice = select; state.picked = true; }
  else if (!state.picked && body.default_voice) state.voice = body.default_voice;
  if (!state.voice && state.voices.length) state.voice = state.voices[0].id;
  renderVoices();
}

// The voice the server would choose for the typed text's language, until the user picks one.
function voicesUrl() {
  const text = $("text").value.trim().slice(0, 300);
  return text ? `/v1/audio/voices?text=${encodeURIComponent(text)}` : "/v1/audio/voices";
}

let defaultTimer = null;
function followTextLanguage() {
  if (state.picked) return;
  clearTimeout(defaultTimer);
  defaultTimer = setTimeout(() => loadVoices(), 500);
}

function fillFilter(id, options) {
  const el = $(id); const current = el.value;
  const unique = new Map(options.map((o) => [o.value, o.label]));
  el.innerHTML = '<option value="">all</option>' + [...unique].sort((a, b) => a[1].localeCompare(b[1]))
    .map(([value, label]) => `<option value="${escapeHtml(value)}">${escapeHtml(label)}</option>`).join("");
  el.value = current;
}

function escapeHtml(s) { return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`); }

const GENDER = { female: "♀ female", male: "♂ male" };

// Voices grouped by language (the selected voice's group first), each with its gender.
function renderVoices() {
  const lang = $("filter-language").value, engine = $("filter-engine").value;
  const list = $("voices"); list.innerHTML = "";
  const shown = state.voices.filter((v) => (!lang || v.language === lang) && (!engine || v.engine === engine));
  const groups = new Map();
  shown.forEach((v) => {
    const key = v.language_name || "Other voices (cloned or blended)";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(v);
  });
  const selected = state.voices.find((v) => v.id === state.voice);
  const first = selected ? (selected.language_name || "Other voices (cloned or blended)") : null;
  const order = [...groups.keys()].sort((a, b) => (a === first ? -1 : b === first ? 1 : a.localeCompare(b)));
  order.forEach((key) => {
    const heading = document.createElement("li");
    heading.className = "group"; heading.setAttribute("role", "presentation"); heading.textContent = key;
    list.appendChild(heading);
    groups.get(key).forEach((v) => list.appendChild(voiceItem(v)));
  });
}

function voiceItem(v) {
  const li = document.createElement("li");
  const id = `voice-${v.id.replace(/[^\w-]/g, "_")}`;
  const meta = [GENDER[v.gender], v.engine].filter(Boolean).join(" · ");
  li.innerHTML = `<input type="radio" name="voice" id="${id}" value="${escapeHtml(v.id)}"${v.id === state.voice ? " checked" : ""}>
    <label for="${id}">${escapeHtml(v.name)} <span class="meta">${escapeHtml(meta)}</span></label>
    <button type="button" class="secondary" aria-label="Play a sample of ${escapeHtml(v.name)}">▶</button>`;
  li.querySelector("input").addEventListener("change", () => { state.voice = v.id; state.picked = true; });
  li.querySelector("button").addEventListener("click", () => playSample(v));
  return li;
}

async function playSample(voice) {
  showError("voice-error", "");
  const text = SAMPLE_TEXT[(voice.language || "").split("-")[0]] || SAMPLE_TEXT.en;
  const response = await fetch("/speak", { method: "POST", headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify({ name: voice.id, text, response_format: "mp3" }) });
  if (!response.ok) { routeError(await errorMessage(response)); return; }
  const audio = new Audio(URL.createObjectURL(await response.blob()));
  audio.play();
}

// --- streaming playback ----------------------------------------------------------------
// WAV (and PCM) stream into Web Audio chunk by chunk; mp3 streams through MediaSource;
// other formats play once complete. The finished file always lands in the audio element.
function wavInfo(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { rate: view.getUint32(24, true), dataStart: 44 };
}

function schedulePcm(int16Bytes, rate) {
  const ctx = state.audioCtx;
  const samples = new Int16Array(int16Bytes.buffer, int16Bytes.byteOffset, int16Bytes.byteLength / 2);
  const buffer = ctx.createBuffer(1, samples.length, rate);
  const channel = buffer.getChannelData(0);
  for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;
  const source = ctx.createBufferSource();
  source.buffer = buffer; source.connect(ctx.destination);
  const startAt = Math.max(ctx.currentTime + 0.05, state.playhead || 0);
  source.start(startAt); state.playhead = startAt + buffer.duration;
  state.sources.push(source);
}

async function playWavStream(reader, t0, parts) {
  state.audioCtx = state.audioCtx || new AudioContext();
  await state.audioCtx.resume();
  state.playhead = 0; let header = null; let carry = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    let bytes = concat(carry, value);
    if (!header) {
      if (bytes.length < 44) { carry = bytes; continue; }
      header = wavInfo(bytes); bytes = bytes.subarray(44);
    }
    const even = bytes.length - (bytes.length % 2);
    if (even > 0) {
      schedulePcm(bytes.slice(0, even), header.rate);
      markFirstAudio(t0);
    }
    carry = bytes.slice(even);
  }
}

async function playMp3Stream(reader, t0, parts) {
  const audio = $("player");
  const source = new MediaSource();
  audio.src = URL.createObjectURL(source);
  await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
  const buffer = source.addSourceBuffer("audio/mpeg");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    buffer.appendBuffer(value);
    await new Promise((resolve) => buffer.addEventListener("updateend", resolve, { once: true }));
    if (audio.paused) { audio.play().catch(() => {}); markFirstAudio(t0); }
  }
  if (source.readyState === "open") source.endOfStream();
}

async function readAll(reader, parts) {
  for (;;) { const { value, done } = await reader.read(); if (done) return; parts.push(value); }
}

function concat(a, b) { const out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; }

function markFirstAudio(t0) {
  if (state.firstAudioMs != null) return;
  state.firstAudioMs = Math.round(performance.now() - t0);
  $("status").dataset.firstAudioMs = state.firstAudioMs;
  $("status").textContent = `Playing — first audio after ${state.firstAudioMs} ms`;
}

function stopPlayback() {
  state.sources.forEach((s) => { try { s.stop(); } catch (e) { /* already stopped */ } });
  state.sources = [];
}

async function synthesize() {
  clearErrors();
  const text = $("text").value;
  if (!text.trim()) { showError("text-error", "Type some text to speak."); $("text").focus(); return; }
  const format = $("format").value;
  const wire = format === "pcm" ? "wav" : format;  // PCM plays from a WAV stream; the download is raw PCM
  const multi = $("multi").checked;
  const body = { text, pitch: $("pitch").value, speed: $("speed").value, response_format: wire, stream: true };
  if (!multi) body.name = state.voice;
  stopPlayback();
  state.controller = new AbortController(); state.firstAudioMs = null;
  const status = $("status");
  delete status.dataset.firstAudioMs; delete status.dataset.completeMs; delete status.dataset.stopped;
  status.textContent = "Synthesizing…";
  $("synthesize").disabled = true; $("stop").disabled = false; $("download").hidden = true;
  const t0 = performance.now(); const parts = [];
  try {
    const response = await fetch(multi ? "/multi_speak" : "/speak", { method: "POST", signal: state.controller.signal,
      headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body) });
    if (!response.ok) { routeError(await errorMessage(response)); status.textContent = ""; return; }
    const reader = response.body.getReader();
    if (wire === "wav") await playWavStream(reader, t0, parts);
    else if (wire === "mp3" && window.MediaSource && MediaSource.isTypeSupported("audio/mpeg")) await playMp3Stream(reader, t0, parts);
    else await readAll(reader, parts);
    const completeMs = Math.round(performance.now() - t0);
    status.dataset.completeMs = completeMs;
    status.textContent = state.firstAudioMs != null
      ? `Done in ${completeMs} ms — first audio after ${state.firstAudioMs} ms` : `Done in ${completeMs} ms`;
    finish(parts, format, wire, text);
  } catch (e) {
    if (e.name === "AbortError") { status.textContent = "Stopped."; status.dataset.stopped = "true"; }
    else showError("synth-error", `The request failed: ${e.message}`);
  } finally {
    $("synthesize").disabled = false; $("stop").disabled = true; state.controller = null;
  }
}

function finish(parts, format, wire, text) {
  let bytes = parts.reduce((acc, p) => concat(acc, p), new Uint8Array(0));
  if (wire === "wav") fixWavSizes(bytes);
  const playable = new Blob([bytes], { type: mimeFor(wire) });
  const player = $("player");
  if (wire !== "mp3" || !player.src.startsWith("blob:") || player.duration === Infinity || isNaN(player.duration)) {
    player.src = URL.createObjectURL(playable);
  }
  if (wire !== "wav" && wire !== "mp3") player.play().catch(() => {});
  const download = format === "pcm" ? new Blob([bytes.subarray(44)], { type: "audio/pcm" }) : playable;
  const link = $("download");
  link.href = URL.createObjectURL(download); link.download = `speech.${format}`;
  link.textContent = `Download ${format}`; link.hidden = false;
  saveRecent({ text, voice: $("multi").checked ? "several" : state.voice, format, blob: download, at: Date.now() });
}

function fixWavSizes(bytes) {  // a streamed WAV header has open sizes; the saved file gets exact ones
  if (bytes.length < 44) return;
  const view = new DataView(bytes.buffer);
  view.setUint32(4, bytes.length - 8, true); view.setUint32(40, bytes.length - 44, true);
}

function mimeFor(fmt) {
  return { wav: "audio/wav", mp3: "audio/mpeg", opus: "audio/ogg", aac: "audio/aac", flac: "audio/flac" }[fmt] || "application/octet-stream";
}

function stop() {
  if (state.controller) state.controller.abort();  // the server cancels the work when the client leaves
  stopPlayback(); $("player").pause();
}

// --- recent results (IndexedDB, this browser only) ---------------------------------------
function db() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("tts-recent", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("results", { keyPath: "at" });
    request.onsuccess = () => resolve(request.result); request.onerror = () => reject(request.error);
  });
}

async function saveRecent(item) {
  const store = (await db()).transaction("results", "readwrite").objectStore("results");
  store.put(item);
  store.getAllKeys().onsuccess = (e) => { const keys = e.target.result; keys.slice(0, Math.max(0, keys.length - 10)).forEach((k) => store.delete(k)); };
  setTimeout(renderRecent, 50);
}

async function renderRecent() {
  const request = (await db()).transaction("results").objectStore("results").getAll();
  request.onsuccess = () => {
    const list = $("recent"); list.innerHTML = "";
    request.result.reverse().forEach((item) => {
      const li = document.createElement("li"); const url = URL.createObjectURL(item.blob);
      li.innerHTML = `<div>${escapeHtml(item.text.slice(0, 120))}</div>
        <div class="meta">${escapeHtml(item.voice)} · ${escapeHtml(item.format)} · ${new Date(item.at).toLocaleString()}</div>
        <audio controls preload="none" src="${url}"></audio> <a href="${url}" download="speech.${escapeHtml(item.format)}">Download</a>`;
      list.appendChild(li);
    });
  };
}

// --- cloning -----------------------------------------------------------------------------
function referenceBlob() {
  const file = $("clone-file").files[0];
  return file ? { blob: file, name: file.name } : state.recording ? { blob: state.recording, name: "recording.webm" } : null;
}

async function toggleRecord() {
  if (state.recorder) { state.recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = []; state.recorder = new MediaRecorder(stream);
    state.recorder.ondataavailable = (e) => chunks.push(e.data);
    state.recorder.onstop = () => {
      state.recording = new Blob(chunks, { type: state.recorder.mimeType });
      stream.getTracks().forEach((t) => t.stop()); state.recorder = null;
      $("record").textContent = "Record from microphone"; $("record-status").textContent = "Recording ready.";
    };
    state.recorder.start(); $("record").textContent = "Stop recording"; $("record-status").textContent = "Recording…";
  } catch (e) { showError("clone-error", `The microphone is not available: ${e.message}`); }
}

async function clonePreview() {
  showError("clone-error", "");
  const ref = referenceBlob();
  if (!ref) { showError("clone-error", "Choose a recording or record one first."); return; }
  const form = new FormData();
  form.append("reference_audio_file", ref.blob, ref.name);
  form.append("reference_text", $("clone-text").value);
  form.append("text", $("text").value.trim() || "This is how the cloned voice sounds.");
  form.append("response_format", "wav");
  $("clone-status").textContent = "Synthesizing a preview…";
  const response = await fetch("/clone_voice", { method: "POST", headers: headers(), body: form });
  $("clone-status").textContent = "";
  if (!response.ok) { const err = await errorMessage(response); showError("clone-error", err.message); return; }
  const player = $("clone-player"); player.hidden = false;
  player.src = URL.createObjectURL(await response.blob()); player.play().catch(() => {});
}

async function cloneSave() {
  showError("clone-error", "");
  const ref = referenceBlob(); const name = $("clone-name").value.trim();
  if (!ref) { showError("clone-error", "Choose a recording or record one first."); return; }
  if (!name) { showError("clone-error", "Give the voice a name."); $("clone-name").focus(); return; }
  const form = new FormData();
  form.append("name", name); form.append("audio_file", ref.blob, ref.name);
  form.append("reference_text", $("clone-text").value);
  $("clone-status").textContent = "Saving…";
  const response = await fetch("/add_speaker", { method: "POST", headers: headers(), body: form });
  if (!response.ok) { $("clone-status").textContent = ""; showError("clone-error", (await errorMessage(response)).message); return; }
  $("clone-status").textContent = `Saved “${name}”.`;
  $("filter-language").value = ""; $("filter-engine").value = "";
  await loadVoices(name);
}

// --- wiring ------------------------------------------------------------------------------
$("api-key").value = apiKey();
$("api-key").addEventListener("change", () => { localStorage.setItem("tts-api-key", $("api-key").value.trim()); showError("key-error", ""); loadVoices(); });
$("text").addEventListener("input", () => { updateCount(); followTextLanguage(); });
$("multi").addEventListener("change", () => { $("multi-help").hidden = !$("multi").checked; });
$("filter-language").addEventListener("change", renderVoices);
$("filter-engine").addEventListener("change", renderVoices);
$("synthesize").addEventListener("click", synthesize);
$("stop").addEventListener("click", stop);
$("record").addEventListener("click", toggleRecord);
$("clone-preview").addEventListener("click", clonePreview);
$("clone-save").addEventListener("click", cloneSave);
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) synthesize(); });
updateCount(); loadVoices(); renderRecent();
