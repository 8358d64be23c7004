// Texts longer than one request may carry: a background task (Fish Speech's async endpoints) with
// progress, Stop, and the file when it is done. Also: text files dropped on the text box or chosen.
import { $, errorMessage, headers } from "./api.js";

const TASK_FORMATS = ["wav", "pcm", "mp3", "opus"];

export function taskFormat(format) { return TASK_FORMATS.includes(format) ? format : "wav"; }

export class LongTextTask {
  constructor() { this.stepId = null; this.stopped = false; }

  // Resolves with the result's Blob; throws with a plain message when the task fails or is stopped.
  async run({ text, voice, format, seed }, onProgress) {
    this.stepId = `page-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.stopped = false;
    const body = { step_id: this.stepId, text, format: taskFormat(format), reference_id: voice || null };
    if (seed !== null) body.seed = seed;
    const created = await fetch("/generate_audio_enhanced_async", { method: "POST",
      headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body) });
    if (!created.ok) throw Object.assign(new Error(), await errorMessage(created));
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));  // the server is asked once a second
      const response = await fetch(`/get_task_status/${this.stepId}`, { headers: headers() });
      if (!response.ok) throw Object.assign(new Error(), await errorMessage(response));
      const status = await response.json();
      onProgress(status);
      if (status.status === "completed") {
        const file = await fetch(status.download_url, { headers: headers() });
        if (!file.ok) throw Object.assign(new Error(), await errorMessage(file));
        return await file.blob();
      }
      if (status.status === "failed") throw new Error(`The task failed: ${status.error || "no reason given"}`);
      if (status.status === "cancelled" || this.stopped) throw Object.assign(new Error("Stopped."), { name: "AbortError" });
    }
  }

  async stop() {
    if (!this.stepId) return;
    this.stopped = true;
    await fetch(`/stop_async_task/${this.stepId}`, { method: "POST", headers: headers() }).catch(() => {});
  }
}

// A text file chosen or dropped on the text box replaces the text.
export function wireTextFiles(onText) {
  const read = async (file) => {
    if (!file) return;
    if (file.size > 2_000_000) { onText(null, "That file is larger than 2 MB; split it first."); return; }
    onText(await file.text(), "");
  };
  $("text-file").addEventListener("change", () => read($("text-file").files[0]));
  const box = $("text");
  box.addEventListener("dragover", (e) => { if (e.dataTransfer.types.includes("Files")) { e.preventDefault(); box.classList.add("dropping"); } });
  box.addEventListener("dragleave", () => box.classList.remove("dropping"));
  box.addEventListener("drop", (e) => {
    box.classList.remove("dropping");
    if (!e.dataTransfer.files.length) return;
    e.preventDefault(); read(e.dataTransfer.files[0]);
  });
}
