// The REST client: JSON in and out, the session's CSRF token on every change, and errors turned
// into words in the user's language (the server says *what* went wrong as a code; the words
// are the console's).
import { has, LANG, t } from "./i18n.js";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

export async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (init.body !== undefined && typeof init.body !== "string") {
    init.body = JSON.stringify(init.body);
    init.headers["Content-Type"] = "application/json";
  }
  if (init.method && init.method !== "GET") init.headers["X-CSRF-Token"] = csrf;
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    return { ok: false, status: 0, data: null };
  }
  let data = null;
  try { data = await res.json(); } catch (err) { data = null; }
  return { ok: res.ok, status: res.status, data };
}

export const post = (path, body = {}) => api(path, { method: "POST", body });

export const itemsOf = (data) => (Array.isArray(data) ? data : (data && (data.items || data.results)) || []);

const BY_STATUS = { 0: "error.network", 401: "error.session", 403: "error.forbidden", 404: "error.not_found",
  409: "error.conflict", 413: "error.too_large", 429: "error.too_many", 503: "error.unavailable" };

function fieldName(field) {
  const last = String(field || "").split(".").pop();
  return has(`field.${last}`) ? t(`field.${last}`) : last;
}

function validationText(e) {
  const key = `invalid.${e.type}`;
  if (has(key)) return t(key, e.ctx || {});
  return LANG === "en" && e.msg ? e.msg : t("invalid.value");
}

// What to tell the user about a failed request.
export function errorText(r) {
  const detail = r.data && r.data.detail;
  if (detail && typeof detail === "object" && !Array.isArray(detail) && detail.code) {
    const key = `error.${detail.code}`;
    if (has(key)) return t(key, detail.params || {});
    return LANG === "en" && detail.message ? detail.message : `${t("common.failed")} (${detail.code})`;
  }
  if (Array.isArray(detail)) return detail.map((e) => `${fieldName(e.field)}: ${validationText(e)}`).join("; ");
  // Answers without a code: the server's words only where they are the user's language.
  if (typeof detail === "string" && LANG === "en") return detail;
  return t(BY_STATUS[r.status] || "common.failed");
}
