// Recent results in this browser (IndexedDB): replay, download by name, delete one, clear all.
import { $, escapeHtml, fileName } from "./api.js";

const KEEP = 20;

function db() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("tts-recent", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("results", { keyPath: "at" });
    request.onsuccess = () => resolve(request.result); request.onerror = () => reject(request.error);
  });
}

function done(transaction) {
  return new Promise((resolve, reject) => { transaction.oncomplete = resolve; transaction.onerror = () => reject(transaction.error); });
}

async function all() {
  const request = (await db()).transaction("results").objectStore("results").getAll();
  return new Promise((resolve) => { request.onsuccess = () => resolve(request.result.reverse()); });
}

export async function saveResult(item) {
  const transaction = (await db()).transaction("results", "readwrite");
  const store = transaction.objectStore("results");
  store.put(item);
  store.getAllKeys().onsuccess = (e) => { const keys = e.target.result; keys.slice(0, Math.max(0, keys.length - KEEP)).forEach((k) => store.delete(k)); };
  await done(transaction);
  await renderHistory();
}

async function remove(at) {
  const transaction = (await db()).transaction("results", "readwrite");
  transaction.objectStore("results").delete(at);
  await done(transaction);
  await renderHistory();
}

async function clear() {
  const transaction = (await db()).transaction("results", "readwrite");
  transaction.objectStore("results").clear();
  await done(transaction);
  await renderHistory();
}

let urls = [];

export async function renderHistory() {
  const items = await all();
  urls.forEach((u) => URL.revokeObjectURL(u)); urls = [];
  const list = $("recent"); list.innerHTML = "";
  $("history-clear").hidden = items.length === 0;
  $("history-empty").hidden = items.length > 0;
  items.forEach((item) => {
    const li = document.createElement("li"); const url = URL.createObjectURL(item.blob); urls.push(url);
    const name = item.name || fileName(item.text, item.voice, item.format);
    li.innerHTML = `<div class="recent-text">${escapeHtml(item.text.slice(0, 160))}${item.text.length > 160 ? "…" : ""}</div>
      <div class="meta">${escapeHtml(item.voice)} · ${escapeHtml(item.format)} · ${new Date(item.at).toLocaleString()}</div>
      <div class="row"><audio controls preload="none" src="${url}"></audio>
      <a href="${url}" download="${escapeHtml(name)}">Download</a>
      <button type="button" class="secondary delete">Delete</button></div>`;
    li.querySelector(".delete").addEventListener("click", () => remove(item.at));
    list.appendChild(li);
  });
}

export function wireHistory() {
  $("history-clear").addEventListener("click", clear);
  renderHistory();
}
