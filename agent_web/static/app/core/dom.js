// Small DOM helpers shared by the shell and the views.
import { esc } from "./format.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function toast(text, bad = false) {
  const box = $("#toast");
  if (!box) return;
  box.textContent = text;
  box.className = bad ? "bad" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, bad ? 8000 : 5000);
}

export function html(strings, ...values) {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? esc(values[i]) : ""), "");
}

// Form fields as a JSON object, trimmed, empty ones left out.
export const formJson = (form) => Object.fromEntries([...new FormData(form).entries()]
  .map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v !== ""));
