// Monitoring of one model version: traffic, latency percentiles, confidence and label
// distributions, online accuracy, drift now and over time, and its active and past alerts —
// all from /v1/monitoring/* and /v1/alerts.
import { api } from "../api.js";
import { barChart, lineChart } from "../charts.js";
import { fmtNum, fmtPct, fmtTime, h, labelled, route, section, table } from "../ui.js";

const RANGES = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };

export async function render(root, { params, stale, rerender }) {
  const { registered_models: models = [] } = await api.models();
  if (stale()) return;
  root.append(h("h1", {}, "Monitoring"));
  if (!models.length) {
    root.append(h("p", { class: "empty" }, "No registered models to monitor."));
    return;
  }
  const model = params.model || models[0].name;
  const { model_versions: versions = [] } = await api.versions(model);
  if (stale()) return;
  versions.sort((a, b) => Number(b.version) - Number(a.version));
  const production = versions.find((v) => v.current_stage === "Production");
  const version = params.version || production?.version || versions[0]?.version || "";
  const range = RANGES[params.range] ? params.range : "1h";
  const go = (changes) => { location.hash = route("/monitoring", { model, version, range, ...changes }); };

  const modelSel = h("select", { id: "mon-model", onchange: (e) => go({ model: e.target.value, version: "" }) },
    models.map((m) => h("option", { value: m.name, selected: m.name === model }, m.name)));
  const versionSel = h("select", { id: "mon-version", onchange: (e) => go({ version: e.target.value }) },
    versions.map((v) => h("option", { value: v.version, selected: String(v.version) === String(version) },
      `v${v.version} (${v.current_stage || "None"})`)));
  const rangeSel = h("select", { id: "mon-range", onchange: (e) => go({ range: e.target.value }) },
    Object.keys(RANGES).map((r) => h("option", { value: r, selected: r === range }, `last ${r}`)));
  root.append(h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); rerender(); } },
    labelled("Model", modelSel), labelled("Version", versionSel), labelled("Range", rangeSel),
    h("button", { type: "submit", id: "refresh" }, "Refresh")));
  if (!version) {
    root.append(h("p", { class: "empty" }, `${model} has no versions.`));
    return;
  }

  const to_ms = Date.now();
  const from_ms = to_ms - RANGES[range];
  const q = { model, version, from_ms, to_ms };
  const bucket_ms = Math.max(1000, Math.ceil(RANGES[range] / 60));
  const [summary, series, drift, alerts] = await Promise.all([
    api.summary(q), api.timeseries({ ...q, bucket_ms }),
    api.drift(q).catch((e) => ({ error: e.message })),
    api.alerts({ model, version, max_results: 200 })]);
  if (stale()) return;

  // Alerts first: what needs attention.
  const all = alerts.alerts || [];
  const firing = all.filter((a) => a.state === "firing");
  const past = all.filter((a) => a.state !== "firing");
  const alertColumns = [
    { label: "Rule", cell: (a) => a.rule },
    { label: "Metric", cell: (a) => `${a.metric} ${a.op} ${fmtNum(a.threshold)}` },
    { label: "Value", cell: (a) => fmtNum(a.last_value ?? a.value), num: true },
    { label: "Fired", cell: (a) => fmtTime(a.fired_ms) },
    { label: "Resolved", cell: (a) => fmtTime(a.resolved_ms) },
    { label: "Message", cell: (a) => a.message },
  ];
  root.append(section("Alerts", "alerts",
    h("h3", {}, `Active (${firing.length})`),
    table({ id: "alerts-firing", rows: firing, columns: alertColumns, empty: "No active alerts." }),
    h("h3", {}, `Past (${past.length})`),
    table({ id: "alerts-past", rows: past, columns: alertColumns, empty: "No past alerts." })));
  if (firing.length) root.querySelector("#alerts-firing")?.setAttribute("role", "alert");

  const v = (summary.versions || []).find((x) => String(x.version) === String(version));
  const all_ = v?.all;
  const tile = (label, value, id) => h("div", { class: "tile", id }, h("span", { class: "tile-label" }, label),
    h("span", { class: "tile-value" }, value));
  root.append(section(`Traffic of v${version}, last ${range}`, "traffic",
    h("div", { class: "tiles" },
      tile("Requests", String(all_?.requests ?? 0), "tile-requests"),
      tile("Error rate", fmtPct(all_?.error_rate), "tile-errors"),
      tile("Latency p50", all_?.latency_ms?.p50 != null ? `${fmtNum(all_.latency_ms.p50, 0)} ms` : "—", "tile-p50"),
      tile("Latency p95", all_?.latency_ms?.p95 != null ? `${fmtNum(all_.latency_ms.p95, 0)} ms` : "—", "tile-p95"),
      tile("Latency p99", all_?.latency_ms?.p99 != null ? `${fmtNum(all_.latency_ms.p99, 0)} ms` : "—", "tile-p99"),
      tile("Mean confidence", fmtNum(all_?.confidence?.mean, 3), "tile-confidence"),
      tile("Online accuracy", v?.feedback?.online_accuracy != null
        ? `${fmtPct(v.feedback.online_accuracy)} (${v.feedback.answers})` : "—", "tile-accuracy"),
      tile("Drift score (PSI)", drift.score != null ? fmtNum(drift.score, 3) : "—", "tile-drift"))));

  const buckets = series.buckets || [];
  const pts = (key) => buckets.filter((b) => b[key] !== null && b[key] !== undefined).map((b) => [b.start_ms, b[key]]);
  const charts = h("div", { class: "charts", id: "monitoring-charts" },
    lineChart({ title: "Requests per bucket", id: "ts-requests", time: true, xLabel: "time", xRange: [from_ms, to_ms],
      series: [{ label: "requests", points: pts("requests") }, { label: "errors", points: pts("errors") }] }),
    lineChart({ title: "Latency (ms)", id: "ts-latency", time: true, xLabel: "time", xRange: [from_ms, to_ms],
      series: [{ label: "p50", points: pts("latency_p50_ms") }, { label: "p95", points: pts("latency_p95_ms") }] }),
    lineChart({ title: "Mean confidence", id: "ts-confidence", time: true, xLabel: "time", xRange: [from_ms, to_ms],
      series: [{ label: "confidence", points: pts("mean_confidence") }] }),
    lineChart({ title: "Drift (PSI) over time", id: "ts-drift", time: true, xLabel: "time", xRange: [from_ms, to_ms],
      series: [{ label: "drift PSI", points: pts("drift_psi") }] }),
    lineChart({ title: "Online accuracy", id: "ts-accuracy", time: true, xLabel: "time", xRange: [from_ms, to_ms],
      series: [{ label: "accuracy", points: pts("online_accuracy") }] }));
  root.append(section("Over time", "timeseries", charts));

  const hist = all_?.confidence?.histogram || [];
  const labels = all_?.labels || [];
  root.append(section("Distributions", "distributions", h("div", { class: "charts" },
    barChart({ title: "Confidence", id: "confidence-histogram", yLabel: "clips",
      labels: hist.map((_, i) => (i / hist.length).toFixed(1)), values: hist }),
    barChart({ title: "Predicted labels", id: "label-chart", yLabel: "clips",
      labels: labels.slice(0, 20).map((l) => l.label), values: labels.slice(0, 20).map((l) => l.count)})),
  table({ id: "labels", caption: "Predicted labels", rows: labels, empty: "No answers in this range.", columns: [
    { label: "Label", cell: (l) => l.label },
    { label: "Count", cell: (l) => String(l.count), num: true },
    { label: "Share", cell: (l) => fmtPct(l.share), num: true }] })));

  const groups = Object.entries(drift.psi || {});
  root.append(section("Input drift now", "drift",
    drift.error ? h("p", { class: "status error", role: "alert" }, drift.error)
      : h("p", {}, `${drift.events ?? 0} live clips compared with ${drift.reference_clips ?? "the"} training clips. `,
        "PSI < 0.1 stable, 0.1–0.2 moderate, > 0.2 drift."),
    table({ id: "drift-groups", rows: groups, empty: "No live clips in this range.", columns: [
      { label: "Feature group", cell: ([g]) => g },
      { label: "PSI", cell: ([, x]) => fmtNum(x, 3), num: true },
      { label: "Reading", cell: ([, x]) => (x > 0.2 ? "drift" : x > 0.1 ? "moderate" : "stable") }] }),
    groups.length ? h("p", { class: "muted" },
      `Level shift ${fmtNum(drift.level_shift_db, 2)} dB · tonic shift ${fmtNum(drift.tonic_shift_cents, 1)} cents · `,
      `voiced fraction shift ${fmtNum(drift.voiced_fraction_shift, 3)} · pitch-class PSI ${fmtNum(drift.pitch_class_psi, 3)}`) : ""));
}
