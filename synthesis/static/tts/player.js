// Playback while synthesis runs: PCM chunks scheduled into Web Audio as they arrive, then, once the
// whole file exists, handed over to the <audio> element at the same position, so there is always
// exactly one copy playing, the element shows where it is, and Stop stops it.
import { $, clock } from "./api.js";

export class StreamPlayer {
  constructor(element, onChange) {
    this.element = element; this.onChange = onChange || (() => {});
    this.ctx = null; this.gain = null; this.sources = []; this.volume = 1;
    this.reset();
    ["play", "playing", "pause", "ended", "emptied"].forEach((e) => element.addEventListener(e, () => this.changed()));
    element.addEventListener("play", () => this.stopWebAudio());  // never two copies at once
  }

  reset() {
    this.startAt = null; this.playhead = 0; this.received = 0; this.streaming = false; this.mode = "";
  }

  async begin() {
    this.stop();
    this.reset();
    this.ctx = this.ctx || new AudioContext();
    if (!this.gain) { this.gain = this.ctx.createGain(); this.gain.connect(this.ctx.destination); }
    this.gain.gain.value = this.volume;
    await this.ctx.resume();
    this.streaming = true;
    this.changed();
  }

  setVolume(value) {
    this.volume = value; this.element.volume = Math.min(1, value);
    if (this.gain) this.gain.gain.value = value;
  }

  // 16-bit little-endian mono PCM at `rate`.
  pushPcm(bytes, rate) {
    const samples = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    if (!samples.length) return;
    const buffer = this.ctx.createBuffer(1, samples.length, rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;
    const source = this.ctx.createBufferSource();
    source.buffer = buffer; source.connect(this.gain);
    const at = Math.max(this.ctx.currentTime + 0.05, this.playhead);
    if (this.startAt === null) this.startAt = at;
    source.start(at);
    source.onended = () => { this.sources = this.sources.filter((s) => s !== source); this.changed(); };
    this.playhead = at + buffer.duration; this.received += buffer.duration;
    this.sources.push(source);
    this.mode = "webaudio";
    this.changed();
  }

  // Seconds heard so far of what arrived.
  elapsed() {
    if (this.mode === "element") return this.element.currentTime;
    if (this.startAt === null || !this.ctx) return 0;
    return Math.min(Math.max(0, this.ctx.currentTime - this.startAt), this.received);
  }

  webAudioPlaying() { return this.sources.length > 0; }

  // Playback caught up with what arrived while the server is still synthesizing.
  buffering() {
    return this.streaming && this.startAt !== null && this.ctx.currentTime >= this.playhead - 0.02;
  }

  playing() { return this.webAudioPlaying() || !this.element.paused; }

  // The request ended: the whole file takes over from Web Audio where it is.
  async finish(url) {
    this.streaming = false;
    const element = this.element;
    const wasPlaying = this.webAudioPlaying();
    const position = this.elapsed();
    element.src = url;
    if (!wasPlaying) { this.mode = "element"; this.changed(); return; }
    await new Promise((resolve) => {  // an element that cannot read the file leaves Web Audio playing
      element.addEventListener("loadedmetadata", resolve, { once: true });
      element.addEventListener("error", resolve, { once: true });
    });
    if (element.error) return;
    const now = this.elapsed();
    if (!this.webAudioPlaying() || now >= element.duration - 0.05) { this.mode = "element"; this.changed(); return; }
    element.currentTime = Math.max(position, now);
    this.mode = "element";
    await element.play().catch(() => {});
    this.changed();
  }

  // The file plays in the element only (formats Web Audio does not stream).
  playWhole(url) {
    this.streaming = false; this.mode = "element";
    this.element.src = url; this.element.play().catch(() => {});
  }

  stopWebAudio() {
    this.sources.forEach((s) => { s.onended = null; try { s.stop(); } catch (e) { /* not started */ } });
    this.sources = [];
  }

  stop() {
    this.stopWebAudio(); this.streaming = false;
    if (!this.element.paused) this.element.pause();
    this.changed();
  }

  changed() { this.onChange(this); }

  // "0:03 / 0:07" with a bar: heard of received.
  describe() {
    const element = this.element;
    let total = this.received;
    if (this.mode === "element") {
      total = isFinite(element.duration) ? element.duration
        : element.buffered.length ? element.buffered.end(element.buffered.length - 1) : 0;  // mp3 still streaming
    }
    return { elapsed: this.elapsed(), total, text: `${clock(this.elapsed())} / ${clock(total)}` };
  }
}

// Base64 audio from an OpenAI speech SSE stream; throws StreamFailed on its error event.
export class StreamFailed extends Error {}

export async function* sseAudio(reader) {
  const decoder = new TextDecoder(); let text = ""; let done = false;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    text += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, cut); text = text.slice(cut + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("");
      if (!data) continue;
      const event = JSON.parse(data);
      if (event.type === "speech.audio.delta") yield Uint8Array.from(atob(event.audio), (c) => c.charCodeAt(0));
      else if (event.type === "speech.audio.done") done = true;
      else if (event.type === "error") throw new StreamFailed((event.error && event.error.message) || "synthesis failed");
    }
  }
  if (!done) throw new StreamFailed("the stream ended before the server said it was done");
}

// Raw bytes of a streamed response.
export async function* rawAudio(reader) {
  for (;;) { const { value, done } = await reader.read(); if (done) return; yield value; }
}

export function renderProgress(player) {
  const { elapsed, total, text } = player.describe();
  $("progress-bar").max = Math.max(total, 0.001); $("progress-bar").value = Math.min(elapsed, total);
  $("progress-text").textContent = total > 0 ? `${text}${player.streaming ? " received so far" : ""}` : "";
}
