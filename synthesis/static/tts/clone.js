// The clone panel: a file or a recording (with a level meter), trimmed if asked, previewed with its own
// test sentence, and saved as a catalog voice with the speaker's consent.
import { $, errorMessage, headers, showError, wavFile } from "./api.js";

const state = { recorder: null, recording: null, decoded: null, busy: false, meter: null };

function source() {
  const file = $("clone-file").files[0];
  return file ? { blob: file, name: file.name } : state.recording ? { blob: state.recording, name: "recording.webm" } : null;
}

// Decode the chosen reference once, to show its length and allow trimming.
async function analyse() {
  state.decoded = null; $("trim").hidden = true; $("clone-info").textContent = "";
  const ref = source();
  if (!ref) return;
  try {
    const ctx = new OfflineAudioContext(1, 1, 48000);
    state.decoded = await ctx.decodeAudioData(await ref.blob.arrayBuffer());
    const seconds = state.decoded.duration;
    $("clone-info").textContent = `${seconds.toFixed(1)} s of audio${seconds > 30 ? " — only 30 s are used; trim it" : ""}`;
    $("trim-start").value = "0"; $("trim-end").value = seconds.toFixed(1);
    $("trim-start").max = $("trim-end").max = seconds.toFixed(1);
    $("trim").hidden = false;
  } catch (e) {
    $("clone-info").textContent = "This browser cannot read the file; it is sent as it is.";
  }
}

// The reference as sent: the trimmed span as WAV when trimming is asked, else the original.
function reference() {
  const ref = source();
  if (!ref || !state.decoded) return ref;
  const total = state.decoded.duration;
  const start = Math.max(0, Number($("trim-start").value) || 0);
  const end = Math.min(total, Number($("trim-end").value) || total);
  if (start <= 0.01 && end >= total - 0.01) return ref;
  if (end - start < 0.5) throw new Error("Keep at least half a second of the recording.");
  const rate = state.decoded.sampleRate;
  const from = Math.floor(start * rate), to = Math.floor(end * rate);
  const pcm = new Int16Array(to - from);
  const channels = [...Array(state.decoded.numberOfChannels).keys()].map((c) => state.decoded.getChannelData(c));
  for (let i = 0; i < pcm.length; i++) {
    let sum = 0; channels.forEach((ch) => { sum += ch[from + i]; });
    pcm[i] = Math.max(-1, Math.min(1, sum / channels.length)) * 32767;
  }
  return { blob: new Blob([wavFile(new Uint8Array(pcm.buffer), rate)], { type: "audio/wav" }), name: "recording-trimmed.wav" };
}

async function toggleRecord() {
  if (state.recorder) { state.recorder.stop(); return; }
  showError("clone-error", "");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = []; state.recorder = new MediaRecorder(stream);
    watchLevel(stream);
    const started = performance.now();
    const tick = setInterval(() => { $("record-status").textContent = `Recording… ${Math.round((performance.now() - started) / 1000)} s`; }, 250);
    state.recorder.ondataavailable = (e) => chunks.push(e.data);
    state.recorder.onstop = async () => {
      clearInterval(tick); stopLevel();
      state.recording = new Blob(chunks, { type: state.recorder.mimeType });
      stream.getTracks().forEach((t) => t.stop()); state.recorder = null;
      $("clone-file").value = "";
      $("record").textContent = "Record from microphone"; $("record-status").textContent = "Recording ready.";
      await analyse();
    };
    state.recorder.start(); $("record").textContent = "Stop recording"; $("record-status").textContent = "Recording…";
  } catch (e) { showError("clone-error", `The microphone is not available: ${e.message}`); }
}

function watchLevel(stream) {
  const ctx = new AudioContext(); const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024; ctx.createMediaStreamSource(stream).connect(analyser);
  const data = new Float32Array(analyser.fftSize); const meter = $("record-level");
  meter.hidden = false;
  const frame = () => {
    analyser.getFloatTimeDomainData(data);
    let sum = 0; data.forEach((x) => { sum += x * x; });
    const level = Math.min(1, Math.sqrt(sum / data.length) * 4);
    meter.value = level;
    meter.dataset.peak = Math.max(Number(meter.dataset.peak || 0), level).toFixed(3);
    state.meter.raf = requestAnimationFrame(frame);
  };
  state.meter = { ctx, raf: requestAnimationFrame(frame) };
}

function stopLevel() {
  if (!state.meter) return;
  cancelAnimationFrame(state.meter.raf); state.meter.ctx.close(); state.meter = null;
}

// Buttons off and a running count while the server works (analysis can take a while).
async function busy(message, work) {
  if (state.busy) return;
  state.busy = true; showError("clone-error", "");
  ["clone-preview", "clone-save"].forEach((id) => { $(id).disabled = true; });
  $("clone-panel").setAttribute("aria-busy", "true");
  const started = performance.now();
  const say = () => { $("clone-status").textContent = `${message}… ${Math.round((performance.now() - started) / 1000)} s`; };
  say(); const tick = setInterval(say, 500);
  try { await work(); }
  catch (e) { $("clone-status").textContent = ""; showError("clone-error", e.message); }
  finally {
    clearInterval(tick); state.busy = false; $("clone-panel").removeAttribute("aria-busy");
    ["clone-preview", "clone-save"].forEach((id) => { $(id).disabled = false; });
  }
}

function requireReference() {
  const ref = reference();
  if (!ref) throw new Error("Choose a recording or record one first.");
  return ref;
}

async function failure(response) { return new Error((await errorMessage(response)).message); }

function preview() {
  return busy("Analysing the recording and speaking the test sentence", async () => {
    const ref = requireReference();
    const sentence = $("clone-test-text").value.trim();
    if (!sentence) { $("clone-test-text").focus(); throw new Error("Type a test sentence for the preview."); }
    const form = new FormData();
    form.append("reference_audio_file", ref.blob, ref.name);
    form.append("reference_text", $("clone-text").value);
    form.append("text", sentence);
    form.append("response_format", "wav");
    const response = await fetch("/clone_voice", { method: "POST", headers: headers(), body: form });
    if (!response.ok) throw await failure(response);
    const player = $("clone-player"); player.hidden = false;
    player.src = URL.createObjectURL(await response.blob()); player.play().catch(() => {});
    $("clone-status").textContent = "Preview ready.";
  });
}

export function consentStatement() {
  const who = $("clone-consent-name").value.trim() || "the speaker";
  return `I, ${who}, agree that the recording I provided may be used to make a synthetic voice of me on this server, `
    + "and that it may speak text I did not say.";
}

function save(onSaved) {
  return busy("Analysing, testing and saving the voice", async () => {
    const ref = requireReference(); const name = $("clone-name").value.trim();
    if (!name) { $("clone-name").focus(); throw new Error("Give the voice a name."); }
    if (!$("clone-consent").checked) { $("clone-consent").focus(); throw new Error("Confirm the speaker's consent before saving their voice."); }
    const form = new FormData();
    form.append("name", name); form.append("audio_file", ref.blob, ref.name);
    form.append("reference_text", $("clone-text").value);
    form.append("consent", consentStatement());
    const response = await fetch("/add_speaker", { method: "POST", headers: headers(), body: form });
    if (!response.ok) throw await failure(response);
    $("clone-status").textContent = `Saved “${name}”.`;
    await onSaved(name);
  });
}

export function wireClone(onSaved) {
  $("record").addEventListener("click", toggleRecord);
  $("clone-file").addEventListener("change", () => { state.recording = null; $("record-status").textContent = ""; analyse(); });
  $("clone-preview").addEventListener("click", preview);
  $("clone-save").addEventListener("click", () => save(onSaved));
  const statement = () => { $("clone-consent-text").textContent = consentStatement(); };
  $("clone-consent-name").addEventListener("input", statement); statement();
}
