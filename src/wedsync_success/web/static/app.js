// WedSync Success dashboard: charts and live updates. No framework; progressive enhancement:
// every page is complete without this script, which only draws charts and applies live events.
"use strict";

const RISK_LABELS = { healthy: "Healthy", watch: "Watch", at_risk: "At risk", critical: "Critical", onboarding: "Onboarding" };
const EVENT_LABELS = {
  "supplier.health_improved": "Health improved",
  "supplier.health_declined": "Health declined",
  "supplier.risk_level_changed": "Risk level changed",
  "supplier.milestone_achieved": "Milestone achieved",
  "supplier.success_champion": "Success champion",
};
const COLORS = { ink: "#2f3a2b", sage: "#5b6b4f", rose: "#b4585e", gold: "#c08a2d", grid: "#e7e3da" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function summary(event) {
  const p = event.payload || {};
  switch (event.type) {
    case "supplier.milestone_achieved": return `Reached “${p.name || p.milestone}”`;
    case "supplier.risk_level_changed":
      return `${RISK_LABELS[p.previous_risk_level] || "—"} → ${RISK_LABELS[p.risk_level] || p.risk_level} (score ${p.score})`;
    case "supplier.health_improved":
    case "supplier.health_declined": return `Score ${p.previous_score} → ${p.score}`;
    case "supplier.success_champion": return `Score reached ${p.score}`;
    default: return "";
  }
}

function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString("en-GB", { day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" }) + " UTC";
}

// ---- charts -------------------------------------------------------------------------------
function baseOptions(extra = {}) {
  return {
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { display: false } },
    scales: { x: { grid: { display: false } }, y: { grid: { color: COLORS.grid }, beginAtZero: true } },
    ...extra,
  };
}

function drawOverviewCharts() {
  const data = readJson("overview-data");
  if (!data || !window.Chart) return;
  new Chart(document.getElementById("chart-health"), {
    type: "bar",
    data: { labels: data.healthLabels.map((low) => `${low}–${low + 10}`),
            datasets: [{ data: data.health, backgroundColor: data.healthLabels.map((low) =>
              low >= 70 ? COLORS.sage : low >= 50 ? COLORS.gold : COLORS.rose) }] },
    options: baseOptions(),
  });
  new Chart(document.getElementById("chart-churn"), {
    type: "line",
    data: { labels: data.churnMonths.map((m) => m.slice(0, 7)),
            datasets: [{ data: data.churnRates.map((r) => (r === null ? null : r * 100)),
                         borderColor: COLORS.rose, backgroundColor: COLORS.rose, tension: 0.25 }] },
    options: baseOptions({ scales: { x: { grid: { display: false } },
      y: { grid: { color: COLORS.grid }, beginAtZero: true, ticks: { callback: (v) => `${v}%` } } } }),
  });
  new Chart(document.getElementById("chart-at-risk"), {
    type: "bar",
    data: { labels: data.atRiskWeeks.map((w) => w.slice(5)),
            datasets: [{ data: data.atRiskCounts, backgroundColor: COLORS.gold }] },
    options: baseOptions(),
  });
}

function drawProfileChart() {
  const data = readJson("profile-data");
  const canvas = document.getElementById("chart-history");
  if (!data || !canvas || !window.Chart) return;
  new Chart(canvas, {
    type: "line",
    data: { labels: data.history.map((p) => p.as_of),
            datasets: [{ data: data.history.map((p) => p.score), borderColor: COLORS.sage,
                         backgroundColor: "rgba(91,107,79,.12)", fill: true, tension: 0.2, pointRadius: 0 }] },
    options: baseOptions({ scales: { x: { grid: { display: false }, ticks: { maxTicksLimit: 8 } },
                                     y: { min: 0, max: 100, grid: { color: COLORS.grid } } } }),
  });
}

// Enrolments per week by arm, one chart per playbook (data in a JSON block named by the canvas).
function drawPlaybookCharts() {
  if (!window.Chart) return;
  for (const canvas of document.querySelectorAll("canvas[data-weekly]")) {
    const data = readJson(canvas.dataset.weekly);
    if (!data) continue;
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.weeks.map((w) => w.slice(5)),
              datasets: [
                { label: "Treated", data: data.treatment, backgroundColor: COLORS.sage, stack: "arms" },
                { label: "Control", data: data.control, backgroundColor: COLORS.gold, stack: "arms" },
              ] },
      options: baseOptions({ plugins: { legend: { display: true, position: "bottom" } },
        scales: { x: { stacked: true, grid: { display: false } },
                  y: { stacked: true, beginAtZero: true, grid: { color: COLORS.grid }, ticks: { precision: 0 } } } }),
    });
  }
}

// ---- live updates -------------------------------------------------------------------------
function toast(text) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: "toast" }, text);
  box.prepend(item);
  setTimeout(() => item.remove(), 6000);
}

// The supplier's name (the stream sends it) linking to their profile.
function supplierLink(event) {
  if (!event.supplier_id) return "";
  return el("a", { href: `/suppliers/${event.supplier_id}` }, event.supplier_name || "Unknown supplier");
}

function applyToOverview(event) {
  const feed = document.getElementById("event-feed");
  if (!feed) return;
  const link = supplierLink(event);
  feed.prepend(el("li", { class: "event-row fresh", "data-type": event.type },
    el("span", { class: "event-type" }, EVENT_LABELS[event.type] || event.type), " ",
    el("span", {}, summary(event)), " ", link, " ",
    el("time", { class: "muted small" }, when(event.occurred_at))));
  while (feed.children.length > 12) feed.lastElementChild.remove();
  if (event.type === "supplier.milestone_achieved") {
    const kpi = document.querySelector('[data-kpi="milestones-week"]');
    if (kpi) kpi.textContent = String(Number(kpi.textContent) + 1);
  }
}

function applyToEvents(event) {
  const table = document.getElementById("events-table");
  if (!table) return;
  const wantType = table.dataset.filterType;
  const wantSuppliers = table.dataset.filterOn ? table.dataset.filterSuppliers.split(" ") : null;
  if (wantType && wantType !== event.type) return;
  if (wantSuppliers && !wantSuppliers.includes(event.supplier_id)) return;
  const link = supplierLink(event);
  table.tBodies[0].prepend(el("tr", { class: "fresh" },
    el("td", {}, el("time", {}, when(event.occurred_at))),
    el("td", {}, el("span", { class: "event-type" }, EVENT_LABELS[event.type] || event.type)),
    el("td", {}, summary(event)), el("td", {}, link)));
}

function applyToProfile(event) {
  const head = document.querySelector("[data-supplier-page]");
  if (!head || head.dataset.supplierPage !== event.supplier_id) return;
  const p = event.payload || {};
  if (event.type === "supplier.milestone_achieved") {
    const card = document.querySelector(`[data-milestone="${CSS.escape(p.milestone)}"]`);
    if (card && !card.classList.contains("achieved")) {
      card.classList.replace("pending", "achieved");
      card.classList.add("fresh");
      const status = card.querySelector(".milestone-status");
      const days = p.days_to_achieve == null ? "" : ` · ${Math.round(p.days_to_achieve)} days after signup`;
      status.replaceChildren(el("span", { "aria-hidden": "true" }, "✓"), ` ${when(p.achieved_at).slice(0, 11)}${days}`);
    }
  }
  if (p.score !== undefined && event.type !== "supplier.milestone_achieved") {
    const score = document.getElementById("health-score");
    if (score) score.textContent = String(Math.round(p.score));
    const badge = document.querySelector("#risk-badge .badge");
    if (badge && p.risk_level) {
      badge.className = `badge risk-${p.risk_level}`;
      badge.textContent = RISK_LABELS[p.risk_level] || p.risk_level;
    }
    // Out of onboarding: its progress no longer stands in for the band.
    const onboarding = document.getElementById("onboarding-progress");
    if (onboarding && p.risk_level && p.risk_level !== "onboarding") onboarding.hidden = true;
  }
  const timeline = document.getElementById("timeline");
  if (timeline) {
    timeline.prepend(el("li", { class: "timeline-item success fresh" },
      el("time", {}, when(event.occurred_at)), " ",
      el("strong", {}, EVENT_LABELS[event.type] || event.type), " ",
      el("span", { class: "muted" }, summary(event))));
  }
}

// Segments: a member count moves with each entry or exit, and a segment's page lists it.
function applyToSegments(event) {
  if (event.type !== "segment.entered" && event.type !== "segment.exited") return;
  const key = (event.payload || {}).segment_key;
  if (!key) return;
  const entered = event.type === "segment.entered";
  for (const cell of document.querySelectorAll(`[data-segment-members="${CSS.escape(key)}"]`)) {
    const count = Number(cell.textContent.replace(/,/g, "")) + (entered ? 1 : -1);
    cell.textContent = Math.max(0, count).toLocaleString("en-GB");
    cell.classList.add("fresh");
  }
  const head = document.querySelector("[data-segment-page]");
  const table = document.getElementById("segment-changes");
  if (!head || head.dataset.segmentPage !== key || !table) return;
  table.hidden = false;
  document.getElementById("segment-changes-empty")?.remove();
  table.tBodies[0].prepend(el("tr", { class: "fresh" },
    el("td", {}, el("time", {}, when(event.occurred_at))),
    el("td", {}, supplierLink(event)),
    el("td", {}, el("span", { class: `badge ${entered ? "status-good" : "status-quiet"}` }, entered ? "Entered" : "Exited"))));
  while (table.tBodies[0].rows.length > 20) table.tBodies[0].lastElementChild.remove();
}

function connectLive() {
  const url = document.body.dataset.live;
  const indicator = document.getElementById("live-indicator");
  if (!url || !indicator || !window.EventSource) return;
  const text = indicator.querySelector(".live-text");
  const setState = (state, label) => { indicator.dataset.state = state; text.textContent = label; };
  const source = new EventSource(url);  // reconnects by itself, resuming from Last-Event-ID
  source.addEventListener("ready", () => setState("live", "Live"));
  source.addEventListener("open", () => setState("live", "Live"));
  source.addEventListener("error", () => setState("reconnecting", "Reconnecting…"));
  source.addEventListener("success", (message) => {
    const event = JSON.parse(message.data);
    applyToOverview(event);
    applyToEvents(event);
    applyToProfile(event);
    applyToSegments(event);
    if (event.type === "supplier.milestone_achieved" || event.type === "supplier.risk_level_changed") {
      toast(`${EVENT_LABELS[event.type]}: ${summary(event)}`);
    }
  });
  window.addEventListener("beforeunload", () => source.close());
}

// ---- supplier search: the top bar's combobox (ARIA 1.2 pattern, list autocomplete) --------
// Picking a suggestion opens the supplier, or, for a field with data-suggest-fill (the
// events filter), fills the name and the hidden supplier id and submits the form.
function wireSearch(input) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  if (!list) return;
  const status = document.getElementById("topbar-suggest-status");
  const fill = input.dataset.suggestFill && document.getElementById(input.dataset.suggestFill);
  const pick = (item) => {
    if (!fill) { window.location.assign(item.url); return; }
    input.value = item.business_name;
    fill.value = item.id; fill.disabled = false;
    close();
    input.form.requestSubmit();
  };
  let items = [], active = -1, pending = null, asked = 0;
  const close = () => {
    list.hidden = true; input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant"); active = -1;
  };
  const highlight = (index) => {
    active = index;
    list.querySelectorAll("[role=option]").forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) input.setAttribute("aria-activedescendant", `${list.id}-${index}`);
    else input.removeAttribute("aria-activedescendant");
  };
  const show = (query, found) => {
    items = found;
    list.replaceChildren(...found.map((item, i) => el("li", { role: "option", id: `${list.id}-${i}`, "aria-selected": "false", "data-index": String(i) },
      el("span", {}, item.business_name),
      el("span", { class: "suggestion-meta" }, item.risk_label ? `${item.vendor_type} · ${item.risk_label}` : item.vendor_type))));
    if (!found.length) list.append(el("li", { class: "suggestion-empty", role: "presentation" }, `No supplier is called “${query}”`));
    list.hidden = false; input.setAttribute("aria-expanded", "true"); active = -1;
    if (status) status.textContent = found.length ? `${found.length} suppliers found; arrow keys to choose` : "No supplier found";
  };
  const ask = async () => {
    const query = input.value.trim();
    if (!query) { close(); return; }
    const ticket = ++asked;
    try {
      const response = await fetch(`${input.dataset.suggest}?q=${encodeURIComponent(query)}`, { headers: { Accept: "application/json" } });
      if (!response.ok || ticket !== asked) return;
      show(query, (await response.json()).items);
    } catch (_) { /* offline: the form still submits to the results page */ }
  };
  input.addEventListener("input", () => {
    if (fill) { fill.value = ""; fill.disabled = true; }  // a new name, not the supplier picked
    clearTimeout(pending); pending = setTimeout(ask, 120);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (list.hidden) { ask(); return; }
      e.preventDefault();
      if (!items.length) return;
      let next = active + (e.key === "ArrowDown" ? 1 : -1);  // -1: back in the input
      if (next >= items.length) next = -1;
      if (next < -1) next = items.length - 1;
      highlight(next);
    } else if (e.key === "Enter" && !list.hidden && active >= 0) {
      e.preventDefault(); pick(items[active]);
    } else if (e.key === "Escape") {
      if (!list.hidden) { e.preventDefault(); close(); } else { input.value = ""; }
    }
  });
  list.addEventListener("mousedown", (e) => e.preventDefault());  // keep focus in the input
  list.addEventListener("click", (e) => {
    const option = e.target.closest("[role=option]");
    if (option) pick(items[Number(option.dataset.index)]);
  });
  input.addEventListener("blur", close);
}

// "Go back" links go to the previous page when there is one (their href is the fallback).
function wireBackLinks() {
  for (const link of document.querySelectorAll("a[data-back]")) {
    link.addEventListener("click", (e) => {
      if (window.history.length > 1) { e.preventDefault(); window.history.back(); }
    });
  }
}

// The suppliers list's header box ticks or clears every supplier on the page.
function wirePickAll() {
  const all = document.querySelector("input[data-pick-all]");
  if (!all) return;
  const boxes = () => document.querySelectorAll('input[name="supplier_id"][form="bulk-owner"]');
  all.addEventListener("change", () => { for (const box of boxes()) box.checked = all.checked; });
}

document.addEventListener("DOMContentLoaded", () => {
  wireBackLinks();
  wirePickAll();
  document.querySelectorAll("input[data-suggest]").forEach(wireSearch);
  drawOverviewCharts();
  drawProfileChart();
  drawPlaybookCharts();
  connectLive();
});
