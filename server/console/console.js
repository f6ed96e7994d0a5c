// The silt console: read-only views fetched from /api/tables and
// /api/table. When a table's timeline and bucket levels are on the page,
// document.title and body[data-rendered] say so (the tests wait for it).
"use strict";

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "style") e.style.cssText = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}

function when(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "—"; }

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}

let selected = new URLSearchParams(location.search).get("table");

function renderSinks(sinks) {
  const body = $("#sinks tbody");
  body.replaceChildren();
  for (const s of sinks) {
    body.append(el("tr", { "data-sink": s.name }, el("td", {}, s.name + (s.running ? "" : " (stopped)")), el("td", {}, s.table),
      el("td", {}, s.totalLag), el("td", {}, s.freshnessP99Ms + " ms"), el("td", {}, s.dlq)));
  }
}

function renderTimeline(timeline) {
  const box = $("#timeline");
  box.replaceChildren();
  for (const s of timeline) {
    const card = el("div", { class: "snap " + s.kind, "data-snapshot": s.id, title: s.user + " at " + when(s.timeMillis) },
      el("b", {}, "#" + s.id), s.kind, el("br"), s.totalRecords + " rec");
    for (const t of s.tags || []) card.append(el("br"), el("span", { class: "tag", "data-tag": t }, "tag " + t));
    for (const b of s.branches || []) card.append(el("br"), el("span", { class: "branch", "data-branch": b }, "branch " + b));
    box.append(card);
  }
}

function renderBuckets(buckets) {
  const box = $("#buckets");
  box.replaceChildren();
  for (const b of buckets) {
    const name = (b.partition ? b.partition + "/" : "") + "bucket-" + b.bucket;
    const div = el("div", { class: "bucket", "data-bucket": name },
      el("div", {}, name + ": " + b.sortedRuns + " sorted runs, " + b.untilStall + " until stall"));
    (b.levels || []).forEach((files, level) => {
      const row = el("div", { class: "level L" + level, "data-level": level }, el("span", { class: "l" }, "L" + level));
      for (const size of files) {
        const w = Math.max(4, Math.min(160, Math.round(Math.log2(1 + size) * 6)));
        row.append(el("div", { class: "file", style: "width:" + w + "px", title: bytes(size) }));
      }
      if (!files.length) row.append(el("span", { class: "l" }, "—"));
      div.append(row);
    });
    box.append(div);
  }
}

function renderDetail(d) {
  $("#table-name").textContent = d.name;
  $("#table-facts").textContent = `latest snapshot ${d.latestSnapshot} · ${d.snapshots} retained snapshots · ${d.buckets.length} buckets · ` +
    `${d.files} files · ${bytes(d.bytes)} · ${d.tags.length} tags · ${d.branches.length} branches · key (${(d.primaryKeys || []).join(", ")})` +
    (d.error ? " · error: " + d.error : "");
  renderTimeline(d.timeline);
  renderBuckets(d.buckets);
  const tiers = $("#tiers tbody");
  tiers.replaceChildren();
  for (const [t, v] of Object.entries(d.tiers)) tiers.append(el("tr", {}, el("td", {}, t), el("td", {}, v.files), el("td", {}, bytes(v.bytes))));
  const policy = $("#policy tbody");
  policy.replaceChildren();
  const keys = Object.keys(d.lifecycle.policy).sort();
  if (!keys.length) policy.append(el("tr", {}, el("td", {}, "no lifecycle options set (defaults apply)")));
  for (const k of keys) policy.append(el("tr", {}, el("td", {}, k), el("td", {}, d.lifecycle.policy[k])));
  const next = $("#next");
  next.replaceChildren();
  if (!d.lifecycle.next.length) next.append(el("li", {}, "nothing pending"));
  for (const n of d.lifecycle.next) next.append(el("li", {}, n));
  $("#lifecycle-runs").textContent = d.lifecycle.lastRunMillis
    ? `last run ${when(d.lifecycle.lastRunMillis)}, next ${when(d.lifecycle.nextRunMillis)}` + (d.lifecycle.lastError ? " · " + d.lifecycle.lastError : "")
    : "not run by this process";
  const c = d.compaction;
  $("#compaction").textContent = c.runs
    ? `${c.runs} rounds, buckets ${JSON.stringify(c.buckets)}, ${bytes(c.bytesWritten)} written, last ${when(c.lastRunMillis)}` + (c.lastError ? " · " + c.lastError : "")
    : "not compacted by this process";
  const levels = d.buckets.reduce((n, b) => n + (b.levels || []).length, 0);
  const status = `rendered ${d.name}: ${d.timeline.length} snapshots, ${d.tags.length} tags, ${d.branches.length} branches, ${d.buckets.length} buckets, ${levels} levels`;
  $("#render-status").textContent = status;
  if (d.timeline.length && d.buckets.length) {
    document.title = "silt console: " + d.name;
    document.body.dataset.rendered = "true";
  }
}

async function load() {
  try {
    const o = await getJSON("api/tables");
    $("#version").textContent = o.version;
    const ready = $("#ready");
    ready.textContent = o.ready ? "ready" : "not ready";
    ready.className = "badge " + (o.ready ? "ok" : "bad");
    renderSinks(o.sinks);
    const list = $("#tables");
    list.replaceChildren();
    if (!selected && o.tables.length) selected = o.tables[0].name;
    for (const t of o.tables) {
      const li = el("li", { class: t.name === selected ? "sel" : "", "data-table": t.name },
        `${t.name} — ${t.snapshots} snapshots, ${bytes(t.bytes)}`);
      li.onclick = () => { selected = t.name; history.replaceState(null, "", "?table=" + encodeURIComponent(t.name)); load(); };
      list.append(li);
    }
    if (selected) renderDetail(await getJSON("api/table?name=" + encodeURIComponent(selected)));
  } catch (e) {
    $("#table-facts").replaceChildren(el("span", { class: "err" }, "console: " + e.message));
  }
}

load();
setInterval(load, 10000);
