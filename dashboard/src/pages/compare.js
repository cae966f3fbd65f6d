// Compare 2–10 runs: each metric's curves overlaid, one colour per run, and a table of their
// params with the rows that differ marked (or only those).
import { api } from "../api.js";
import { color, lineChart } from "../charts.js";
import { fmtNum, h, link, route, section } from "../ui.js";

export async function render(root, { params, stale }) {
  const ids = (params.runs || "").split(",").filter(Boolean);
  root.append(h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/experiments", "Experiments"), " / Compare"),
    h("h1", {}, `Compare ${ids.length} runs`));
  if (ids.length < 2 || ids.length > 10) {
    throw new Error(`pick 2 to 10 runs to compare (got ${ids.length}): tick them on the Experiments page`);
  }
  const runs = (await Promise.all(ids.map((id) => api.run(id)))).map((r) => r.run);
  if (stale()) return;
  const name = (r) => r.info.run_name || r.info.run_id.slice(0, 8);
  const legend = h("ul", { class: "legend", id: "compare-runs" }, runs.map((r, i) =>
    h("li", {}, h("span", { class: "swatch", style: `background:${color(i)}`, "aria-hidden": "true" }),
      link(`#/runs/${r.info.run_id}`, name(r)))));

  const paramKeys = [...new Set(runs.flatMap((r) => (r.data.params || []).map((p) => p.key)))].sort();
  const pv = (r, k) => (r.data.params || []).find((p) => p.key === k)?.value;
  const differs = (k) => new Set(runs.map((r) => pv(r, k) ?? "∅")).size > 1;
  const onlyDiff = params.diff === "1";
  const rows = paramKeys.filter((k) => !onlyDiff || differs(k));
  const toggle = h("input", { type: "checkbox", id: "only-diff", checked: onlyDiff,
    onchange: (e) => { location.hash = route("/compare", { runs: ids.join(","), diff: e.target.checked ? "1" : "" }); } });
  const diffTable = h("div", { class: "table-wrap" }, h("table", { id: "param-diff" },
    h("caption", {}, `${paramKeys.filter(differs).length} of ${paramKeys.length} params differ`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Param"), runs.map((r) => h("th", { scope: "col" }, name(r))))),
    h("tbody", {}, rows.map((k) => h("tr", { class: differs(k) ? "differs" : null, "data-param": k, "data-differs": String(differs(k)) },
      h("th", { scope: "row" }, k, differs(k) ? h("span", { class: "sr-only" }, " (differs)") : ""),
      runs.map((r) => h("td", {}, pv(r, k) ?? "—")))))));

  const metricKeys = [...new Set(runs.flatMap((r) => (r.data.metrics || []).map((m) => m.key)))].sort();
  const latest = h("div", { class: "table-wrap" }, h("table", { id: "metric-latest" },
    h("caption", {}, "Latest metric values"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Metric"), runs.map((r) => h("th", { scope: "col" }, name(r))))),
    h("tbody", {}, metricKeys.map((k) => h("tr", {}, h("th", { scope: "row" }, k),
      runs.map((r) => h("td", { class: "num" }, fmtNum((r.data.metrics || []).find((m) => m.key === k)?.value))))))));

  root.append(section("Runs", "runs", legend),
    section("Parameters", "params", h("label", { class: "inline" }, toggle, " Only params that differ"), diffTable),
    section("Metrics", "metrics", latest));
  const charts = h("div", { class: "charts", id: "compare-charts" });
  root.append(section("Curves", "curves", charts));
  const histories = await Promise.all(metricKeys.slice(0, 30).map((k) => Promise.all(runs.map((r) =>
    (r.data.metrics || []).some((m) => m.key === k)
      ? api.history(r.info.run_id, k).then((x) => x.metrics || []) : Promise.resolve([])))));
  if (stale()) return;
  metricKeys.slice(0, 30).forEach((k, i) => {
    charts.append(lineChart({ title: k, id: `compare-${k.replace(/[^\w-]/g, "_")}`,
      series: runs.map((r, j) => ({ label: name(r), points: histories[i][j].map((p) => [Number(p.step ?? 0), p.value]) })) }));
  });
}
