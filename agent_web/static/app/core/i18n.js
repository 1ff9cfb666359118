// The console's words: the catalogue the server put in the boot data, in the user's language.
// A key asked for that the catalogue lacks is remembered (window.vigil.missing), so the
// language walk test finds it, and shown as the key itself rather than as a guess.

const boot = JSON.parse(document.getElementById("boot")?.textContent || "{}");
const strings = boot.strings || {};

export const LANG = boot.lang || "zh-CN";
export const me = boot.user || {};
export const missing = new Set();

export function has(key) {
  return Object.prototype.hasOwnProperty.call(strings, key);
}

export function t(key, params) {
  let text = strings[key];
  if (text === undefined) {
    missing.add(key);
    text = key;
  }
  if (params) {
    for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value ?? ""));
  }
  return text;
}

// A catalogue name for a code (event class, status, …). Codes without one show as they are
// and are remembered as missing.
export function named(prefix, code) {
  return t(`${prefix}.${code}`);
}

// A configured list item (pause reason, disposition, fee plan…) carries its names in both
// languages: the user's, else the other one, else its code.
export function label(item) {
  if (!item) return "";
  const names = item.names || {};
  return names[LANG] || names[LANG === "en" ? "zh-CN" : "en"] || item.label || item.code || "";
}
