// The phone in the dock: the agent's state in the queues, the current call and its controls,
// wrap-up with its disposition, and the calls the console places for the user (click-to-dial,
// verification calls, a supervisor's listen) with their progress. It lives for the whole
// session; no view change touches it.
//
// The truth is the server's: GET /api/console/phone (the CTI's view of Asterisk: agent state,
// the user's live call, its screen pop, wrap-up, parked calls). Events move the panel at once;
// every event about the user's own call also asks the server again, so the panel never keeps
// a state of its own that could drift.
import { api, errorText, itemsOf, post } from "../core/api.js";
import { choiceName, choices } from "../core/choices.js";
import { $, $$, toast } from "../core/dom.js";
import { duration, esc, fmtTime, timeOf } from "../core/format.js";
import { me, t } from "../core/i18n.js";
import { live } from "../core/live.js";
import { DeskPhone, PbxsimPhone } from "./drivers.js";
import { clearPop, popCallId, renderPop } from "./screenpop.js";
import { WebrtcPhone } from "./webrtc.js";

// Stages of a call the console placed that end it.
const FINAL = new Set(["busy", "no_answer", "unavailable", "failed", "ended"]);

const disposed = new Set();  // calls whose disposition this console saved

export const ph = {
  mode: "", cti: false, agent: { state: "unknown" }, sinceMs: Date.now(), queues: [], defaults: [],
  wrapupSeconds: 0, call: null, parked: [], driver: null, ready: false, muted: false, wrapup: null,
};

// Whether an event is about this user: it names the user, the user's extension, or lists the
// user among the agents of a call (a call's end names everyone whose phone took part).
const isMine = (data) => Number(data.user_id) === Number(me.id)
  || (me.extension && String(data.extension ?? "") === String(me.extension))
  || (Array.isArray(data.agents) && data.agents.some((a) => Number(a.user_id) === Number(me.id)));

const panel = () => $("#phone");
const btn = (a) => panel().querySelector(`[data-action="${a}"]`);
const notice = (text) => { const el = $("#phone-notice"); el.hidden = !text; el.textContent = text || ""; };

function stageText(call) {
  if (!call) return "";
  if (call.stage === "failed" || call.stage === "unavailable") {
    const cause = call.cause ? t(`callcause.${call.cause}`) : "";
    return cause ? `${t(`stage.${call.stage}`)} · ${cause}` : t(`stage.${call.stage}`);
  }
  return call.stage ? t(`stage.${call.stage}`) : "";
}

function callWhat(call) {
  if (!call) return t("phone.idle");
  if (call.kind === "spy" && call.state === "connected") return t(`agents.spying.${call.mode || "listen"}`);
  if (call.state === "ringing") return t("phone.incoming");
  if (call.state === "dialing") return t(`phone.placing.${call.kind || "dial"}`);
  if (call.state === "held") return t("phone.on_hold");
  if (call.state === "ended") return t("phone.call_over");
  return t("phone.connected");
}

// ---- rendering ------------------------------------------------------------------------------

let boxesFor = "";
function renderQueues() {
  const a = ph.agent;
  const key = `${ph.queues.join(",")}|${a.state === "logged_out"}|${(a.queues || []).join(",")}`;
  if (key !== boxesFor) {
    boxesFor = key;
    const inQueues = new Set(a.queues || []);
    const ticked = a.state === "logged_out" ? new Set(ph.defaults) : inQueues;
    $("#queue-boxes").innerHTML = ph.queues.map((q) => `<label><input type="checkbox" name="queue" value="${esc(q)}"
      ${ticked.has(q) ? "checked" : ""}> ${esc(q)}${inQueues.has(q) ? " ✓" : ""}</label>`).join("")
      || `<span class="muted">${esc(t("common.none"))}</span>`;
  }
  const sel = $("#pause-reason");
  const was = sel.value;
  const codes = choices("pause_code");
  const opts = codes.map((c) => `<option value="${esc(c.code)}">${esc(choiceName("pause_code", c.code))}</option>`).join("");
  if (sel.dataset.opts !== opts) { sel.innerHTML = opts; sel.dataset.opts = opts; if (was) sel.value = was; }
  const disp = $("#wrapup-disposition");
  const dopts = `<option value="">${esc(t("wrapup.choose"))}</option>` + choices("disposition")
    .map((c) => `<option value="${esc(c.code)}">${esc(choiceName("disposition", c.code))}</option>`).join("");
  if (disp.dataset.opts !== dopts) { const v = disp.value; disp.innerHTML = dopts; disp.dataset.opts = dopts; disp.value = v; }
}

let wasOut = null;
export function render() {
  const a = ph.agent;
  const state = a.state || "unknown";
  const out = state === "logged_out";
  if (out !== wasOut) { $("#queues-box").open = out; wasOut = out; }  // joining is the next step
  const p = panel();
  p.dataset.mode = ph.mode;
  p.dataset.extension = me.extension ? "1" : "0";  // no extension: only the notice shows
  $("#phone-mode").textContent = ph.mode ? t(`phone.mode.${ph.mode}`) : "";
  const st = $("#agent-state");
  st.dataset.state = state;
  st.textContent = t(`state.${state}`);
  $("#agent-reason").textContent = state === "paused" && a.pause_reason ? choiceName("pause_code", a.pause_reason) : "";
  renderQueues();
  const call = ph.call;
  const line = $("#call-line");
  line.dataset.state = call ? call.state : "idle";
  line.dataset.stage = call?.stage || "";
  line.dataset.kind = call?.kind || "";
  p.dataset.call = call ? call.state : "idle";
  $("#call-what").textContent = callWhat(call);
  $("#call-party").textContent = call ? [call.number, call.name].filter(Boolean).join(" · ") : "";
  $("#call-progress").textContent = call?.kind === "spy" && call.state === "connected" ? "" : stageText(call);
  // a three-way call: who else is in it (the agent's own leg left out)
  const others = (call?.conference?.participants || []).filter((x) => x.role !== "agent" && !x.left_at);
  const conf = $("#call-conference");
  conf.hidden = !others.length;
  conf.textContent = others.length ? `${t("phone.in_conference")}: ${others.map((x) => x.name || x.number).join(", ")}` : "";
  const cti = ph.cti && Boolean(me.extension);
  const inQueues = state !== "logged_out" && state !== "unknown";
  const live_ = call && call.state !== "ended";
  // a supervisor's listening call has no call tools: it is not a call with a caller
  const talking = call && (call.state === "connected" || call.state === "held") && call.kind !== "spy";
  const d = ph.driver;
  const set = (el, on) => { if (el) el.disabled = !on; };
  set(btn("join"), cti);
  btn("join").classList.toggle("go", !inQueues);
  set(btn("leave"), cti && inQueues);
  set(btn("ready"), cti && state === "paused");
  set($("#pause-reason"), cti && inQueues);
  set(btn("pause"), cti && inQueues && state !== "paused" && choices("pause_code").length > 0);
  set(btn("answer"), call?.state === "ringing" && Boolean(d?.canAnswer));
  btn("answer").title = d && !d.canAnswer ? t("phone.answer_on_desk") : "";
  set(btn("hangup"), Boolean(live_));
  set(btn("hold"), Boolean(talking && d?.canHold));
  btn("hold").textContent = call?.state === "held" ? t("phone.retrieve") : t("phone.hold");
  btn("hold").dataset.held = call?.state === "held" ? "1" : "0";
  set(btn("mute"), Boolean(talking && d?.canMute));
  btn("mute").textContent = ph.muted ? t("phone.unmute") : t("phone.mute");
  btn("mute").setAttribute("aria-pressed", ph.muted ? "true" : "false");
  for (const el of $$("#transfer-form input, #transfer-form select, #transfer-form button, [data-dtmf]")) set(el, cti && talking);
  $("#call-tools").hidden = !talking;
  set(btn("park"), cti && talking);
  const parked = ph.parked || [];
  $("#parked").hidden = !parked.length;
  $("#parked-list").innerHTML = parked.map((x) => `<li><b class="space">${esc(t("phone.park_space"))} ${esc(x.space)}</b>
    <span>${esc([x.number, x.name].filter(Boolean).join(" · "))}</span>
    <button type="button" class="go" data-space="${esc(x.space)}" ${cti && !live_ ? "" : "disabled"}>${esc(t("phone.retrieve"))}</button></li>`).join("");
  for (const el of $$("#dial-form input, #dial-form button")) set(el, cti && !live_);
  const wrap = $("#wrapup-form");
  wrap.hidden = !ph.wrapup;
  wrap.dataset.call = ph.wrapup?.callId ?? "";
  const ready = Boolean(ph.mode) && ph.cti && Boolean(me.extension) && Boolean(ph.driver?.ready);
  $("#phone-ready").dataset.ready = ready ? "1" : "0";
  $("#phone-ready").textContent = !me.extension ? "" : ready ? t("phone.ready_state") : t("phone.not_ready");
  if (ready && !ph.ready) { ph.ready = true; window.vigil.phoneReadyMs = performance.now(); }
  if (!ph.cti) notice(t("phone.no_cti"));
  else if (!me.extension) notice(t("phone.no_extension"));
  else if (ph.mode === "webrtc" && !ready) notice(t("phone.unregistered"));
  else if (state === "logged_out" && !call) notice(t("phone.join_first"));
  else notice("");
  tick();
}

function tick() {
  const a = ph.agent;
  const since = (Date.now() - ph.sinceMs) / 1000;
  let text = "";
  if (a.state === "wrapup") {
    const until = ph.wrapup?.until ? ph.wrapup.until : ph.sinceMs + ph.wrapupSeconds * 1000;
    text = `${t("phone.wrapup_left")} ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s`;
  } else if (a.state && a.state !== "logged_out" && a.state !== "unknown") text = duration(since);
  $("#agent-since").textContent = text;
  $("#call-time").textContent = ph.call?.since && ph.call.state !== "ended" ? duration((Date.now() - ph.call.since) / 1000) : "";
}

// ---- the server's truth ---------------------------------------------------------------------

function callFromServer(c) {
  return { id: c.call_id, kind: c.kind, direction: c.direction, state: c.state, number: c.number, name: c.name,
    since: timeOf(c.since, Date.now()), queue: c.queue, incident_id: c.incident_id, conference: c.conference,
    verification_id: c.verification_id, stage: ph.call?.id === c.call_id ? ph.call.stage : c.stage, cause: null };
}

// Events that changed the call locally since a refresh was asked for: an answer computed
// before them must not undo them (it is asked again instead).
let touched = 0;
let refreshing = null;
export async function refresh() {
  if (refreshing) { refreshing.again = true; return refreshing.promise; }
  refreshing = { again: false, promise: null };
  refreshing.promise = (async () => {
    do {
      refreshing.again = false;
      const before = touched;
      const r = await api("/api/console/phone");
      if (!r.ok) { ph.cti = false; render(); continue; }
      if (touched !== before && !r.data.current) { refreshing.again = true; continue; }
      apply(r.data);
    } while (refreshing.again);
  })();
  const p = refreshing.promise;
  await p;
  refreshing = null;
  return p;
}

function apply(d) {
  Object.assign(ph, { mode: d.mode, cti: d.cti, queues: d.queues, defaults: d.default_queues,
    parked: d.parked || [], wrapupSeconds: Number(d.wrapup_seconds) || 0 });
  setAgent(d.agent);
  // a call the console placed comes back with its latest progress (a reload mid-call)
  const placed = (d.placed || []).find((p) => !d.current || p.call_id === d.current.call_id);
  if (placed && (!ph.call || ph.call.id === placed.call_id)) progressed(placed, false);
  if (d.current) {
    ph.call = { ...callFromServer(d.current), ...(placed ? { placed: true, stage: placed.stage,
      kind: placed.kind, number: placed.number } : {}) };
    if (d.pop && popCallId() !== d.pop.call_id) renderPop(d.pop);
  } else if (ph.call && !(ph.call.placed && !FINAL.has(ph.call.stage)) && ph.call.state !== "ended") {
    ph.call = null;  // the server knows no call: it is over
  }
  if (!d.current && !placed && popCallId() !== null) clearPop();
  // the disposition prompt stays until a disposition is saved or the next call rings
  if (d.wrapup && !disposed.has(d.wrapup.call_id)) ph.wrapup = { callId: d.wrapup.call_id, until: timeOf(d.wrapup.until, null) };
  ensureDriver(d);
  render();
}

function setAgent(row) {
  const before = ph.agent.state;
  ph.agent = { ...ph.agent, ...row };
  if (row.state === "wrapup" && row.wrapup_call_id && !disposed.has(row.wrapup_call_id)) {
    ph.wrapup = { callId: row.wrapup_call_id, until: timeOf(row.wrapup_until, null) };
  }
  if (row.since !== undefined && row.since !== null) ph.sinceMs = timeOf(row.since, Date.now());
  else if (row.state !== before) ph.sinceMs = Date.now();
}

function ensureDriver(d) {
  if (ph.driver && ph.driver.mode === d.mode) return;
  ph.driver?.stop?.();
  if (d.mode === "pbxsim") ph.driver = new PbxsimPhone();
  else if (d.mode === "webrtc" && d.sip) {
    ph.driver = new WebrtcPhone(d.sip, {
      changed: () => { if (ph.call && ph.driver.session) ph.call.state = ph.driver.held ? "held" : ph.call.state; ph.muted = ph.driver.muted; render(); },
      ringing: (info) => { if (!ph.call) ph.call = { state: "ringing", since: Date.now(), ...info }; render(); },
      ended: () => { ph.muted = false; refresh(); },
    });
    ph.driver.start().catch((err) => { console.error(err); notice(t("phone.unregistered")); });
  } else ph.driver = new DeskPhone();
}

// ---- calls the console places ----------------------------------------------------------------

// The phone line for a placed call (click-to-dial, verification, spy) from its progress.
function progressed(data, fresh = true) {
  if (fresh) touched += 1;
  const same = ph.call && ph.call.id === data.call_id;
  const base = same ? ph.call : { id: data.call_id, since: Date.now(), placed: true };
  const stage = data.stage;
  const final = Boolean(data.final) || FINAL.has(stage);
  const state = stage === "answered" ? "connected" : final ? "ended"
    : (same && (ph.call.state === "connected" || ph.call.state === "held")) ? ph.call.state : "dialing";
  ph.call = { ...base, placed: true, kind: data.kind, number: data.number ?? base.number, stage, cause: data.cause ?? null,
    mode: data.mode ?? base.mode,
    state, incident_id: data.incident_id ?? base.incident_id, verification_id: data.verification_id ?? base.verification_id,
    since: stage === "answered" && base.state !== "connected" ? Date.now() : base.since };
  if (final) {
    if (stage !== "ended" && fresh) toast(`${data.number ?? ""} · ${stageText(ph.call)}`, stage === "failed" || stage === "unavailable");
    const id = ph.call.id;
    setTimeout(() => { if (ph.call?.id === id && ph.call.state === "ended") { ph.call = null; render(); refresh(); } }, 6000);
  }
  render();
}

export async function dial(number) {
  const r = await post("/api/cti/dial", { number });
  if (!r.ok) {
    ph.call = { id: null, placed: true, kind: "dial", number, stage: "failed", cause: r.data?.detail?.code ?? null,
      state: "ended", since: Date.now() };
    render();
    toast(`${t("phone.dial_failed")}: ${errorText(r)}`, true);
    setTimeout(() => { if (ph.call?.id === null) { ph.call = null; render(); } }, 6000);
    return r;
  }
  if (!ph.call || ph.call.id !== r.data.call_id) {
    ph.call = { id: r.data.call_id, placed: true, kind: "dial", number, stage: "dialing", state: "dialing", since: Date.now() };
  }
  render();
  return r;
}

// ---- recent calls ---------------------------------------------------------------------------

export async function loadRecent() {
  const r = await api("/api/console/recent-calls?limit=6");
  const box = $("#recent-calls");
  if (!r.ok) { box.innerHTML = `<li class="muted">${esc(errorText(r))}</li>`; return; }
  const items = itemsOf(r.data);
  box.innerHTML = items.length ? items.map((c) => `<li data-call="${esc(c.call_id)}">
      <span class="mono">${esc(fmtTime(c.started_at))}</span>
      <b>${esc(c.direction === "outbound" ? c.called_number : c.caller_number)}</b>
      <span>${esc(t(`outcome.${c.outcome}`))}</span>
      ${c.disposition ? `<span class="disp">${esc(choiceName("disposition", c.disposition))}</span>` : ""}
    </li>`).join("") : `<li class="muted">${esc(t("common.none"))}</li>`;
}

// ---- controls ------------------------------------------------------------------------------

async function act(promise, okText) {
  const r = await promise;
  if (!r.ok) toast(errorText(r), true);
  else if (okText) toast(okText);
  await refresh();
  return r;
}

let targetsFor = "";
async function loadTargets() {
  const r = await api("/api/console/transfer-targets");
  if (!r.ok) return;
  const key = JSON.stringify(r.data);
  if (key === targetsFor) return;
  targetsFor = key;
  const sel = $("#transfer-target");
  const was = sel.value;
  const agents = r.data.agents.map((a) => `<option value="agent:${esc(a.extension)}">${esc(a.name)} · ${esc(a.extension)} · ${esc(t(`state.${a.state}`))}</option>`).join("");
  const queues = r.data.queues.filter((q) => q.exten).map((q) => `<option value="queue:${esc(q.name)}">${esc(q.name)} (${esc(q.exten)})</option>`).join("");
  sel.innerHTML = `<option value="">${esc(t("phone.pick_target"))}</option>
    ${agents ? `<optgroup label="${esc(t("phone.t_agents"))}">${agents}</optgroup>` : ""}
    ${queues ? `<optgroup label="${esc(t("phone.t_queues"))}">${queues}</optgroup>` : ""}
    <option value="number:">${esc(t("phone.t_number"))}</option>`;
  if ([...sel.options].some((o) => o.value === was)) sel.value = was;
}

function wire() {
  $("#queue-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const queues = $$('input[name="queue"]:checked', ev.target).map((x) => x.value);
    boxesFor = "";
    act(post("/api/cti/login", { queues: queues.length ? queues : null }));
  });
  panel().addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.type === "submit") return;
    const a = b.dataset.action;
    const d = ph.driver;
    if (a === "leave") { boxesFor = ""; act(post("/api/cti/logout")); }
    else if (a === "ready") act(post("/api/cti/unpause"));
    else if (a === "pause") act(post("/api/cti/pause", { reason: $("#pause-reason").value || null }));
    else if (a === "answer" && d) act(d.answer());
    else if (a === "hangup" && d) act(d.hangup());
    else if (a === "hold" && d) act(d.hold(b.dataset.held !== "1"));
    else if (a === "mute" && d) { ph.muted = !ph.muted; act(d.mute(ph.muted)); }
    else if (a === "park") act(post("/api/cti/park"), t("phone.parked_ok"));
  });
  $("#transfer-target").addEventListener("change", (ev) => {
    const other = ev.target.value === "number:";
    $("#transfer-form .transfer-number").hidden = !other;
    if (other) $("#transfer-form input[name=exten]").focus();
  });
  $("#transfer-target").addEventListener("focus", loadTargets);
  $("#transfer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const [kind, value] = String(f.get("target") || "").split(/:(.*)/s);
    const target = kind === "number" ? String(f.get("exten") || "").trim() : value;
    if (!kind || !target) { toast(t("phone.pick_target"), true); return; }
    const how = ev.submitter?.value || "blind";
    const label = ev.target.querySelector(`option[value="${CSS.escape(`${kind}:${value}`)}"]`)?.textContent || target;
    if (how === "conference") {
      act(post("/api/console/phone/conference", { kind, target }), `${t("phone.conference")} + ${label}`).then((r) => {
        // the room's members change with no event of the user's own: follow them for a while
        if (!r.ok) return;
        let n = 0;
        const id = setInterval(() => { n += 1; if (n > 30 || !ph.call) clearInterval(id); else refresh(); }, 1000);
      });
    }
    else act(post("/api/console/phone/transfer", { kind, target, attended: how === "attended" }), `${t("phone.transfer")} → ${label}`);
  });
  $("#parked-list").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-space]");
    if (b) act(post("/api/cti/retrieve", { space: b.dataset.space }));
  });
  $("#dial-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const number = String(new FormData(ev.target).get("number") || "").trim();
    if (number) dial(number);
  });
  panel().addEventListener("click", (ev) => {
    const k = ev.target.closest("button[data-dtmf]");
    if (k && ph.driver) ph.driver.dtmf(k.dataset.dtmf).then((r) => { if (!r.ok) toast(errorText(r), true); });
  });
  $("#wrapup-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const callId = ev.target.dataset.call;
    const r = await post(`/api/console/calls/${encodeURIComponent(callId)}/disposition`,
      { disposition: String(f.get("disposition") || ""), note: String(f.get("note") || "").trim() || null });
    toast(r.ok ? t("wrapup.saved") : errorText(r), !r.ok);
    if (r.ok) { disposed.add(callId); ev.target.reset(); ph.wrapup = null; render(); loadRecent(); }
  });
  // Click-to-dial on every number shown anywhere in the console.
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a[data-dial]");
    if (!link) return;
    ev.preventDefault();
    dial(link.dataset.dial);
  });
}

export function startPhone() {
  if (!panel()) return;
  wire();
  setInterval(tick, 1000);
  document.addEventListener("vigil:choices", () => render());
  live.snapshot(refresh);
  live.snapshot(loadRecent);
  live.snapshot(loadTargets);
  live.on((topic, data) => {
    if (topic === "agent.state" && !isMine(data)) {
      clearTimeout(loadTargets.timer);
      loadTargets.timer = setTimeout(loadTargets, 1000);
    }
    if (topic.startsWith("spy.") && Number(data.supervisor_user_id) === Number(me.id) && ph.call?.kind === "spy") {
      ph.call.mode = data.mode;  // listen, whisper or barge: what this supervisor's call does now
      render();
      return;
    }
    if (!isMine(data)) return;
    if (topic === "agent.state") { setAgent(data); render(); refresh(); }
    else if (topic === "screenpop") {
      touched += 1;
      if (!ph.call || ph.call.state === "ended") {
        ph.call = { id: data.call_id, since: Date.now(), number: data.caller_number, name: data.account?.name ?? data.caller_name,
          state: data.direction === "outbound" ? "dialing" : "ringing", kind: data.direction === "outbound" ? "verification" : "queue" };
      }
      if (data.direction !== "outbound") ph.wrapup = null;  // a new call: the last one's prompt goes
      renderPop(data);
      render();
    } else if (topic === "screenpop.detail") {
      if (popCallId() === data.call_id) renderPop(data);
    } else if (topic === "call.progress") progressed(data);
    else if (topic === "call.ended") {
      // about one call only: the one it names (a call this user only rang on may end while
      // the user is busy on another)
      if (ph.call && !ph.call.placed && ph.call.id === data.call_id) ph.call = null;
      if (popCallId() === data.call_id) clearPop();
      loadRecent();
      refresh();
    } else if (topic.startsWith("call.")) refresh();
  });
  window.vigil.phone = ph;
}
