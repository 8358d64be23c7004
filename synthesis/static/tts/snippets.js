// "Copy as curl" and a Python snippet for the current settings.
import { $ } from "./api.js";

export function requestBody(s) {
  const body = { model: "tts-1", voice: s.voice, input: s.text, speed: s.speed, pitch: s.pitch,
                 response_format: s.format };
  if (s.seed !== null) body.seed = s.seed;
  return body;
}

export function renderSnippets(s) {
  const origin = window.location.origin;
  const body = requestBody({ ...s, text: s.text.length > 200 ? s.text.slice(0, 200) + "…" : s.text });
  const key = s.keyRequired ? " \\\n  -H 'Authorization: Bearer YOUR_KEY'" : "";
  const json = JSON.stringify(body).replace(/'/g, "'\\''");
  $("snippet-curl").textContent = `curl -X POST ${origin}/v1/audio/speech \\\n  -H 'Content-Type: application/json'${key} \\\n`
    + `  -d '${json}' -o speech.${s.format}`;
  const extra = { pitch: s.pitch, ...(s.seed !== null ? { seed: s.seed } : {}) };
  $("snippet-python").textContent = [
    "from openai import OpenAI", "",
    `client = OpenAI(base_url="${origin}/v1", api_key=${s.keyRequired ? '"YOUR_KEY"' : '"not-needed"'})`,
    "with client.audio.speech.with_streaming_response.create(",
    `        model="tts-1", voice=${JSON.stringify(s.voice)}, speed=${s.speed}, response_format="${s.format}",`,
    `        input=${JSON.stringify(body.input)},`,
    `        extra_body=${JSON.stringify(extra)}) as response:`,
    `    response.stream_to_file("speech.${s.format}")`].join("\n");
}

export function wireSnippets() {
  [["copy-curl", "snippet-curl"], ["copy-python", "snippet-python"]].forEach(([button, pre]) => {
    $(button).addEventListener("click", async () => {
      try { await navigator.clipboard.writeText($(pre).textContent); $(button).textContent = "Copied"; }
      catch (e) { $(button).textContent = "Select the text and copy it"; }
      setTimeout(() => { $(button).textContent = button === "copy-curl" ? "Copy as curl" : "Copy Python"; }, 2000);
    });
  });
}
