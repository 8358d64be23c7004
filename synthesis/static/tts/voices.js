// The voice picker: cards with language, gender and description, search and filters, and ▶ previews
// that play each voice's stored sample (made once on the server), one at a time.
import { $, errorMessage, escapeHtml, headers, showError } from "./api.js";

const GENDER = { female: "♀ female", male: "♂ male" };
const OTHER = "Other voices (cloned or blended)";

export class VoicePicker {
  constructor(onPick, onError) {
    this.voices = []; this.voice = null; this.picked = false; this.onPick = onPick; this.onError = onError;
    this.preview = null; this.previewUrls = new Map();
    ["filter-language", "filter-gender", "filter-engine"].forEach((id) => $(id).addEventListener("change", () => this.render()));
    $("voice-search").addEventListener("input", () => this.render());
  }

  // `text`: the typed text, so the server says which voice would speak its language.
  async load(text, select) {
    const query = (text || "").trim().slice(0, 300);
    const response = await fetch(query ? `/v1/audio/voices?text=${encodeURIComponent(query)}` : "/v1/audio/voices",
      { headers: headers() });
    if (!response.ok) { this.onError(await errorMessage(response)); return; }
    const body = await response.json();
    this.voices = body.data;
    fillFilter("filter-language", this.voices.filter((v) => v.language).map((v) => [v.language, v.language_name || v.language]));
    fillFilter("filter-engine", this.voices.map((v) => [v.engine, v.engine]));
    const known = (name) => name && this.voices.some((v) => v.id === name);
    if (known(select)) { this.voice = select; this.picked = true; }
    else if (!(this.picked && known(this.voice))) {
      this.picked = false;
      this.voice = known(body.default_voice) ? body.default_voice : known(body.server_default_voice)
        ? body.server_default_voice : null;
    }
    this.render();
    $("voices").dataset.loaded = "true";
  }

  render() {
    const lang = $("filter-language").value, gender = $("filter-gender").value, engine = $("filter-engine").value;
    const words = $("voice-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const list = $("voices"); list.innerHTML = "";
    const shown = this.voices.filter((v) => (!lang || v.language === lang) && (!gender || v.gender === gender)
      && (!engine || v.engine === engine)
      && words.every((w) => `${v.name} ${v.language_name} ${v.gender} ${v.engine} ${v.description}`.toLowerCase().includes(w)));
    const groups = new Map();
    shown.forEach((v) => {
      const key = v.language_name || OTHER;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(v);
    });
    const selected = this.voices.find((v) => v.id === this.voice);
    const first = selected ? (selected.language_name || OTHER) : null;
    [...groups.keys()].sort((a, b) => (a === first ? -1 : b === first ? 1 : a.localeCompare(b))).forEach((key) => {
      const heading = document.createElement("li");
      heading.className = "group"; heading.setAttribute("role", "presentation"); heading.textContent = key;
      list.appendChild(heading);
      groups.get(key).forEach((v) => list.appendChild(this.card(v)));
    });
    $("voice-count").textContent = `${shown.length} of ${this.voices.length} voices`;
    if (!shown.length) list.innerHTML = '<li class="empty">No voice matches.</li>';
  }

  card(v) {
    const li = document.createElement("li");
    li.className = "voice"; li.dataset.voice = v.id;
    const id = `voice-${v.id.replace(/[^\w-]/g, "_")}`;
    const meta = [v.language_name, GENDER[v.gender], v.engine, v.builtin ? "" : v.kind].filter(Boolean).join(" · ");
    li.innerHTML = `<input type="radio" name="voice" id="${id}" value="${escapeHtml(v.id)}"${v.id === this.voice ? " checked" : ""}>
      <label for="${id}"><span class="voice-name">${escapeHtml(v.name)}</span>
        <span class="meta">${escapeHtml(meta)}</span>
        ${v.description ? `<span class="description">${escapeHtml(v.description)}</span>` : ""}</label>
      <button type="button" class="secondary preview" aria-label="Play a sample of ${escapeHtml(v.name)}">▶</button>`;
    li.querySelector("input").addEventListener("change", () => { this.voice = v.id; this.picked = true; this.onPick(v.id); });
    li.querySelector("button").addEventListener("click", (e) => this.playPreview(v, e.currentTarget));
    return li;
  }

  // One preview at a time; the sample is fetched once per page and then played from memory.
  async playPreview(voice, button) {
    showError("voice-error", "");
    const again = this.preview && this.preview.voice === voice.id;
    this.stopPreview();
    if (again) return;  // a second click on the playing voice stops it
    const state = { voice: voice.id, button, audio: null };
    this.preview = state;
    button.setAttribute("aria-busy", "true"); button.disabled = true; button.textContent = "…";
    try {
      let url = this.previewUrls.get(voice.id);
      if (!url) {
        const response = await fetch(voice.preview_url, { headers: headers() });
        if (!response.ok) { const err = await errorMessage(response); throw new Error(err.message); }
        url = URL.createObjectURL(await response.blob());
        this.previewUrls.set(voice.id, url);
      }
      if (this.preview !== state) return;  // another preview started meanwhile
      state.audio = new Audio(url);
      state.audio.addEventListener("ended", () => this.stopPreview());
      $("voices").dataset.previewing = voice.id;
      button.textContent = "■"; button.setAttribute("aria-label", `Stop the sample of ${voice.name}`);
      await state.audio.play();
    } catch (e) {
      if (this.preview === state) this.stopPreview();
      showError("voice-error", `The sample of ${voice.name} could not be played: ${e.message}`);
    } finally {
      button.removeAttribute("aria-busy"); button.disabled = false;
    }
  }

  stopPreview() {
    const state = this.preview; this.preview = null;
    delete $("voices").dataset.previewing;
    if (!state) return;
    if (state.audio) state.audio.pause();
    state.button.textContent = "▶";
    state.button.setAttribute("aria-label", `Play a sample of ${state.voice}`);
  }
}

function fillFilter(id, pairs) {
  const el = $(id); const current = el.value;
  const unique = new Map(pairs);
  el.innerHTML = '<option value="">all</option>' + [...unique].sort((a, b) => a[1].localeCompare(b[1]))
    .map(([value, label]) => `<option value="${escapeHtml(value)}">${escapeHtml(label)}</option>`).join("");
  el.value = unique.has(current) ? current : "";
}
