// The live status page served at "/": plain HTML with a little JavaScript that reads /metrics and
// /readyz every two seconds, so it shows exactly what Prometheus would scrape. No build step.
#include "status_pages.h"

namespace dlr::app {
namespace {

constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dlr-enricher status</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #1d2329; background: #fafbfc; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 8px; }
p.meta { margin: 0 0 20px; color: #555; }
section { display: inline-block; vertical-align: top; margin: 0 20px 20px 0; padding: 12px 16px;
          background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; min-width: 240px; }
table { border-collapse: collapse; }
td { padding: 3px 10px 3px 0; border-bottom: 1px solid #eef0f2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 9px; background: #3b82c4; border-radius: 2px; }
.ok { color: #1a7f37; } .bad { color: #b42318; } .none { color: #888; }
</style>
</head>
<body>
<h1>dlr-enricher <span id="state" class="none">connecting</span></h1>
<p class="meta">catalogue <b data-text="catalogue">-</b> &middot; reloads applied
<b data-metric='dlr_catalog_reloads_total{result="applied"}'>-</b>, unchanged
<b data-metric='dlr_catalog_reloads_total{result="unchanged"}'>-</b>, failed
<b data-metric='dlr_catalog_reloads_total{result="failed"}'>-</b>
&middot; last reload <b data-text="reload">-</b> &middot; updated <span id="updated">never</span></p>
<section><h2>Throughput</h2><table>
<tr><td>reports per second</td><td class="n" data-metric="dlr_reports_per_second">-</td></tr>
<tr><td>input messages</td><td class="n" data-sum="dlr_input_messages_total">-</td></tr>
<tr><td>in flight</td><td class="n" data-metric="dlr_in_flight_messages">-</td></tr>
<tr><td>assigned partitions</td><td class="n" data-metric="dlr_assigned_partitions">-</td></tr>
<tr><td>unknown codes</td><td class="n" data-metric="dlr_unknown_code_reports_total">-</td></tr>
</table></section>
<section><h2>Verdicts</h2><table id="verdicts"></table></section>
<section><h2>Top reasons</h2><table id="reasons"></table></section>
<section><h2>Top error codes</h2><table id="errors"></table></section>
<section><h2>Lag per partition</h2><table id="lag"></table></section>
<script>
"use strict";
// Prometheus text format: series key (name and labels as written) to value, and per family the
// label sets with their values.
function parse(text) {
  const series = new Map(), families = new Map();
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const space = line.lastIndexOf(" ");
    const key = line.slice(0, space), value = Number(line.slice(space + 1));
    series.set(key, value);
    const brace = key.indexOf("{");
    const name = brace < 0 ? key : key.slice(0, brace);
    const labels = {};
    if (brace >= 0) {
      for (const m of key.slice(brace + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    if (!families.has(name)) families.set(name, []);
    families.get(name).push({ key, labels, value });
  }
  return { series, families };
}
const number = (v) => (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toLocaleString("en-US", { maximumFractionDigits: 1 }));
function cell(text, cls, metric) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  if (metric) td.dataset.metric = metric;
  return td;
}
function rows(id, items, label, total) {
  const table = document.getElementById(id);
  table.replaceChildren();
  if (!items.length) table.append(Object.assign(document.createElement("tr"), { innerHTML: '<td class="none">none</td>' }));
  for (const s of items) {
    const tr = document.createElement("tr");
    tr.append(cell(label(s)), cell(number(s.value), "n", s.key));
    if (total) {
      const share = total ? (100 * s.value) / total : 0;
      const bar = cell("", "");
      bar.innerHTML = `<span class="bar" style="width:${Math.round(share)}px"></span> ${share.toFixed(1)}%`;
      tr.append(bar);
    }
    table.append(tr);
  }
}
function show({ series, families }) {
  const family = (name) => families.get(name) || [];
  for (const el of document.querySelectorAll("[data-metric]")) {
    if (el.closest("table[id]")) continue;
    const v = series.get(el.dataset.metric);
    el.textContent = v === undefined ? "-" : number(v);
  }
  for (const el of document.querySelectorAll("[data-sum]")) {
    const all = family(el.dataset.sum);
    el.textContent = all.length ? number(all.reduce((a, s) => a + s.value, 0)) : "-";
  }
  const info = family("dlr_catalog_info")[0];
  document.querySelector('[data-text="catalogue"]').textContent = info ? info.labels.version : "none";
  const ok = series.get("dlr_catalog_last_reload_success");
  document.querySelector('[data-text="reload"]').textContent = ok === undefined ? "-" : ok ? "succeeded" : "failed";
  const verdicts = family("dlr_reports_total");
  rows("verdicts", verdicts, (s) => s.labels.verdict, verdicts.reduce((a, s) => a + s.value, 0));
  const reasons = family("dlr_reason_total").filter((s) => s.value > 0).sort((a, b) => b.value - a.value).slice(0, 10);
  rows("reasons", reasons, (s) => s.labels.reason);
  const errors = family("dlr_error_reports_total").sort((a, b) => b.value - a.value).slice(0, 10);
  rows("errors", errors, (s) => (s.labels.family ? `${s.labels.error} (${s.labels.family})` : s.labels.error));
  const lag = family("dlr_consumer_lag").sort((a, b) => a.labels.topic.localeCompare(b.labels.topic) || a.labels.partition - b.labels.partition);
  rows("lag", lag, (s) => `${s.labels.topic} / ${s.labels.partition}`);
}
async function refresh() {
  const state = document.getElementById("state");
  try {
    const [metrics, ready] = await Promise.all([fetch("/metrics", { cache: "no-store" }), fetch("/readyz", { cache: "no-store" })]);
    show(parse(await metrics.text()));
    state.textContent = ready.ok ? "ready" : "not ready";
    state.className = ready.ok ? "ok" : "bad";
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    document.body.dataset.loaded = "true";
  } catch (e) {
    state.textContent = "unreachable";
    state.className = "bad";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view status_html() noexcept {
  return kPage;
}

}  // namespace dlr::app
