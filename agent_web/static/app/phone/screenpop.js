// The screen pop: who is calling (or being called) and their subscriber record, shown in the
// dock before the call is answered and kept while the call lasts, whatever view is open. The
// quick card comes with ``screenpop``; crm's summary with ``screenpop.detail`` (or fetched).
import { api, errorText, itemsOf, post } from "../core/api.js";
import { $, toast } from "../core/dom.js";
import { esc, fmtTime, phoneLink } from "../core/format.js";
import { choiceName } from "../core/choices.js";
import { me, named, t } from "../core/i18n.js";

let shown = { callId: null, accountId: null, caller: "" };

export function popCallId() { return shown.callId; }

export function clearPop() {
  shown = { callId: null, accountId: null, caller: "" };
  const box = $("#screenpop");
  box.dataset.state = "idle";
  box.dataset.call = "";
  box.innerHTML = `<p class="empty">${esc(t("pop.empty"))}</p>`;
}

function facts(summary) {
  const prem = summary.premises || {};
  const contract = summary.contract;
  return [
    ["pop.account", `${summary.number ?? ""} ${summary.name ?? ""}`],
    ["pop.address", prem.address ?? ""],
    ["pop.status", summary.status ? named("acct", summary.status) : ""],
    ["pop.contract", contract ? `${choiceName("fee_plan", contract.fee_plan)} · ${named("pay", contract.payment_status)}` : t("pop.no_contract")],
    ["pop.panels", (summary.panels || []).map((p) => `${p.make} ${p.model} (${p.zones} ${t("pop.zones")})`).join("; ")],
    ["pop.access", prem.access_notes ?? ""],
  ].filter(([, v]) => String(v).trim());
}

export async function renderPop(data) {
  const box = $("#screenpop");
  const caller = data.caller_number ?? "";
  const callId = data.call_id ?? null;
  const acct = data.account && typeof data.account === "object" ? data.account : null;
  shown = { callId, accountId: acct?.id ?? null, caller };
  box.dataset.state = "shown";
  box.dataset.call = callId ?? "";
  const head = `<p class="pop-caller">${esc(t(data.direction === "outbound" ? "pop.calling" : "pop.caller"))}: <b>${phoneLink(caller)}</b>
    ${data.queue ? `<span class="muted">· ${esc(t("pop.queue"))} ${esc(data.queue)}</span>` : ""}</p>`;
  if (!acct) {
    box.innerHTML = `<div class="pop-card unknown">${head}<p>${esc(t("pop.unknown"))}</p>
      <div class="buttons"><button type="button" data-pop="ticket">${esc(t("pop.new_ticket"))}</button></div></div>`;
    return;
  }
  // ``detail`` true: the account is crm's full summary already (else fetch it, unless
  // ``screenpop.detail`` brings it first)
  let summary = data.detail ? acct : null;
  if (!summary) {
    const r = await api(`/api/accounts/${encodeURIComponent(acct.id)}/summary`);
    summary = r.ok ? r.data : acct;
  }
  if (shown.callId !== callId) return;  // another call popped meanwhile
  const warn = summary.completeness?.missing ?? [];
  const contract = summary.contract;
  const calllist = (summary.call_list || []).map((c) => `<li><b>${esc(c.order === 0 ? t("incident.premises_line") : c.name)}</b>
    ${(c.phones || []).map((p) => phoneLink(p.e164)).join(" ")}</li>`).join("");
  box.innerHTML = `<div class="pop-card">${head}
    ${warn.length ? `<p class="notice">${esc(t("pop.incomplete"))}: ${esc(warn.map((w) => named("missing", w.code)).join(", "))}</p>` : ""}
    ${contract && contract.payment_status && contract.payment_status !== "paid" ? `<p class="notice">${esc(t("pop.payment"))}: ${esc(named("pay", contract.payment_status))}</p>` : ""}
    <p><a href="/subscribers/${summary.id}">${esc(t("pop.open_record"))}</a></p>
    <dl class="facts">${facts(summary).map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
    <h3>${esc(t("incident.calllist"))}</h3><ol class="calllist compact">${calllist || `<li class="muted">${esc(t("common.none"))}</li>`}</ol>
    <div class="buttons"><button type="button" data-pop="ticket">${esc(t("pop.new_ticket"))}</button>
      ${me.role !== "agent" ? `<button type="button" data-pop="work_order">${esc(t("pop.new_work_order"))}</button>` : ""}</div>
    <form class="dial" data-pop-note><label>${esc(t("pop.note"))} <input name="body" maxlength="8000" autocomplete="off"></label><button type="submit">${esc(t("pop.save_note"))}</button></form>
    <details class="pop-more"><summary>${esc(t("pop.history"))}</summary>
      <h3>${esc(t("pop.incidents"))}</h3><div data-part="incidents" class="muted">…</div>
      <h3>${esc(t("pop.tickets"))}</h3><div data-part="tickets" class="muted">…</div>
      <h3>${esc(t("pop.signals"))}</h3><div data-part="signals" class="muted">…</div>
    </details>
  </div>`;
  const part = (name, html) => { const el = box.querySelector(`[data-part="${name}"]`); if (el) el.innerHTML = html; };
  const none = `<span class="muted">${esc(t("common.none"))}</span>`;
  const failed = (r) => `<span class="muted">${esc(errorText(r))}</span>`;
  api(`/api/incidents?state=open&account_id=${summary.id}`).then((r) => part("incidents", !r.ok ? failed(r)
    : itemsOf(r.data).map((i) => `<a href="/incidents/${i.id}">#${i.id} ${esc(named("class", i.kind))} · ${esc(named("status", i.status))}</a>`).join("<br>") || none));
  api(`/api/tickets?account_id=${summary.id}&open_only=true&limit=10`).then((r) => part("tickets", !r.ok ? failed(r)
    : itemsOf(r.data).map((tk) => `<span class="sla sla-${esc(tk.sla)}">${esc(t(`sla.${tk.sla}`))}</span> #${tk.id} ${esc(tk.subject)} · ${esc(t(`ticket.${tk.status}`))}`).join("<br>") || none));
  api(`/api/accounts/${encodeURIComponent(summary.number)}/signals?limit=20`).then((r) => part("signals", !r.ok ? failed(r)
    : !itemsOf(r.data).length ? none : `<table class="grid small"><tbody>${itemsOf(r.data).map((s) => `<tr><td>${esc(fmtTime(s.received_at))}</td><td class="mono">${esc(s.event_code ?? "")}</td><td>${s.kind ? esc(named("class", s.kind)) : ""}</td><td>${esc(s.zone ?? "")}</td></tr>`).join("")}</tbody></table>`));
}

export function startScreenpop() {
  document.addEventListener("click", async (ev) => {
    const b = ev.target.closest("#screenpop button[data-pop]");
    if (!b) return;
    const subject = `${t("pop.call_from")} ${shown.caller}`.trim();
    if (b.dataset.pop === "ticket") {
      const r = await post("/api/tickets", { kind: "consultation", subject, account_id: shown.accountId });
      toast(r.ok ? `${t("pop.ticket_made")} #${r.data.id}` : errorText(r), !r.ok);
    } else if (b.dataset.pop === "work_order" && shown.accountId !== null) {
      const r = await post("/api/work-orders", { account_id: shown.accountId, summary: subject });
      toast(r.ok ? `${t("pop.work_order_made")} #${r.data.id}` : errorText(r), !r.ok);
    }
  });
  document.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("#screenpop form[data-pop-note]");
    if (!form || shown.accountId === null) return;
    ev.preventDefault();
    const body = String(new FormData(form).get("body") || "").trim();
    if (!body) return;
    const r = await post(`/api/accounts/${shown.accountId}/notes`, { body });
    toast(r.ok ? t("pop.note_saved") : errorText(r), !r.ok);
    if (r.ok) form.reset();
  });
}
