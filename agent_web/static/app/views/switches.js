// Disaster mode (supervisors and admins) and the IVR's blacklist.
import { api, errorText, itemsOf, post } from "../core/api.js";
import { $, toast } from "../core/dom.js";
import { esc } from "../core/format.js";
import { t } from "../core/i18n.js";

export async function mountDisaster(dm, s) {
  const show = (d) => {
    $(".state", dm).textContent = d.active ? t("disaster.on") : t("disaster.off");
    dm.dataset.active = d.active ? "1" : "0";
    $("button", dm).textContent = d.active ? t("disaster.turn_off") : t("disaster.turn_on");
  };
  s.listen($("button", dm), "click", async () => {
    const on = dm.dataset.active !== "1";
    if (!confirm(on ? t("disaster.confirm_on") : t("disaster.confirm_off"))) return;
    const res = await api("/api/alarm-disaster", { method: "PUT", body: { active: on, rules: {} } });
    if (res.ok) show(res.data); else toast(errorText(res), true);
  });
  const r = await api("/api/alarm-disaster");
  if (r.ok) show(r.data);
}

export function mountBlacklist(bl, s) {
  const load = async () => {
    const r = await api("/api/console/blacklist");
    $("tbody", bl).innerHTML = r.ok ? itemsOf(r.data).map((e) => `<tr><td class="mono">${esc(e.number)}</td><td>${esc(e.reason)}</td>
      <td>${esc(e.added_by)}</td><td><button type="button" class="ghost" data-unblock="${esc(e.number)}">${esc(t("bl.remove"))}</button></td></tr>`).join("")
      : `<tr><td colspan="4">${esc(errorText(r))}</td></tr>`;
  };
  s.listen($("form", bl), "submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const r = await post("/api/console/blacklist", { number: f.get("number"), reason: f.get("reason") || "" });
    if (!r.ok) toast(errorText(r), true); else ev.target.reset();
    load();
  });
  s.listen(bl, "click", async (ev) => {
    const b = ev.target.closest("button[data-unblock]");
    if (!b) return;
    const r = await api(`/api/console/blacklist?number=${encodeURIComponent(b.dataset.unblock)}`, { method: "DELETE" });
    if (!r.ok) toast(errorText(r), true);
    load();
  });
  load();
}
