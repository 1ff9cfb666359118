// Formatting for the console: HTML escaping, durations, times in the user's language.
import { LANG } from "./i18n.js";

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

// Milliseconds since the epoch from epoch seconds, epoch milliseconds or an ISO string.
export function timeOf(value, fallback) {
  if (typeof value === "number") return value > 1e12 ? value : value * 1000;
  const parsed = Date.parse(value || "");
  return Number.isFinite(parsed) ? parsed : fallback;
}

export function fmtTime(value) {
  const ms = timeOf(value, NaN);
  return Number.isFinite(ms) ? new Date(ms).toLocaleTimeString(LANG, { hour12: false }) : "–";
}

export function fmtDate(value) {
  const ms = timeOf(value, NaN);
  return Number.isFinite(ms) ? new Date(ms).toLocaleString(LANG, { hour12: false, year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "–";
}

// A phone number anyone can click to call (click-to-dial is handled once, by the phone).
export function phoneLink(number) {
  if (!number) return "";
  return `<a href="#" class="tel" data-dial="${esc(number)}">${esc(number)}</a>`;
}
