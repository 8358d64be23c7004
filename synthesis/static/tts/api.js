// Talking to the server: the key, error bodies in plain words, small helpers shared by the page.
export const $ = (id) => document.getElementById(id);

export function apiKey() { return localStorage.getItem("tts-api-key") || ""; }

export function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (apiKey()) h["Authorization"] = "Bearer " + apiKey();
  return h;
}

// API field names as a person reads them.
const FIELD_WORDS = {
  reference_audio: "The recording", reference_audio_file: "The recording", audio: "The recording",
  audio_file: "The recording", voice: "The voice", name: "The name", text: "The text", input: "The text",
  speed: "Speed", pitch: "Pitch", seed: "Seed", reference_text: "What the recording says",
};

export function plainWords(message) {
  return String(message || "").replace(/^([a-z_]+)(:)?\s/, (whole, field, colon) =>
    FIELD_WORDS[field] ? `${FIELD_WORDS[field]}${colon ? ":" : ""} ` : whole);
}

// Errors come in each dialect's shape; name the field they concern.
export async function errorMessage(response) {
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  let message = `The server answered ${response.status}.`;
  let field = null;
  if (body && body.error) { message = body.error.message; field = body.error.param; }
  else if (body && Array.isArray(body.detail)) {
    const first = body.detail[0]; field = first.loc[first.loc.length - 1]; message = `${field}: ${first.msg}`;
  } else if (body && body.detail) { message = body.detail; }
  if (response.status === 401) { field = "key"; message = "The API key is missing or wrong."; }
  if (response.status === 413) { message = "The file is too large for this server."; }
  if (response.status === 429) { message = "Too many requests: wait a moment and try again."; }
  return { message: plainWords(message), field, status: response.status };
}

export function showError(id, message) { $(id).textContent = message || ""; }

export function escapeHtml(s) { return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`); }

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// A file name from the text and the voice: "hello-world-joe.wav", never "speech.wav".
export function fileName(text, voice, format) {
  const words = String(text).normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
  const who = String(voice || "").replace(/[^\w.-]+/g, "_");
  return `${[words || "speech", who].filter(Boolean).join("-")}.${format}`;
}

export function concat(a, b) { const out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; }

export function joinParts(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  parts.forEach((p) => { out.set(p, at); at += p.length; });
  return out;
}

// A 16-bit mono WAV file around raw PCM bytes.
export function wavFile(pcm, rate) {
  const out = new Uint8Array(44 + pcm.length);
  const view = new DataView(out.buffer);
  const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + pcm.length, true); text(8, "WAVE"); text(12, "fmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, pcm.length, true);
  out.set(pcm, 44);
  return out;
}

export function mimeFor(fmt) {
  return { wav: "audio/wav", mp3: "audio/mpeg", opus: "audio/ogg", aac: "audio/aac", flac: "audio/flac",
           pcm: "audio/pcm" }[fmt] || "application/octet-stream";
}
