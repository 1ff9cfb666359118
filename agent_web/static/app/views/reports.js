// Reports (supervisors): charts with Chart.js and CSV of the same figures, the monthly
// subscriber summary, printable.
import { api, errorText, itemsOf } from "../core/api.js";
import { csvText } from "../core/csv.js";
import { choiceName } from "../core/choices.js";
import { $ } from "../core/dom.js";
import { esc } from "../core/format.js";
import { named, t } from "../core/i18n.js";

let chartLib = null;
function loadChart() {
  chartLib = chartLib || new Promise((resolve) => {
    if (window.Chart) { resolve(window.Chart); return; }
    const el = document.createElement("script");
    el.src = "/static/vendor/chart.umd.min.js";
    el.onload = () => resolve(window.Chart);
    el.onerror = () => resolve(null);
    document.head.append(el);
  });
  return chartLib;
}

function csvDownload(name, rows) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob(["\ufeff" + csvText(rows)], { type: "text/csv;charset=utf-8" }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const CHART_COLOURS = ["#4c9aff", "#3ecf8e", "#ff9f43", "#ff5b5b", "#b18cff", "#f5d547", "#5ad1d1", "#8e9aaa"];
const pctOf = (v) => (v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 10);
const round1 = (v) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);

function hourLabel(iso, days) {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${d.getMonth() + 1}-${pad(d.getDate())}`;
  return days <= 1 ? `${pad(d.getHours())}:00` : `${day} ${pad(d.getHours())}:00`;
}

const dayLabel = (iso) => { const d = new Date(iso); return Number.isFinite(d.getTime()) ? `${d.getMonth() + 1}-${String(d.getDate()).padStart(2, "0")}` : String(iso); };

// Each report: where its figures come from, and how they become a table (head + rows, the CSV)
// and a chart (labels + datasets). Field names are those of cti.stats and alarms.stats.
function reportDefs(days) {
  const since = encodeURIComponent(new Date(Date.now() - days * 86400e3).toISOString());
  const slInterval = days <= 1 ? 3600 : 86400;
  const accountNames = new Map();
  return [
    { id: "calls-hour", url: `/api/stats/calls?group=interval&interval=3600&since=${since}`, type: "bar",
      build: (d) => {
        const rows = Object.entries(d.groups || {}).map(([k, v]) => [k, v.offered, v.answered, v.abandoned]);
        return { head: ["hour", "offered", "answered", "abandoned"], rows,
          labels: rows.map((r) => hourLabel(r[0], days)),
          datasets: [["rep.offered", 1], ["rep.answered", 2], ["rep.abandoned", 3]].map(([k, i]) => ({ label: t(k), data: rows.map((r) => r[i]) })) };
      } },
    { id: "sl-time", url: `/api/stats/calls?group=interval&interval=${slInterval}&since=${since}`, type: "line",
      build: (d) => {
        const rows = Object.entries(d.groups || {}).map(([k, v]) => [k, pctOf(v.service_level), v.offered, round1(v.asa_seconds)]);
        const thr = d.settings?.threshold_seconds;
        return { head: ["interval", "service_level_pct", "offered", "asa_seconds"], rows, yMax: 100,
          labels: rows.map((r) => (slInterval === 3600 ? hourLabel(r[0], 1) : dayLabel(r[0]))),
          datasets: [{ label: `${t("rep.sl")} (% ≤ ${thr ?? "?"} s)`, data: rows.map((r) => r[1]) }] };
      } },
    { id: "aht-agent", url: `/api/stats/calls?group=agent&since=${since}`, type: "bar",
      build: (d) => {
        const rows = Object.entries(d.groups || {}).map(([k, v]) => [k, round1(v.aht_seconds), v.answered]);
        return { head: ["agent", "aht_seconds", "answered"], rows, labels: rows.map((r) => r[0]),
          datasets: [{ label: t("rep.aht_s"), data: rows.map((r) => r[1]) }] };
      } },
    { id: "alarms-day", url: `/api/console/reports/alarms-per-day?days=${Math.max(days, 1)}`, type: "bar", stacked: true,
      build: (d) => {
        const by = new Map((d.items || []).map((r) => [`${r.day}|${r.class}`, r.count]));
        const rows = (d.items || []).map((r) => [r.day, r.class, r.count]);
        return { head: ["day", "class", "count"], rows, labels: (d.days || []).map(dayLabel),
          datasets: (d.classes || []).map((c) => ({ label: named("class", c), data: (d.days || []).map((day) => by.get(`${day}|${c}`) || 0) })) };
      } },
    { id: "false-account", url: `/api/alarm-stats/false-alarms?by=account&days=${Math.max(days, 1)}`, type: "bar", horizontal: true,
      build: async (d) => {
        const items = itemsOf(d).filter((r) => r.false_alarms > 0).slice(0, 20);
        await Promise.all(items.filter((r) => !accountNames.has(r.account_id)).map(async (r) => {
          const a = await api(`/api/accounts/${r.account_id}`);
          accountNames.set(r.account_id, a.ok ? `${a.data.number} ${a.data.name}` : `#${r.account_id}`);
        }));
        const rows = items.map((r) => [accountNames.get(r.account_id), r.false_alarms, r.alarms, pctOf(r.rate)]);
        return { head: ["account", "false_alarms", "alarms", "false_rate_pct"], rows, labels: rows.map((r) => r[0]),
          datasets: [{ label: t("rep.false_alarms"), data: rows.map((r) => r[1]) }] };
      } },
    { id: "false-model", url: `/api/alarm-stats/false-alarms?by=device_model&days=${Math.max(days, 1)}`, type: "bar", horizontal: true,
      build: (d) => {
        const rows = itemsOf(d).filter((r) => r.false_alarms > 0).slice(0, 20).map((r) => [r.device_model, r.false_alarms, r.alarms, pctOf(r.rate)]);
        return { head: ["device_model", "false_alarms", "alarms", "false_rate_pct"], rows, labels: rows.map((r) => r[0]),
          datasets: [{ label: t("rep.false_alarms"), data: rows.map((r) => r[1]) }] };
      } },
    { id: "dispositions", url: `/api/console/reports/dispositions?days=${Math.max(days, 1)}`, type: "bar", horizontal: true,
      build: (d) => {
        const rows = itemsOf(d).map((r) => [r.disposition ? choiceName("disposition", r.disposition) : t("rep.no_disposition"), r.count]);
        return { head: ["disposition", "count"], rows, labels: rows.map((r) => r[0]),
          datasets: [{ label: t("rep.calls"), data: rows.map((r) => r[1]) }] };
      } },
    { id: "handling", url: `/api/alarm-stats/handling?since=${since}`, type: "bar",
      build: (d) => {
        const steps = ["shown", "taken", "first_call", "dispatched", "closed"];
        const rows = d.incidents ? steps.map((s) => [s, d[`to_${s}_s`]]).filter((r) => r[1] !== null && r[1] !== undefined) : [];
        return { head: ["received_to", "mean_seconds"], rows, note: `${t("rep.incidents")}: ${d.incidents ?? 0}`,
          labels: rows.map((r) => `${t("timer.received")} → ${t(`timer.${r[0]}`)}`),
          datasets: [{ label: t("rep.mean_s"), data: rows.map((r) => r[1]) }] };
      } },
  ];
}

const charts = new Map();

async function drawReport(rep) {
  const section = $(`#rep-${rep.id}`);
  const state = section.querySelector(".state");
  const csv = section.querySelector("button.csv");
  section.dataset.state = "loading";
  state.textContent = t("common.loading");
  const r = await api(rep.url);
  charts.get(rep.id)?.destroy();
  charts.delete(rep.id);
  if (!r.ok) {
    state.textContent = r.status === 503 ? t("rep.no_cti") : errorText(r);
    section.dataset.state = "error";
    csv.disabled = true;
    return;
  }
  const out = await rep.build(r.data);
  section.dataset.state = out.rows.length ? "ready" : "empty";
  section.dataset.rows = String(out.rows.length);
  state.textContent = [out.rows.length ? "" : t("rep.no_data"), out.note || ""].filter(Boolean).join(" · ");
  csv.disabled = !out.rows.length;
  const head = out.head.map((h) => t(`rep.col.${h}`));  // the columns in the user's words
  csv.onclick = () => csvDownload(`${rep.id}.csv`, [head, ...out.rows]);
  section.querySelector("thead").innerHTML = `<tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
  section.querySelector("tbody").innerHTML = out.rows.map((row) => `<tr>${row.map((v) => `<td>${esc(v ?? "–")}</td>`).join("")}</tr>`).join("");
  section.querySelector(".chart-box").hidden = !out.rows.length;
  if (!out.rows.length || !window.Chart) return;
  const grid = { color: "#2a3645" };
  const ticks = { color: "#c6d1dc" };
  const chart = new window.Chart(section.querySelector("canvas"), {
    type: rep.type,
    data: { labels: out.labels, datasets: out.datasets.map((ds, i) => ({ ...ds, backgroundColor: CHART_COLOURS[i % CHART_COLOURS.length],
      borderColor: CHART_COLOURS[i % CHART_COLOURS.length], spanGaps: true, tension: 0.2 })) },
    options: { animation: false, maintainAspectRatio: false, indexAxis: rep.horizontal ? "y" : "x",
      plugins: { legend: { display: out.datasets.length > 1 || rep.type === "line", labels: { color: "#eef2f6" } } },
      scales: { x: { stacked: Boolean(rep.stacked), ticks, grid }, y: { stacked: Boolean(rep.stacked), ticks, grid, beginAtZero: true, ...(out.yMax ? { max: out.yMax } : {}) } } },
  });
  charts.set(rep.id, chart);
}

export async function mount(root, s) {
  await loadChart();
  const range = $("#report-range");
  const draw = () => Promise.all(reportDefs(Number(range.elements.days.value)).map(drawReport));
  range.addEventListener("change", draw);
  $("#report-print").addEventListener("click", () => window.print());
  await draw();
  initMonthly();
  window.vigil.reports = { draw };
  s.add(() => { for (const c of charts.values()) c.destroy(); charts.clear(); delete window.vigil.reports; });
}

// The monthly subscriber summary: one account and month, as the subscriber's report says it.
function initMonthly() {
  const form = $("#monthly-form");
  const sheet = $("#monthly-sheet");
  const section = $("#rep-monthly");
  const list = $("#monthly-accounts");
  const found = new Map();
  const now = new Date();
  form.elements.month.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const search = async () => {
    const q = form.elements.account.value.trim();
    const r = await api(`/api/accounts?limit=20${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    if (!r.ok) return;
    list.innerHTML = itemsOf(r.data).map((a) => {
      const label = `${a.number} ${a.name}`;
      found.set(label, a);
      found.set(String(a.number), a);
      return `<option value="${esc(label)}"></option>`;
    }).join("");
  };
  form.elements.account.addEventListener("input", search);
  search();
  const FIELDS = ["alarms", "false_alarms", "real_alarms", "troubles", "openings", "closings", "tests", "signals"];
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = form.elements.account.value.trim();
    if (!found.has(text)) await search();
    const acct = found.get(text) || found.get(text.split(" ")[0]);
    const state = section.querySelector(".state");
    if (!acct) { state.textContent = t("rep.pick_account"); return; }
    const month = form.elements.month.value;
    const r = await api(`/api/alarm-stats/summary/${acct.id}?month=${encodeURIComponent(month)}`);
    if (!r.ok) { state.textContent = errorText(r); section.dataset.state = "error"; return; }
    const d = r.data;
    const kinds = Object.entries(d.incidents_by_kind || {});
    const rows = [...FIELDS.map((f) => [f, d[f]]), ...kinds.map(([k, n]) => [`kind:${k}`, n])];
    state.textContent = "";
    section.dataset.state = "ready";
    sheet.innerHTML = `<h3>${esc(acct.number)} ${esc(acct.name)} · ${esc(month)}</h3>
      <div class="tiles">${FIELDS.map((f) => `<div class="tile"><span class="k">${esc(t(`month.${f}`))}</span><b data-field="${f}">${esc(d[f])}</b></div>`).join("")}</div>
      ${kinds.length ? `<table class="grid small"><thead><tr><th>${esc(t("rep.class"))}</th><th>${esc(t("rep.count"))}</th></tr></thead>
        <tbody>${kinds.map(([k, n]) => `<tr><td>${esc(named("class", k))}</td><td>${esc(n)}</td></tr>`).join("")}</tbody></table>` : ""}`;
    const csv = section.querySelector("button.csv");
    csv.disabled = false;
    csv.onclick = () => csvDownload(`monthly-${acct.number}-${month}.csv`, [[t("rep.col.measure"), t("rep.col.value")], [t("rep.col.account"), acct.number], [t("rep.month"), month], ...rows.map(([k, v]) => [k.startsWith("kind:") ? named("class", k.slice(5)) : t(`month.${k}`), v])]);
    $("#monthly-print").disabled = false;
  });
  $("#monthly-print").addEventListener("click", () => {
    document.body.dataset.print = "monthly";
    window.print();
    setTimeout(() => { delete document.body.dataset.print; }, 500);
  });
}

