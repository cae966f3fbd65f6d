// One run: its facts, params, tags, the latest value of each metric, a chart per metric
// over steps (training curves), system metrics apart, and its artifacts as a tree whose
// images show inline and whose files download. Refresh redraws it in place; while the run
// is RUNNING it refreshes itself (every 5 s unless chosen otherwise), so its curves grow.
import { ApiError, api, artifactBlob, accessToken } from "../api.js";
import { lineChart } from "../charts.js";
import { refresher } from "../refresh.js";
import { fmtBytes, fmtNum, fmtTime, h, kvTable, link, route, section, table } from "../ui.js";

const MAX_CHARTS = 30;
const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;

export async function render(root, { args, stale }) {
  const [runId] = args;
  const first = await api.run(runId);
  if (stale()) return;

  const crumbs = h("nav", { class: "crumbs", "aria-label": "Breadcrumb" });
  const title = h("h1", {});
  const facts = h("dl", { class: "facts" });
  const paramsSlot = h("div");
  const tagsSlot = h("div");
  const metricsSlot = h("div");
  const charts = h("div", { class: "charts", id: "metric-charts" });
  const sysCharts = h("div", { class: "charts", id: "system-charts" });
  const systemSection = section("System metrics", "system", sysCharts);
  const artifacts = h("div", { id: "artifacts-tree" });
  const chartOf = new Map();
  let artifactsSeen = null;

  const draw = async (list, into) => {
    const histories = await Promise.all(list.slice(0, MAX_CHARTS).map((m) =>
      api.history(runId, m.key).then((r) => [m.key, r.metrics || []])));
    return () => {
      for (const [key, points] of histories) {
        const series = [{ label: key, points: points.map((p) => [Number(p.step ?? 0), p.value]) }];
        const chart = chartOf.get(key);
        if (chart) chart.update({ series });
        else {
          const fig = lineChart({ title: key, id: `chart-${key.replace(/[^\w-]/g, "_")}`, series });
          chartOf.set(key, fig);
          into.append(fig);
        }
      }
      into.querySelector(":scope > p.empty")?.remove();
      if (!list.length) into.append(h("p", { class: "empty" }, "No metrics logged."));
    };
  };

  const load = async (answer) => {
    const { run } = answer || (await api.run(runId));
    if (stale()) return;
    const { info, data = {} } = run;
    const metrics = data.metrics || [];
    const tags = (data.tags || []).filter((t) => !t.key.startsWith("mlflow.") || t.key === "mlflow.note.content");
    const name = info.run_name || info.run_id;
    const system = metrics.filter((m) => m.key.startsWith("system/"));
    const model = metrics.filter((m) => !m.key.startsWith("system/"));
    // Everything is fetched before anything is redrawn, so a refresh never shows half a run.
    const [drawModel, drawSystem, listing] = await Promise.all([draw(model, charts), draw(system, sysCharts),
      api.artifacts(runId, undefined)]);
    if (stale()) return;

    crumbs.replaceChildren(link(route("/experiments", { exp: info.experiment_id }), "Experiments"), " / ", name);
    title.textContent = name;
    facts.replaceChildren(
      h("dt", {}, "Run ID"), h("dd", {}, h("code", {}, info.run_id)),
      h("dt", {}, "Status"), h("dd", { id: "run-status" }, info.status),
      h("dt", {}, "Started"), h("dd", {}, fmtTime(info.start_time)),
      h("dt", {}, "Ended"), h("dd", {}, fmtTime(info.end_time)),
      h("dt", {}, "Duration"), h("dd", {}, info.end_time ? `${((info.end_time - info.start_time) / 1000).toFixed(1)} s` : "—"));
    paramsSlot.replaceChildren(kvTable("params-table", null, (data.params || []).map((p) => [p.key, p.value]), "No parameters."));
    tagsSlot.replaceChildren(kvTable("tags-table", null, tags.map((t) => [t.key, t.value]), "No tags."));
    metricsSlot.replaceChildren(table({ id: "metrics-table", rows: model, empty: "No metrics.", columns: [
      { label: "Metric", cell: (m) => m.key },
      { label: "Latest", cell: (m) => fmtNum(m.value), num: true },
      { label: "Step", cell: (m) => String(m.step ?? 0), num: true }] }));
    drawModel();
    systemSection.hidden = !system.length;
    if (system.length) drawSystem();
    // The artifact tree is redrawn only when its top level changed, keeping open folders open.
    const files = listing.files || [];
    const seen = JSON.stringify(files.map((f) => [f.path, f.is_dir, f.file_size]));
    if (seen !== artifactsSeen) {
      artifactsSeen = seen;
      const open = new Set([...artifacts.querySelectorAll("details[open]")].map((d) => d.dataset.path));
      artifacts.replaceChildren();
      showArtifacts(runId, "", files, artifacts, stale, open);
    }
    root.dataset.status = info.status;
    refresh.setAuto(info.status === "RUNNING");
  };

  const refresh = refresher({ page: "run", tick: () => load(), stale, defaultSeconds: 5 });
  refresh.setAuto(false);
  root.append(crumbs, title, h("div", { class: "toolbar" }, refresh.el), facts,
    h("div", { class: "grid2" }, section("Parameters", "params", paramsSlot), section("Tags", "tags", tagsSlot)),
    section("Metrics", "metrics", metricsSlot),
    section("Training curves", "curves", charts), systemSection, section("Artifacts", "artifacts", artifacts));
  await load(first);
  if (stale()) return;
  refresh.start();
}

/** Lists the artifacts of `path` into `into`; folders load when opened (`open`: opened ones). */
function showArtifacts(runId, path, files, into, stale, open) {
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
          api.artifacts(runId, f.path)
            .then(({ files: inner = [] }) => { if (!stale()) showArtifacts(runId, f.path, inner, sub, stale, open); })
            .catch((e) => sub.append(h("p", { class: "status error", role: "alert" }, e.message)));
        }
      });
      if (open.has(f.path)) det.open = true;
      list.append(h("li", {}, det));
    } else {
      const url = api.artifactUrl(runId, f.path);
      const a = h("a", { href: url, download: base }, base);
      // A link or an <img> cannot send the access token: with one set, the file is fetched
      // with it and handed to the browser as a blob.
      a.addEventListener("click", (e) => {
        if (!accessToken.get()) return;
        e.preventDefault();
        artifactBlob(url, f.path).then((blob) => {
          const href = URL.createObjectURL(blob);
          const tmp = h("a", { href, download: base, hidden: true });
          document.body.append(tmp);
          tmp.click();
          tmp.remove();
          setTimeout(() => URL.revokeObjectURL(href), 60_000);
        }).catch((err) => a.after(h("span", { class: "status error", role: "alert" }, ` ${err.message}`)));
      });
      let image = "";
      if (IMAGE.test(base)) {
        const img = h("img", { alt: `Artifact ${f.path}`, loading: "lazy" });
        if (accessToken.get()) {
          artifactBlob(url, f.path).then((blob) => { img.src = URL.createObjectURL(blob); })
            .catch((err) => img.after(h("p", { class: "status error", role: "alert" },
              err instanceof ApiError ? err.message : String(err))));
        } else {
          img.src = url;
        }
        image = h("figure", { class: "artifact-image" }, img, h("figcaption", {}, f.path));
      }
      list.append(h("li", { "data-path": f.path }, a, " ", h("span", { class: "muted" }, fmtBytes(f.file_size)), image));
    }
  }
  into.append(list);
}
