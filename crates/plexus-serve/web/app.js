// Plexus web app: search, person and group pages with their timelines. No dependencies;
// every page has its own URL (/person/{id}, /group/{id}, /?q=) and reads the JSON API.
"use strict";

const main = document.getElementById("main");
const input = document.getElementById("q");
const list = document.getElementById("results");

// ---------- helpers ----------
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmtDate = (t) => (t ? new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) : "—");
const fmtTime = (t) => (t ? new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) : "");
const fmtDay = (t) => new Date(t).toLocaleDateString(undefined, { weekday: "short", year: "numeric", month: "long", day: "numeric" });
const num = (v) => (typeof v === "number" ? v.toLocaleString(undefined, { maximumFractionDigits: 2 }) : v ?? "—");
const money = (v, cur) => (typeof v === "number" ? v.toLocaleString(undefined, { style: cur ? "currency" : "decimal", currency: cur || undefined, maximumFractionDigits: 2 }) : "—");
const label = (s) => String(s).replace(/_/g, " ");

function fact(f) {
  if (f.value === null || f.value === undefined) return "—";
  if (f.format === "time") return fmtDate(f.value);
  if (f.format === "days") return `${num(f.value)} d`;
  if (f.format === "currency") return money(f.value);
  return num(f.value);
}

async function api(path) {
  const headers = {};
  const token = localStorage.getItem("plexusToken");
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers });
  if (res.status === 401) {
    const t = prompt("This Plexus server needs its API token:");
    if (t) { localStorage.setItem("plexusToken", t); return api(path); }
  }
  const body = await res.json().catch(() => ({ error: { message: `HTTP ${res.status}` } }));
  if (!res.ok) throw new Error(body.error?.message || `HTTP ${res.status}`);
  return body;
}

function showError(e) {
  main.innerHTML = `<div class="error" role="alert">${esc(e.message || e)}</div>`;
}

// An icon per event type, coloured per source.
const ICONS = {
  mail: '<path d="M4 6h16v12H4z"/><path d="m4 7 8 6 8-6"/>',
  ticket: '<path d="M4 8a2 2 0 0 0 0 4v4h16v-4a2 2 0 0 1 0-4V4H4z"/>',
  card: '<rect x="3" y="6" width="18" height="12" rx="2"/><path d="M3 10h18"/>',
  alert: '<path d="M12 4 2 20h20z"/><path d="M12 10v4M12 17v.5"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4 20c1-4 4-6 8-6s7 2 8 6"/>',
  chart: '<path d="M4 20V10M10 20V4M16 20v-7M22 20H2"/>',
  globe: '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18"/>',
  key: '<circle cx="8" cy="14" r="4"/><path d="m11 11 9-9M17 5l3 3"/>',
  star: '<path d="m12 3 3 6 6 1-4.5 4 1 6-5.5-3-5.5 3 1-6L3 10l6-1z"/>',
  dot: '<circle cx="12" cy="12" r="4"/>',
};
function iconFor(name) {
  const n = name || "";
  if (/email|mail|message/.test(n)) return ICONS.mail;
  if (/ticket|support/.test(n)) return ICONS.ticket;
  if (/fail|error|refund|cancel/.test(n)) return ICONS.alert;
  if (/invoice|payment|paid|charge|order|subscription/.test(n)) return ICONS.card;
  if (/sign|lead|creat.*account|identify/.test(n)) return ICONS.user;
  if (/login|session/.test(n)) return ICONS.key;
  if (/report|dashboard|chart/.test(n)) return ICONS.chart;
  if (/page|view|visit|web/.test(n)) return ICONS.globe;
  if (/share|star/.test(n)) return ICONS.star;
  return ICONS.dot;
}
const PALETTE = ["#3056d3", "#0e9384", "#c11574", "#dc6803", "#6938ef", "#15803d", "#b42318", "#475467", "#0086c9", "#ba24d5"];
function colorFor(source) {
  let h = 0;
  for (const c of String(source)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

// ---------- routing ----------
function go(path) {
  history.pushState(null, "", path);
  route();
}
document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-link]");
  if (a && !e.metaKey && !e.ctrlKey && a.origin === location.origin) {
    e.preventDefault();
    go(a.getAttribute("href"));
  }
});
window.addEventListener("popstate", route);

async function route() {
  list.hidden = true;
  const path = decodeURIComponent(location.pathname);
  const m = path.match(/^\/(person|group)\/(.+)$/);
  try {
    if (m) await (m[1] === "person" ? personPage(m[2]) : groupPage(m[2]));
    else await homePage(new URLSearchParams(location.search).get("q"));
  } catch (e) {
    showError(e);
  }
}

// ---------- search ----------
let searchSeq = 0;
let active = -1;
let current = [];
const link = (r) => `/${r.type}/${encodeURIComponent(r.id)}`;

async function suggest() {
  const q = input.value.trim();
  const seq = ++searchSeq;
  if (!q) { list.hidden = true; return; }
  try {
    const body = await api(`/api/search?limit=8&q=${encodeURIComponent(q)}`);
    if (seq !== searchSeq) return; // a newer query is on its way
    current = body.results;
    active = current.length ? 0 : -1;
    renderSuggestions();
  } catch (e) {
    list.innerHTML = `<li class="muted">${esc(e.message)}</li>`;
    list.hidden = false;
  }
}
function renderSuggestions() {
  if (!current.length) {
    list.innerHTML = `<li class="muted">No match</li>`;
  } else {
    list.innerHTML = current.map((r, i) => `<li role="option" data-i="${i}" class="${i === active ? "active" : ""}">
      <span class="kind">${esc(r.type === "group" ? r.group_type : "person")}</span>
      <span>${esc(r.name || r.subtitle || r.id)}</span>
      <span class="sub">${esc(r.matched?.value || r.subtitle || "")}</span></li>`).join("");
  }
  list.hidden = false;
}
let timer;
input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 90); });
input.addEventListener("keydown", (e) => {
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    if (!current.length) return;
    e.preventDefault();
    active = (active + (e.key === "ArrowDown" ? 1 : current.length - 1)) % current.length;
    renderSuggestions();
  } else if (e.key === "Enter") {
    e.preventDefault();
    if (active >= 0 && current[active]) go(link(current[active]));
    else go(`/?q=${encodeURIComponent(input.value.trim())}`);
    input.blur();
  } else if (e.key === "Escape") {
    list.hidden = true;
  }
});
list.addEventListener("mousedown", (e) => {
  const li = e.target.closest("li[data-i]");
  if (li) { e.preventDefault(); go(link(current[+li.dataset.i])); }
});
input.addEventListener("blur", () => setTimeout(() => (list.hidden = true), 150));

// ---------- pages ----------
async function homePage(q) {
  document.title = "Plexus";
  const health = await fetch("/api/health", { headers: localStorage.getItem("plexusToken") ? { Authorization: `Bearer ${localStorage.getItem("plexusToken")}` } : {} })
    .then((r) => r.json()).catch(() => null);
  if (!health || health.status !== "ok") {
    showError(new Error(health?.error?.message || "The server cannot be reached."));
    return;
  }
  const w = health.warehouse;
  let html = `<div class="card"><h2>Warehouse</h2><p>${num(w.persons)} persons, ${num(w.groups)} groups, ${num(w.timeline_rows)} timeline entries.
    Built ${esc(fmtDate(w.built_at))} ${esc(fmtTime(w.built_at))}.</p></div>`;
  if (q) {
    input.value = q;
    const body = await api(`/api/search?limit=50&q=${encodeURIComponent(q)}`);
    html = `<div class="card"><h2>Results for “${esc(q)}”</h2>${body.results.length ? `<table><tr><th>Name</th><th>Kind</th><th>Matched</th><th class="hide-narrow">Last seen</th></tr>
      ${body.results.map((r) => `<tr><td><a data-link href="${link(r)}">${esc(r.name || r.subtitle || r.id)}</a></td><td>${esc(r.type === "group" ? r.group_type : "person")}</td>
      <td>${esc(r.matched?.value)}</td><td class="hide-narrow">${fmtDate(r.last_seen)}</td></tr>`).join("")}</table>` : `<p class="muted">No match.</p>`}</div>` + html;
  }
  const sources = await api("/api/sources");
  html += `<div class="card"><h2>Sources</h2><table><tr><th>Source</th><th class="num">Rows loaded</th><th class="num">Rejected</th></tr>
    ${sources.sources.map((s) => `<tr><td><span class="chip"><span class="dot" style="background:${colorFor(s.name)}"></span>${esc(s.name)}</span></td>
    <td class="num">${num(s.rows_loaded)}</td><td class="num">${num(s.rows_rejected)}</td></tr>`).join("")}</table></div>`;
  main.innerHTML = html;
}

function factsHtml(facts, keys) {
  const shown = keys ? facts.filter((f) => keys.includes(f.name)) : facts;
  return `<div class="facts">${shown.map((f) => `<div class="fact" title="${esc(f.description || "")}"><div class="v">${esc(fact(f))}</div><div class="k">${esc(label(f.name))}</div></div>`).join("")}</div>`;
}
function traitsHtml(traits) {
  if (!traits.length) return `<p class="muted">No traits.</p>`;
  return `<dl class="traits">${traits.map((t) => `<dt>${esc(label(t.name))}</dt><dd>${esc(t.value)}
    <div class="src">${esc(t.source)} · ${esc(fmtDate(t.observed_at))} · ${esc(label(t.rule))}</div></dd>`).join("")}</dl>`;
}
function identifiersHtml(ids) {
  return `<table><tr><th>Type</th><th>Value</th><th class="hide-narrow">Last seen</th></tr>${ids.map((i) => `<tr><td>${esc(label(i.type))}</td>
    <td>${esc(i.value)} ${i.is_anchor ? '<span class="badge">anchor</span>' : ""}${i.status === "quarantined" ? '<span class="badge warn">shared</span>' : ""}</td>
    <td class="hide-narrow">${fmtDate(i.last_seen)}</td></tr>`).join("")}</table>`;
}
const KEY_FACTS = ["revenue", "last_seen", "events", "days_since_last_seen", "tickets", "logins"];

async function personPage(id) {
  const p = await api(`/api/persons/${encodeURIComponent(id)}`);
  if (p.id !== id) history.replaceState(null, "", `/person/${encodeURIComponent(p.id)}`);
  document.title = `${p.name || p.email || p.id} · Plexus`;
  const companies = p.groups.map((g) => `<a class="chip" data-link href="/group/${encodeURIComponent(g.id)}">${esc(g.group_type)}: ${esc(g.name || g.subtitle)}${g.member_role ? ` <span class="muted">· ${esc(g.member_role)}</span>` : ""}</a>`).join("");
  main.innerHTML = `<div class="card profile-head"><h1>${esc(p.name || p.email || p.id)}</h1>
    <div class="sub">${esc(p.email || "")} · first seen ${fmtDate(p.first_seen)} · ${esc(p.id)}</div>
    <div class="chips">${companies}</div>${factsHtml(p.facts, KEY_FACTS)}</div>
    <div class="layout"><div class="card"><h2>Timeline</h2><div id="timeline"></div></div>
    <div><div class="card"><h2>Facts</h2>${factsHtml(p.facts)}</div>
    <div class="card"><h2>Traits</h2>${traitsHtml(p.traits)}</div>
    <div class="card"><h2>Identifiers</h2>${identifiersHtml(p.identifiers)}</div></div></div>`;
  await timeline(document.getElementById("timeline"), `/api/persons/${encodeURIComponent(p.id)}/timeline`, p.id, p.sources);
}

async function groupPage(id) {
  const g = await api(`/api/groups/${encodeURIComponent(id)}`);
  document.title = `${g.name || g.key} · Plexus`;
  const power = g.power_users.map((u) => `<tr><td>${esc(label(u.kind))}</td><td><a data-link href="/person/${encodeURIComponent(u.person.id)}">${esc(u.person.name || u.person.id)}</a></td>
    <td class="num">${u.value === null ? fmtDate(u.member_since) : num(u.value)}</td></tr>`).join("");
  // The role column only where the mapping gives roles (workspaces, not email domains).
  const roles = g.members.some((m) => m.member_role);
  const members = g.members.map((m) => `<tr><td><a data-link href="/person/${encodeURIComponent(m.id)}">${esc(m.name || m.subtitle || m.id)}</a>
    ${m.power.map((k) => `<span class="badge">${esc(label(k))}</span>`).join("")}${m.name && m.subtitle ? `<div class="sub-line">${esc(m.subtitle)}</div>` : ""}</td>${roles ? `<td>${esc(m.member_role || "")}</td>` : ""}<td class="when">${fmtDate(m.member_last_seen)}</td></tr>`).join("");
  const related = g.related_groups.map((r) => `<a class="chip" data-link href="/group/${encodeURIComponent(r.id)}">${esc(r.group_type)}: ${esc(r.name || r.subtitle)} <span class="muted">${r.shared_members}</span></a>`).join("");
  main.innerHTML = `<div class="card profile-head"><h1>${esc(g.name || g.key)}</h1>
    <div class="sub">${esc(g.group_type)} · ${esc(g.key)} · ${num(g.members_count)} members · since ${fmtDate(g.first_seen)}</div>
    ${factsHtml(g.facts, KEY_FACTS)}</div>
    <div class="layout"><div class="card"><h2>Timeline</h2><div id="timeline"></div></div>
    <div><div class="card"><h2>Power users</h2>${power ? `<table>${power}</table>` : '<p class="muted">None yet.</p>'}</div>
    <div class="card"><h2>Members${g.members_shown < g.members_count ? ` (${g.members_shown} of ${g.members_count})` : ""}</h2><table id="members"><tr><th>Person</th>${roles ? "<th>Role</th>" : ""}<th class="when">Last seen</th></tr>${members}</table></div>
    ${related ? `<div class="card"><h2>Related groups</h2><div class="chips">${related}</div></div>` : ""}
    <div class="card"><h2>Facts</h2>${factsHtml(g.facts)}</div>
    <div class="card"><h2>Traits</h2>${traitsHtml(g.traits)}</div>
    <div class="card"><h2>Identifiers</h2>${identifiersHtml(g.identifiers)}</div></div></div>`;
  await timeline(document.getElementById("timeline"), `/api/groups/${encodeURIComponent(g.id)}/timeline`, null, g.sources);
}

// ---------- timeline ----------
// `sources`: this entity's sources with its events from each ([{name, events}]).
async function timeline(el, base, self, sources) {
  let selected = null; // one source, or all
  let cursor = null;
  let lastDay = null;
  const total = sources.reduce((n, s) => n + s.events, 0);
  const chip = (value, text, count, dot) => `<button class="chip ${value === "all" ? "on" : ""}" data-source="${esc(value)}">
    ${dot ? `<span class="dot" style="background:${colorFor(value)}"></span>` : ""}${esc(text)} <span class="count">${num(count)}</span></button>`;
  el.innerHTML = `<div class="chips" id="source-chips">${chip("all", "All sources", total, false)}${sources.map((s) => chip(s.name, s.name, s.events, true)).join("")}</div>
    <div id="events"></div><button class="more" id="more" hidden>Load more</button>`;
  const events = el.querySelector("#events");
  const more = el.querySelector("#more");
  async function load(reset) {
    if (reset) { cursor = null; lastDay = null; events.innerHTML = `<p class="muted">Loading…</p>`; }
    const params = new URLSearchParams({ limit: "50" });
    if (selected) params.set("source", selected);
    if (cursor) params.set("cursor", cursor);
    const page = await api(`${base}?${params}`);
    if (reset) events.innerHTML = page.items.length ? "" : `<p class="muted">No events${selected ? ` from ${esc(selected)}` : ""}.</p>`;
    events.insertAdjacentHTML("beforeend", page.items.map((ev) => {
      const day = ev.timestamp.slice(0, 10);
      const sep = day !== lastDay ? `<div class="day">${esc(fmtDay(ev.timestamp))}</div>` : "";
      lastDay = day;
      const who = ev.participants.filter((p) => p.id !== self).map((p) =>
        `<a data-link href="/${p.type}/${encodeURIComponent(p.id)}">${esc(p.name || p.id)}</a> <span class="muted">(${esc(p.role)})</span>`).join(", ");
      return `${sep}<div class="event" data-source="${esc(ev.source)}">
        <div class="icon" style="background:${colorFor(ev.source)}" title="${esc(ev.source)} · ${esc(ev.name)}"><svg viewBox="0 0 24 24">${iconFor(ev.name)}</svg></div>
        <div class="body"><div class="title">${esc(ev.title || label(ev.name))}</div>
        <div class="meta">${esc(fmtTime(ev.timestamp))} · ${esc(ev.source)} · ${esc(label(ev.name))}${ev.role ? ` · as ${esc(ev.role)}` : ""}</div>
        ${who ? `<div class="who">${who}</div>` : ""}</div>
        ${typeof ev.value === "number" ? `<div class="amount">${esc(money(ev.value, ev.currency))}</div>` : ""}</div>`;
    }).join(""));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  el.querySelector("#source-chips").addEventListener("click", async (e) => {
    const chip = e.target.closest("[data-source]");
    if (!chip) return;
    selected = chip.dataset.source === "all" ? null : chip.dataset.source;
    el.querySelectorAll("#source-chips .chip").forEach((c) => c.classList.toggle("on", c === chip));
    try { await load(true); } catch (err) { events.innerHTML = `<div class="error">${esc(err.message)}</div>`; }
  });
  more.addEventListener("click", () => load(false).catch((err) => events.insertAdjacentHTML("beforeend", `<div class="error">${esc(err.message)}</div>`)));
  await load(true);
}

route();
