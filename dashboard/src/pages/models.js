// Models: the registered models, and per model its versions (stage, aliases, the source
// run's metrics), the full stage/alias history, and the write actions — promote, archive,
// roll back, set an alias — each confirmed first and sent with the write token.
import { api, writeToken } from "../api.js";
import { fmtNum, fmtTime, h, labelled, link, route, section, statusLine, table } from "../ui.js";

// What the last write did, shown once the page has reloaded its data.
let flash = "";

export async function render(root, ctx) {
  if (ctx.args.length) return renderModel(root, ctx);
  const { registered_models: models = [] } = await api.models();
  if (ctx.stale()) return;
  root.append(h("h1", {}, "Models"), table({ id: "models", caption: `${models.length} registered models`,
    rows: models, empty: "No registered models yet: publish one with `ragasense models publish`.",
    columns: [
      { label: "Model", cell: (m) => link(`#/models/${encodeURIComponent(m.name)}`, m.name) },
      { label: "Latest versions", cell: (m) => (m.latest_versions || []).map((v) => `v${v.version} ${v.current_stage}`).join(", ") },
      { label: "Aliases", cell: (m) => (m.aliases || []).map((a) => `@${a.alias} → v${a.version}`).join(", ") },
      { label: "Updated", cell: (m) => fmtTime(m.last_updated_timestamp) },
      { label: "Monitoring", cell: (m) => link(route("/monitoring", { model: m.name }), "Monitor") },
    ] }));
}

async function renderModel(root, { args, stale, rerender }) {
  const [name] = args;
  const [{ registered_model: model }, { model_versions: versions = [] }, { history = [] }] = await Promise.all([
    api.model(name), api.versions(name), api.modelHistory(name)]);
  if (stale()) return;
  versions.sort((a, b) => Number(b.version) - Number(a.version));
  const aliasesOf = (v) => (model.aliases || []).filter((a) => String(a.version) === String(v.version)).map((a) => a.alias);
  // The source run's metrics, for the versions that name one.
  const runs = await Promise.all(versions.slice(0, 25).map((v) =>
    v.run_id ? api.run(v.run_id).then((r) => r.run).catch(() => null) : Promise.resolve(null)));
  if (stale()) return;
  const metricKeys = [...new Set(runs.flatMap((r) => (r?.data?.metrics || []).map((m) => m.key)))]
    .filter((k) => !k.startsWith("system/")).sort().slice(0, 6);
  const metric = (i, k) => (runs[i]?.data?.metrics || []).find((m) => m.key === k)?.value;

  const status = statusLine("write-status");
  if (flash) status.info(flash);
  flash = "";
  const canWrite = Boolean(writeToken.get());
  const write = async (question, action, done) => {
    if (!window.confirm(question)) return;
    status.info("Sending…");
    try {
      await action();
      flash = done;
      await rerender();
    } catch (err) {
      status.error(err);
    }
  };
  const button = (label, attrs, question, action, done) =>
    h("button", { type: "button", disabled: !canWrite, title: canWrite ? null : "Set a write token in Settings first",
      onclick: () => write(question, action, done), ...attrs }, label);

  const versionRows = versions.map((v, i) => {
    const stage = v.current_stage || "None";
    return h("tr", { "data-version": v.version, "data-stage": stage },
      h("th", { scope: "row" }, `v${v.version}`),
      h("td", { class: "stage" }, h("span", { class: `badge stage-${stage.toLowerCase()}` }, stage)),
      h("td", { class: "aliases" }, aliasesOf(v).map((a) => h("span", { class: "badge" }, `@${a}`))),
      h("td", {}, fmtTime(v.creation_timestamp)),
      h("td", {}, v.run_id ? link(`#/runs/${v.run_id}`, runs[i]?.info?.run_name || v.run_id.slice(0, 8)) : "—"),
      metricKeys.map((k) => h("td", { class: "num" }, fmtNum(metric(i, k)))),
      h("td", { class: "buttons" },
        stage !== "Production" && button("Promote to Production", { "data-action": "promote", "aria-label": `Promote v${v.version} to Production` },
          `Promote ${name} v${v.version} to Production? The current Production version is archived.`,
          () => api.transition(name, v.version, "Production", true), `v${v.version} is now in Production.`),
        stage !== "Staging" && stage !== "Production" && button("Stage", { "data-action": "stage", "aria-label": `Move v${v.version} to Staging` },
          `Move ${name} v${v.version} to Staging?`, () => api.transition(name, v.version, "Staging", false),
          `v${v.version} is now in Staging.`),
        stage !== "Archived" && button("Archive", { "data-action": "archive", "aria-label": `Archive v${v.version}` },
          `Archive ${name} v${v.version}?`, () => api.transition(name, v.version, "Archived", false),
          `v${v.version} is archived.`)));
  });

  const aliasName = h("input", { id: "alias-name", name: "alias", required: true, pattern: "[A-Za-z0-9_\\-]+", size: 14 });
  const aliasVersion = h("select", { id: "alias-version", name: "version" },
    versions.map((v) => h("option", { value: v.version }, `v${v.version}`)));
  const aliasForm = h("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    const alias = aliasName.value.trim();
    write(`Point @${alias} of ${name} at v${aliasVersion.value}?`, () => api.setAlias(name, alias, aliasVersion.value),
      `@${alias} now points at v${aliasVersion.value}.`);
  } }, labelled("Alias", aliasName), labelled("Version", aliasVersion),
  h("button", { type: "submit", disabled: !canWrite }, "Set alias"));

  root.append(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/models", "Models"), " / ", name),
    h("h1", {}, name),
    model.description ? h("p", {}, model.description) : "",
    canWrite ? "" : h("p", { class: "notice", id: "no-token" }, "Promote, archive and rollback need a write token: ",
      link("#/settings", "set one in Settings"), "."),
    status.el,
    section("Versions", "versions",
      h("div", { class: "table-wrap" }, h("table", { id: "versions" },
        h("caption", {}, `${versions.length} versions`),
        h("thead", {}, h("tr", {}, ["Version", "Stage", "Aliases", "Created", "Run", ...metricKeys, "Actions"]
          .map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, versionRows))),
      h("div", { class: "actions" },
        button("Roll back Production", { id: "rollback" },
          `Roll ${name} back to the previous Production version?`, () => api.rollback(name),
          "Rolled back to the previous Production version."),
        link(route("/monitoring", { model: name }), "Monitoring of this model")),
      aliasForm),
    section("Promotion history", "history", table({ id: "history", rows: history, empty: "No stage or alias changes yet.",
      columns: [
        { label: "When", cell: (e) => fmtTime(e.timestamp) },
        { label: "Change", cell: (e) => (e.kind === "stage" ? "Stage" : e.kind === "alias" ? `Alias @${e.alias}` : e.kind) },
        { label: "Version", cell: (e) => (e.version ? `v${e.version}` : "—") },
        { label: "From", cell: (e) => (e.from == null ? "—" : e.kind === "alias" ? `v${e.from}` : e.from) },
        { label: "To", cell: (e) => (e.to == null ? "—" : e.kind === "alias" ? `v${e.to}` : e.to) },
        { label: "By", cell: (e) => e.actor },
        { label: "Comment", cell: (e) => e.comment ?? "" },
      ] })),
  );
}
