// The center's configured lists (pause reasons, call dispositions, fee plans), each item with
// its names in both languages; loaded once per session and again when a list changes.
import { api, itemsOf } from "./api.js";
import { label } from "./i18n.js";
import { live } from "./live.js";

const lists = new Map();   // kind -> items

export async function loadChoices(kind) {
  const r = await api(`/api/console/choices/${kind}`);
  if (r.ok) lists.set(kind, itemsOf(r.data));
  document.dispatchEvent(new CustomEvent("vigil:choices", { detail: { kind } }));  // names changed
  return lists.get(kind) || [];
}

export const choices = (kind) => lists.get(kind) || [];

export function choiceName(kind, code) {
  if (!code) return "";
  const item = choices(kind).find((c) => c.code === code);
  return item ? label(item) : code;
}

export function startChoices() {
  live.snapshot(() => Promise.all(["pause_code", "disposition", "fee_plan"].map(loadChoices)));
  live.on((topic, data) => { if (topic === "console.choices_changed") loadChoices(data.kind); });
}
