// A subscriber (account): who they are, where, the call list with click-to-dial, their
// incidents, tickets and latest signals. Editing the record is the back office's page.
import { api, errorText, itemsOf } from "../core/api.js";
import { choiceName } from "../core/choices.js";
import { $ } from "../core/dom.js";
import { esc, fmtDate, fmtTime, phoneLink } from "../core/format.js";
import { named, t } from "../core/i18n.js";

export function mount(root, s) {
  const id = $("#subscriber", root).dataset.accountId;
  const none = `<p class="muted">${esc(t("common.none"))}</p>`;
  const failed = (r) => `<p class="muted">${esc(errorText(r))}</p>`;
  const load = async () => {
    const r = await api(`/api/accounts/${encodeURIComponent(id)}/summary`);
    if (!r.ok) { $("#sub-name", root).textContent = errorText(r); return; }
    const a = r.data;
    const prem = a.premises || {};
    $("#sub-name", root).textContent = `${a.number} ${a.name}`;
    const facts = [
      ["pop.status", named("acct", a.status)], ["pop.address", prem.address ?? ""],
      ["pop.contract", a.contract ? `${choiceName("fee_plan", a.contract.fee_plan)} · ${named("pay", a.contract.payment_status)}` : t("pop.no_contract")],
      ["pop.panels", (a.panels || []).map((p) => `${p.make} ${p.model} (${p.zones} ${t("pop.zones")})`).join("; ")],
      ["pop.access", prem.access_notes ?? ""], ["sub.hazard", prem.hazard_notes ?? ""],
    ].filter(([, v]) => String(v).trim());
    $("#sub-facts", root).innerHTML = facts.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${esc(v)}</dd>`).join("");
    const missing = a.completeness?.missing ?? [];
    const notice = $("#sub-notice", root);
    notice.hidden = !missing.length;
    notice.textContent = missing.length ? `${t("pop.incomplete")}: ${missing.map((m) => named("missing", m.code)).join(", ")}` : "";
    $("#sub-calllist", root).innerHTML = (a.call_list || []).map((c) => `<li><b>${esc(c.order === 0 ? t("incident.premises_line") : c.name)}</b>
      <span class="muted">${esc(named("contact", c.role))}</span> ${(c.phones || []).map((p) => phoneLink(p.e164)).join(" ")}</li>`).join("")
      || `<li class="muted">${esc(t("common.none"))}</li>`;
    const [inc, tk, sg] = await Promise.all([
      api(`/api/incidents?state=all&account_id=${a.id}&limit=20`),
      api(`/api/tickets?account_id=${a.id}&limit=20`),
      api(`/api/accounts/${encodeURIComponent(a.number)}/signals?limit=20`)]);
    if (!root.isConnected) return;
    $("#sub-incidents", root).innerHTML = !inc.ok ? failed(inc) : itemsOf(inc.data).map((i) => `<div><a href="/incidents/${i.id}">#${i.id}</a>
      ${esc(named("class", i.kind))} · ${esc(named("status", i.status))} · <span class="muted">${esc(fmtDate(i.opened_at))}</span></div>`).join("") || none;
    $("#sub-tickets", root).innerHTML = !tk.ok ? failed(tk) : itemsOf(tk.data).map((x) => `<div><span class="sla sla-${esc(x.sla)}">${esc(t(`sla.${x.sla}`))}</span>
      #${x.id} ${esc(x.subject)} · ${esc(t(`ticket.${x.status}`))}</div>`).join("") || none;
    $("#sub-signals", root).innerHTML = !sg.ok ? failed(sg) : !itemsOf(sg.data).length ? none
      : `<table class="grid small"><tbody>${itemsOf(sg.data).map((x) => `<tr><td>${esc(fmtTime(x.received_at))}</td><td class="mono">${esc(x.event_code ?? "")}</td>
        <td>${x.kind ? esc(named("class", x.kind)) : ""}</td><td>${esc(x.zone ?? "")}</td></tr>`).join("")}</tbody></table>`;
  };
  s.snapshot(load);
}
