// Monitoring of one model version: traffic, latency percentiles, confidence and label
// distributions, online accuracy, drift now and over time, and its active and past alerts —
// all from /v1/monitoring/* and /v1/alerts. The page is built once and then refreshed in
// place (auto-refresh, every 15 s unless chosen otherwise): tiles and tables get new
// contents, charts new data through uPlot's setData, and the controls stay as they are.
import { api } from "../api.js";
import { barChart, lineChart } from "../charts.js";
import { refresher } from "../refresh.js";
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
  let view = null;
  const load = async () => {
    // A model with no version yet: the page is drawn again, to pick up a new one.
    if (!version) return rerender();
    const to_ms = Date.now();
    const from_ms = to_ms - RANGES[range];
    const q = { model, version, from_ms, to_ms };
    const bucket_ms = Math.max(1000, Math.ceil(RANGES[range] / 60));
    const [summary, series, drift, alerts] = await Promise.all([
      api.summary(q), api.timeseries({ ...q, bucket_ms }),
      api.drift(q).catch((e) => ({ error: e.message })),
      api.alerts({ model, version, max_results: 200 })]);
    if (stale()) return;
    view ??= build(root, { version, range });
    view.update({ summary, series, drift, alerts, from_ms, to_ms });
  };
  const refresh = refresher({ page: "monitoring", tick: load, stale, defaultSeconds: 15 });
  root.append(h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); refresh.now(); } },
    labelled("Model", modelSel), labelled("Version", versionSel), labelled("Range", rangeSel), refresh.el));
  if (!version) {
    root.append(h("p", { class: "empty" }, `${model} has no versions.`));
    return;
  }
  await load();
  refresh.start();
}

/** The page's sections, empty; `update(data)` fills them (the first time and every refresh). */
function build(root, { version, range }) {
  const alertColumns = [
    { label: "Rule", cell: (a) => a.rule },
    { label: "Metric", cell: (a) => `${a.metric} ${a.op} ${fmtNum(a.threshold)}` },
    { label: "Value", cell: (a) => fmtNum(a.last_value ?? a.value), num: true },
    { label: "Fired", cell: (a) => fmtTime(a.fired_ms) },
    { label: "Resolved", cell: (a) => fmtTime(a.resolved_ms) },
    { label: "Message", cell: (a) => a.message },
  ];
  const firingHead = h("h3", {});
  const firingSlot = h("div");
  const pastHead = h("h3", {});
  const pastSlot = h("div");
  root.append(section("Alerts", "alerts", firingHead, firingSlot, pastHead, pastSlot));

  const tiles = {};
  const tile = (label, id) => {
    const value = h("span", { class: "tile-value" }, "—");
    tiles[id] = value;
    return h("div", { class: "tile", id }, h("span", { class: "tile-label" }, label), value);
  };
  root.append(section(`Traffic of v${version}, last ${range}`, "traffic",
    h("div", { class: "tiles" },
      tile("Requests", "tile-requests"), tile("Error rate", "tile-errors"), tile("Latency p50", "tile-p50"),
      tile("Latency p95", "tile-p95"), tile("Latency p99", "tile-p99"), tile("Mean confidence", "tile-confidence"),
      tile("Online accuracy", "tile-accuracy"), tile("Drift score (PSI)", "tile-drift"))));

  const none = [];
  const xRange = [Date.now() - RANGES[range], Date.now()];
  const charts = {
    requests: lineChart({ title: "Requests per bucket", id: "ts-requests", time: true, xLabel: "time", xRange,
      series: [{ label: "requests", points: none }, { label: "errors", points: none }] }),
    latency: lineChart({ title: "Latency (ms)", id: "ts-latency", time: true, xLabel: "time", xRange,
      series: [{ label: "p50", points: none }, { label: "p95", points: none }] }),
    confidence: lineChart({ title: "Mean confidence", id: "ts-confidence", time: true, xLabel: "time", xRange,
      series: [{ label: "confidence", points: none }] }),
    drift: lineChart({ title: "Drift (PSI) over time", id: "ts-drift", time: true, xLabel: "time", xRange,
      series: [{ label: "drift PSI", points: none }] }),
    accuracy: lineChart({ title: "Online accuracy", id: "ts-accuracy", time: true, xLabel: "time", xRange,
      series: [{ label: "accuracy", points: none }] }),
  };
  root.append(section("Over time", "timeseries", h("div", { class: "charts", id: "monitoring-charts" },
    Object.values(charts))));

  const histogram = barChart({ title: "Confidence", id: "confidence-histogram", yLabel: "clips", labels: [], values: [] });
  const labelChart = barChart({ title: "Predicted labels", id: "label-chart", yLabel: "clips", labels: [], values: [] });
  const labelsSlot = h("div");
  root.append(section("Distributions", "distributions", h("div", { class: "charts" }, histogram, labelChart), labelsSlot));

  const driftSlot = h("div");
  root.append(section("Input drift now", "drift", driftSlot));
  let lastFiring = "";

  return {
    update({ summary, series, drift, alerts, from_ms, to_ms }) {
      // Alerts first: what needs attention.
      const all = alerts.alerts || [];
      const firing = all.filter((a) => a.state === "firing");
      const past = all.filter((a) => a.state !== "firing");
      firingHead.textContent = `Active (${firing.length})`;
      pastHead.textContent = `Past (${past.length})`;
      firingSlot.replaceChildren(table({ id: "alerts-firing", rows: firing, columns: alertColumns, empty: "No active alerts." }));
      pastSlot.replaceChildren(table({ id: "alerts-past", rows: past, columns: alertColumns, empty: "No past alerts." }));
      // Announced (role=alert) when the set of firing alerts changes, not on every refresh.
      const firingKey = firing.map((a) => `${a.rule}@${a.fired_ms}`).join();
      if (firing.length && firingKey !== lastFiring) firingSlot.querySelector("#alerts-firing")?.setAttribute("role", "alert");
      lastFiring = firingKey;

      const v = (summary.versions || []).find((x) => String(x.version) === String(version));
      const all_ = v?.all;
      const ms = (x) => (x != null ? `${fmtNum(x, 0)} ms` : "—");
      const set = (id, text) => { if (tiles[id].textContent !== text) tiles[id].textContent = text; };
      set("tile-requests", String(all_?.requests ?? 0));
      set("tile-errors", fmtPct(all_?.error_rate));
      set("tile-p50", ms(all_?.latency_ms?.p50));
      set("tile-p95", ms(all_?.latency_ms?.p95));
      set("tile-p99", ms(all_?.latency_ms?.p99));
      set("tile-confidence", fmtNum(all_?.confidence?.mean, 3));
      set("tile-accuracy", v?.feedback?.online_accuracy != null
        ? `${fmtPct(v.feedback.online_accuracy)} (${v.feedback.answers})` : "—");
      set("tile-drift", drift.score != null ? fmtNum(drift.score, 3) : "—");

      const buckets = series.buckets || [];
      const pts = (key) => buckets.filter((b) => b[key] !== null && b[key] !== undefined).map((b) => [b.start_ms, b[key]]);
      const xRange = [from_ms, to_ms];
      charts.requests.update({ xRange, series: [{ label: "requests", points: pts("requests") }, { label: "errors", points: pts("errors") }] });
      charts.latency.update({ xRange, series: [{ label: "p50", points: pts("latency_p50_ms") }, { label: "p95", points: pts("latency_p95_ms") }] });
      charts.confidence.update({ xRange, series: [{ label: "confidence", points: pts("mean_confidence") }] });
      charts.drift.update({ xRange, series: [{ label: "drift PSI", points: pts("drift_psi") }] });
      charts.accuracy.update({ xRange, series: [{ label: "accuracy", points: pts("online_accuracy") }] });

      const hist = all_?.confidence?.histogram || [];
      const labels = all_?.labels || [];
      histogram.update({ labels: hist.map((_, i) => (i / hist.length).toFixed(1)), values: hist });
      labelChart.update({ labels: labels.slice(0, 20).map((l) => l.label), values: labels.slice(0, 20).map((l) => l.count) });
      labelsSlot.replaceChildren(table({ id: "labels", caption: "Predicted labels", rows: labels, empty: "No answers in this range.",
        columns: [
          { label: "Label", cell: (l) => l.label },
          { label: "Count", cell: (l) => String(l.count), num: true },
          { label: "Share", cell: (l) => fmtPct(l.share), num: true }] }));

      const groups = Object.entries(drift.psi || {});
      driftSlot.replaceChildren(
        drift.error ? h("p", { class: "status error", role: "alert" }, drift.error)
          : h("p", {}, `${drift.events ?? 0} live clips compared with ${drift.reference_clips ?? "the"} training clips. `,
            "PSI < 0.1 stable, 0.1–0.2 moderate, > 0.2 drift."),
        table({ id: "drift-groups", rows: groups, empty: "No live clips in this range.", columns: [
          { label: "Feature group", cell: ([g]) => g },
          { label: "PSI", cell: ([, x]) => fmtNum(x, 3), num: true },
          { label: "Reading", cell: ([, x]) => (x > 0.2 ? "drift" : x > 0.1 ? "moderate" : "stable") }] }),
        groups.length ? h("p", { class: "muted" },
          `Level shift ${fmtNum(drift.level_shift_db, 2)} dB · tonic shift ${fmtNum(drift.tonic_shift_cents, 1)} cents · `,
          `voiced fraction shift ${fmtNum(drift.voiced_fraction_shift, 3)} · pitch-class PSI ${fmtNum(drift.pitch_class_psi, 3)}`) : "");
    },
  };
}
