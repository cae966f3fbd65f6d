// One run: its facts, params, tags, the latest value of each metric, a chart per metric
// over steps (training curves), system metrics apart, and its artifacts as a tree whose
// images show inline and whose files download.
import { api } from "../api.js";
import { lineChart } from "../charts.js";
import { fmtBytes, fmtNum, fmtTime, h, kvTable, link, route, section, table } from "../ui.js";

const MAX_CHARTS = 30;
const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;

export async function render(root, { args, stale }) {
  const [runId] = args;
  const { run } = await api.run(runId);
  if (stale()) return;
  const { info, data = {} } = run;
  const metrics = data.metrics || [];
  const tags = (data.tags || []).filter((t) => !t.key.startsWith("mlflow.") || t.key === "mlflow.note.content");
  const name = info.run_name || info.run_id;
  const system = metrics.filter((m) => m.key.startsWith("system/"));
  const model = metrics.filter((m) => !m.key.startsWith("system/"));

  root.append(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
      link(route("/experiments", { exp: info.experiment_id }), "Experiments"), " / ", name),
    h("h1", {}, name),
    h("dl", { class: "facts" },
      h("dt", {}, "Run ID"), h("dd", {}, h("code", {}, info.run_id)),
      h("dt", {}, "Status"), h("dd", { id: "run-status" }, info.status),
      h("dt", {}, "Started"), h("dd", {}, fmtTime(info.start_time)),
      h("dt", {}, "Ended"), h("dd", {}, fmtTime(info.end_time)),
      h("dt", {}, "Duration"), h("dd", {}, info.end_time ? `${((info.end_time - info.start_time) / 1000).toFixed(1)} s` : "—")),
    h("div", { class: "grid2" },
      section("Parameters", "params", kvTable("params-table", null, (data.params || []).map((p) => [p.key, p.value]),
        "No parameters.")),
      section("Tags", "tags", kvTable("tags-table", null, tags.map((t) => [t.key, t.value]), "No tags."))),
    section("Metrics", "metrics", table({ id: "metrics-table", rows: model, empty: "No metrics.", columns: [
      { label: "Metric", cell: (m) => m.key },
      { label: "Latest", cell: (m) => fmtNum(m.value), num: true },
      { label: "Step", cell: (m) => String(m.step ?? 0), num: true }] })),
  );

  const charts = h("div", { class: "charts", id: "metric-charts" });
  const sysCharts = h("div", { class: "charts", id: "system-charts" });
  root.append(section("Training curves", "curves", charts));
  if (system.length) root.append(section("System metrics", "system", sysCharts));
  const artifacts = h("div", { id: "artifacts-tree" });
  root.append(section("Artifacts", "artifacts", artifacts));

  const draw = async (list, into) => {
    const histories = await Promise.all(list.slice(0, MAX_CHARTS).map((m) =>
      api.history(runId, m.key).then((r) => [m.key, r.metrics || []])));
    if (stale()) return;
    for (const [key, points] of histories) {
      into.append(lineChart({ title: key, id: `chart-${key.replace(/[^\w-]/g, "_")}`,
        series: [{ label: key, points: points.map((p) => [Number(p.step ?? 0), p.value]) }] }));
    }
    if (!list.length) into.append(h("p", { class: "empty" }, "No metrics logged."));
  };
  await Promise.all([draw(model, charts), draw(system, sysCharts), listArtifacts(runId, "", artifacts, stale)]);
}

async function listArtifacts(runId, path, into, stale) {
  const { files = [] } = await api.artifacts(runId, path || undefined);
  if (stale()) return;
  if (!files.length && !path) {
    into.append(h("p", { class: "empty" }, "No artifacts."));
    return;
  }
  const list = h("ul", { class: "tree" });
  for (const f of files) {
    const base = f.path.split("/").pop();
    if (f.is_dir) {
      const sub = h("div");
      let loaded = false;
      const det = h("details", { "data-path": f.path }, h("summary", {}, `${base}/`), sub);
      det.addEventListener("toggle", () => {
        if (det.open && !loaded) {
          loaded = true;
          listArtifacts(runId, f.path, sub, stale).catch((e) => sub.append(h("p", { class: "status error", role: "alert" }, e.message)));
        }
      });
      list.append(h("li", {}, det));
    } else {
      const url = api.artifactUrl(runId, f.path);
      list.append(h("li", { "data-path": f.path },
        h("a", { href: url, download: base }, base), " ", h("span", { class: "muted" }, fmtBytes(f.file_size)),
        IMAGE.test(base) ? h("figure", { class: "artifact-image" },
          h("img", { src: url, alt: `Artifact ${f.path}`, loading: "lazy" }), h("figcaption", {}, f.path)) : ""));
    }
  }
  into.append(list);
}
