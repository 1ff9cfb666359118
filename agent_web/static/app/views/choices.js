// Editing one of the center's configured lists (pause reasons, call dispositions, fee plans):
// a code that reports and Asterisk's queue log keep, and a name in each language.
import { api, errorText, itemsOf } from "../core/api.js";
import { loadChoices } from "../core/choices.js";
import { $, toast } from "../core/dom.js";
import { esc } from "../core/format.js";
import { t } from "../core/i18n.js";

export function mountChoices(box, s) {
  const kind = box.dataset.kind;
  const body = $("tbody", box);
  const load = async () => {
    const r = await api(`/api/console/choices/${kind}`);
    body.innerHTML = r.ok ? itemsOf(r.data).map((c) => `<tr data-code="${esc(c.code)}"><td><code>${esc(c.code)}</code></td>
      <td lang="zh-CN">${esc(c.names["zh-CN"])}</td><td lang="en">${esc(c.names.en)}</td>
      <td><button type="button" class="ghost" data-remove="${esc(c.code)}">${esc(t("pc.remove"))}</button></td></tr>`).join("")
      : `<tr><td colspan="4">${esc(errorText(r))}</td></tr>`;
  };
  s.listen($("form", box), "submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const code = String(f.get("code") || "").trim();
    const r = await api(`/api/console/choices/${kind}/${encodeURIComponent(code)}`, { method: "PUT",
      body: { names: { "zh-CN": String(f.get("name_zh") || "").trim(), en: String(f.get("name_en") || "").trim() } } });
    if (!r.ok) toast(errorText(r), true); else { ev.target.reset(); toast(t("admin.saved")); }
    await load();
    loadChoices(kind);
  });
  s.listen(body, "click", async (ev) => {
    const b = ev.target.closest("button[data-remove]");
    if (!b) return;
    const r = await api(`/api/console/choices/${kind}/${encodeURIComponent(b.dataset.remove)}`, { method: "DELETE" });
    if (!r.ok) toast(errorText(r), true);
    await load();
    loadChoices(kind);
  });
  load();
}
