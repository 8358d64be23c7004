"use strict";
// The web page: plain JavaScript modules, no build step, no CDN.
import { $, apiKey, clock, errorMessage, fileName, headers, joinParts, mimeFor, showError, wavFile } from "./api.js";
import { wireClone } from "./clone.js";
import { saveResult, wireHistory } from "./history.js";
import { LongTextTask, taskFormat, wireTextFiles } from "./longtext.js";
import { StreamFailed, StreamPlayer, rawAudio, renderProgress, sseAudio } from "./player.js";
import { renderSnippets, wireSnippets } from "./snippets.js";
import { VoicePicker } from "./voices.js";

const PCM_RATE = 24000;  // what the page asks /v1/audio/speech for when it streams PCM into Web Audio
const LEVEL_SPEEDS = [["very_low", 0.7], ["low", 0.85], ["moderate", 1.0], ["high", 1.2], ["very_high", 1.4]];
const state = { controller: null, task: null, firstAudioMs: null, phase: "", ticker: null };
const maxText = () => Number(document.body.dataset.maxText);
const player = new StreamPlayer($("player"), () => updateControls());
const voices = new VoicePicker(() => saveSettings(), (err) => routeError(err));

// --- settings, remembered in this browser --------------------------------------------------
function settings() {
  const seed = $("seed").value.trim();
  return { voice: voices.voice, speed: Number($("speed").value), pitch: $("pitch").value, format: $("format").value,
           volume: Number($("volume").value), seed: seed === "" ? null : Math.max(0, Math.floor(Number(seed))),
           text: $("text").value, keyRequired: document.body.dataset.keyRequired === "true" };
}

function saveSettings() {
  const s = settings();
  localStorage.setItem("tts-settings", JSON.stringify({ voice: voices.picked ? s.voice : null, speed: s.speed,
    pitch: s.pitch, format: s.format, volume: s.volume, seed: s.seed }));
  showValues();
}

function restoreSettings() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem("tts-settings") || "{}") || {}; } catch (e) { saved = {}; }
  if (saved.speed) $("speed").value = saved.speed;
  if (saved.pitch) $("pitch").value = saved.pitch;
  if (saved.format && [...$("format").options].some((o) => o.value === saved.format)) $("format").value = saved.format;
  if (saved.volume != null) $("volume").value = saved.volume;
  if (saved.seed != null) $("seed").value = saved.seed;
  return saved.voice || null;
}

function showValues() {
  const s = settings();
  $("speed-value").textContent = `${s.speed.toFixed(2)}×`;
  $("volume-value").textContent = `${Math.round(s.volume * 100)} %`;
  player.setVolume(s.volume);
  renderSnippets(s);
}

// --- errors next to the control that caused them -----------------------------------------
function clearErrors() { ["key-error", "text-error", "voice-error", "synth-error"].forEach((id) => showError(id, "")); }

function routeError(err) {
  if (err.field === "key") { $("key-section").hidden = false; showError("key-error", err.message); $("api-key").focus(); }
  else if (err.field === "text" || err.field === "input") showError("text-error", err.message);
  else if (err.field === "name" || err.field === "voice" || err.status === 404) showError("voice-error", err.message);
  else showError("synth-error", err.message);
}

function updateCount() {
  const length = $("text").value.length, over = length > maxText();
  $("char-count").textContent = `${length} / ${maxText()} characters`;
  $("char-count").classList.toggle("over", over);
  $("long-note").hidden = !over;
}

// --- status, progress and buttons ----------------------------------------------------------
function setStatus(text, phase) {
  const status = $("status");
  state.phase = phase; status.textContent = text; status.dataset.phase = phase;
}

function updateControls() {
  const busy = Boolean(state.controller || state.task);
  $("synthesize").disabled = busy;
  $("stop").disabled = !(busy || player.playing());
  $("status").dataset.playback = player.playing() ? player.mode : "";
  if (player.playing() || busy) startTicker();
}

function startTicker() {
  if (state.ticker) return;
  state.ticker = setInterval(() => {
    renderProgress(player);
    const buffering = Boolean(state.controller) && player.buffering();
    $("status").dataset.buffering = buffering ? "true" : "false";
    if (state.phase === "playing" || state.phase === "buffering") {
      if (buffering) setStatus("Buffering — waiting for the next part of the audio…", "buffering");
      else setStatus(`Playing — first audio after ${state.firstAudioMs} ms`, "playing");
    }
    if (!player.playing() && !state.controller && !state.task) { clearInterval(state.ticker); state.ticker = null; updateControls(); }
  }, 200);
}

function markFirstAudio(t0) {
  if (state.firstAudioMs != null) return;
  state.firstAudioMs = Math.round(performance.now() - t0);
  $("status").dataset.firstAudioMs = state.firstAudioMs;
  setStatus(`Playing — first audio after ${state.firstAudioMs} ms`, "playing");
}

// --- speaking ------------------------------------------------------------------------------
class Unreachable extends Error {}

function nearestLevel(speed) {
  return LEVEL_SPEEDS.reduce((best, level) => (Math.abs(level[1] - speed) < Math.abs(best[1] - speed) ? level : best))[0];
}

function speechRequest(s, multi) {
  if (multi) {
    return { url: "/multi_speak", wire: s.format === "pcm" || s.format === "wav" ? "wav" : s.format, sse: false,
             body: { text: s.text, pitch: s.pitch, speed: nearestLevel(s.speed), stream: true,
                     response_format: s.format === "pcm" ? "wav" : s.format, ...(s.seed !== null ? { seed: s.seed } : {}) } };
  }
  const wire = s.format === "pcm" || s.format === "wav" ? "pcm" : s.format;
  const body = { model: "tts-1", input: s.text, voice: s.voice, speed: s.speed, pitch: s.pitch, response_format: wire,
                 stream_format: "sse" };
  if (wire === "pcm") body.sample_rate = PCM_RATE;
  if (s.seed !== null) body.seed = s.seed;
  return { url: "/v1/audio/speech", wire, sse: true, body };
}

async function synthesize() {
  clearErrors();
  const s = settings();
  if (!s.text.trim()) { showError("text-error", "Type some text to speak."); $("text").focus(); return; }
  const multi = $("multi").checked;
  if (!multi && !s.voice) { showError("voice-error", "Pick a voice first."); return; }
  if (s.text.length > maxText()) {
    if (multi) { showError("text-error", `Several speakers work up to ${maxText()} characters at once.`); return; }
    return runTask(s);
  }
  const request = speechRequest(s, multi);
  voices.stopPreview(); player.stop();
  state.controller = new AbortController(); state.firstAudioMs = null;
  const status = $("status");
  ["firstAudioMs", "completeMs", "stopped", "failed"].forEach((k) => delete status.dataset[k]);
  setStatus("Synthesizing…", "synthesizing"); $("download").hidden = true;
  updateControls();
  const t0 = performance.now(); const audio = { pcm: [], raw: [], rate: PCM_RATE, header: null, carry: new Uint8Array(0) };
  try {
    let response;
    try {
      response = await fetch(request.url, { method: "POST", signal: state.controller.signal,
        headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(request.body) });
    } catch (e) { if (e.name === "AbortError") throw e; throw new Unreachable(e.message); }
    if (!response.ok) { routeError(await errorMessage(response)); setStatus("", ""); return; }
    const chunks = request.sse ? sseAudio(response.body.getReader()) : rawAudio(response.body.getReader());
    await play(chunks, request, audio, t0);
    player.streaming = false; status.dataset.buffering = "false";
    const completeMs = Math.round(performance.now() - t0);
    setStatus(state.firstAudioMs != null ? `Done in ${completeMs} ms — first audio after ${state.firstAudioMs} ms`
      : `Done in ${completeMs} ms`, "done");
    await finish(audio, request.wire, s, multi);
    status.dataset.completeMs = completeMs;  // last: the result is in the player, the link and the history
  } catch (e) {
    if (e.name === "AbortError") { setStatus("Stopped.", "stopped"); status.dataset.stopped = "true"; }
    else {
      const heard = player.received ? ` after ${clock(player.received)} of audio` : "";
      if (e instanceof Unreachable) showError("synth-error", `The server could not be reached (${e.message}). Check that it is running and try again.`);
      else if (e instanceof StreamFailed) showError("synth-error", `Synthesis failed${heard}: ${e.message}.${heard ? " The part that arrived is kept." : ""}`);
      else showError("synth-error", `The connection broke off${heard} (${e.message}).${heard ? " The part that arrived is kept." : ""}`);
      setStatus("Failed — see the message below.", "failed");
      if (audio.pcm.length || audio.raw.length) await finish(audio, request.wire, s, multi, true).catch(() => {});
      status.dataset.failed = "true";
    }
  } finally {
    state.controller = null; player.streaming = false; status.dataset.buffering = "false"; updateControls();
  }
}

async function play(chunks, request, audio, t0) {
  if (request.wire === "pcm" || request.wire === "wav") {
    await player.begin();
    for await (let bytes of chunks) {
      if (request.wire === "wav") {  // a streamed WAV (several speakers): its header, then PCM
        bytes = joinParts([audio.carry, bytes]); audio.carry = new Uint8Array(0);
        if (!audio.header) {
          if (bytes.length < 44) { audio.carry = bytes; continue; }
          audio.header = bytes.slice(0, 44); audio.rate = new DataView(audio.header.buffer).getUint32(24, true);
          bytes = bytes.subarray(44);
        }
      }
      const whole = joinParts([audio.odd || new Uint8Array(0), bytes]);
      const even = whole.length - (whole.length % 2);
      audio.odd = whole.slice(even);
      if (even) { const pcm = whole.slice(0, even); audio.pcm.push(pcm); player.pushPcm(pcm, audio.rate); markFirstAudio(t0); }
    }
  } else if (request.wire === "mp3" && window.MediaSource && MediaSource.isTypeSupported("audio/mpeg")) {
    const source = new MediaSource(); const element = $("player");
    element.src = URL.createObjectURL(source);
    await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
    const buffer = source.addSourceBuffer("audio/mpeg");
    audio.mse = source; player.mode = "element";
    for await (const bytes of chunks) {
      audio.raw.push(bytes); buffer.appendBuffer(bytes);
      await new Promise((resolve) => buffer.addEventListener("updateend", resolve, { once: true }));
      if (element.paused && state.firstAudioMs == null) { element.play().catch(() => {}); markFirstAudio(t0); }
    }
    if (source.readyState === "open") source.endOfStream();
  } else {
    for await (const bytes of chunks) audio.raw.push(bytes);
  }
}

// The whole result: in the player, as a named download, and in the history.
async function finish(audio, wire, s, multi, partial = false) {
  const format = s.format; const voice = multi ? "several" : s.voice;
  let file;
  if (wire === "pcm" || wire === "wav") {
    const pcm = joinParts(audio.pcm);
    const wav = wavFile(pcm, audio.rate);
    file = format === "pcm" ? new Blob([pcm], { type: "audio/pcm" }) : new Blob([wav], { type: "audio/wav" });
    await player.finish(URL.createObjectURL(new Blob([wav], { type: "audio/wav" })));
  } else {
    file = new Blob([joinParts(audio.raw)], { type: mimeFor(format) });
    const element = $("player");
    if (!audio.mse) player.playWhole(URL.createObjectURL(file));
    else if (!isFinite(element.duration) && element.paused) element.src = URL.createObjectURL(file);
  }
  const name = fileName(s.text, voice, format).replace(/(\.\w+)$/, partial ? "-partial$1" : "$1");
  const link = $("download");
  link.href = URL.createObjectURL(file); link.download = name;
  link.textContent = `Download ${name}`; link.hidden = false;
  await saveResult({ text: s.text, voice, format, blob: file, name, at: Date.now() });
}

async function runTask(s) {
  voices.stopPreview(); player.stop();
  const status = $("status");
  ["firstAudioMs", "completeMs", "stopped", "failed"].forEach((k) => delete status.dataset[k]);
  state.task = new LongTextTask(); updateControls();
  setStatus(`Long text (${s.text.length} characters): made as a background task…`, "task");
  $("download").hidden = true;
  const format = taskFormat(s.format);
  try {
    const blob = await state.task.run(s, (task) => {
      const p = task.progress || {};
      $("progress-bar").max = Math.max(1, p.segments_total || 1); $("progress-bar").value = p.segments_done || 0;
      $("progress-text").textContent = p.segments_total
        ? `${p.segments_done} of ${p.segments_total} parts, ${clock(p.audio_seconds)} of audio so far` : "Waiting for a worker…";
      status.dataset.taskStatus = task.status;
    });
    const name = fileName(s.text, s.voice, format);
    player.playWhole(URL.createObjectURL(blob));
    const link = $("download");
    link.href = URL.createObjectURL(blob); link.download = name; link.textContent = `Download ${name}`; link.hidden = false;
    await saveResult({ text: s.text, voice: s.voice, format, blob, name, at: Date.now() });
    setStatus("Done — the background task finished.", "done");
    status.dataset.completeMs = "0";
  } catch (e) {
    if (e.name === "AbortError") { setStatus("Stopped.", "stopped"); status.dataset.stopped = "true"; }
    else { (e.field ? routeError(e) : showError("synth-error", e.message)); setStatus("Failed — see the message below.", "failed"); status.dataset.failed = "true"; }
  } finally { state.task = null; updateControls(); }
}

function stop() {
  if (state.controller) state.controller.abort();  // the server cancels the work when the client leaves
  if (state.task) state.task.stop();
  player.stop(); voices.stopPreview(); updateControls();
}

// --- wiring --------------------------------------------------------------------------------
let defaultTimer = null;
function followTextLanguage() {  // the voice the server would choose for the text, until the user picks one
  if (voices.picked) return;
  clearTimeout(defaultTimer);
  defaultTimer = setTimeout(() => voices.load($("text").value), 500);
}

$("api-key").value = apiKey();
$("api-key").addEventListener("change", () => { localStorage.setItem("tts-api-key", $("api-key").value.trim()); showError("key-error", ""); voices.load($("text").value); });
$("text").addEventListener("input", () => { updateCount(); followTextLanguage(); renderSnippets(settings()); });
$("multi").addEventListener("change", () => { $("multi-help").hidden = !$("multi").checked; });
["speed", "pitch", "format", "volume", "seed"].forEach((id) => $(id).addEventListener("input", saveSettings));
$("synthesize").addEventListener("click", synthesize);
$("stop").addEventListener("click", stop);
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) synthesize(); });
wireTextFiles((text, error) => {
  showError("text-error", error);
  if (text !== null) { $("text").value = text; updateCount(); followTextLanguage(); renderSnippets(settings()); }
});
wireClone(async (name) => {
  $("filter-language").value = ""; $("filter-gender").value = ""; $("filter-engine").value = ""; $("voice-search").value = "";
  await voices.load($("text").value, name); saveSettings();
});
wireSnippets(); wireHistory();
const savedVoice = restoreSettings();
updateCount(); showValues();
voices.load($("text").value, savedVoice).then(() => renderSnippets(settings()));
