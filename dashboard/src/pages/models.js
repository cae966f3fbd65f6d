// Models: the registered models, and per model its versions (stage, aliases, the source
// run's metrics), the full stage/alias history, and the write actions — promote, archive,
// roll back, set an alias — each confirmed first (the access token goes with every call).
// Both pages refresh in place (auto-refresh, every 60 s unless chosen otherwise): tables get
// new contents, the alias form keeps what was typed.
import { accessToken, api } from "../api.js";
import { refresher } from "../refresh.js";
import { fmtNum, fmtTime, h, labelled, link, route, section, statusLine, table } from "../ui.js";

export async function render(root, ctx) {
  if (ctx.args.length) return renderModel(root, ctx);
  const slot = h("div", { id: "models-slot" });
  const load = async () => {
    const { registered_models: models = [] } = await api.models();
    if (ctx.stale()) return;
    slot.replaceChildren(table({ id: "models", caption: `${models.length} registered models`,
      rows: models, empty: "No registered models yet: publish one with `ragasense models publish`.",
      columns: [
        { label: "Model", cell: (m) => link(`#/models/${encodeURIComponent(m.name)}`, m.name) },
        { label: "Latest versions", cell: (m) => (m.latest_versions || []).map((v) => `v${v.version} ${v.current_stage}`).join(", ") },
        { label: "Aliases", cell: (m) => (m.aliases || []).map((a) => `@${a.alias} → v${a.version}`).join(", ") },
        { label: "Updated", cell: (m) => fmtTime(m.last_updated_timestamp) },
        { label: "Monitoring", cell: (m) => link(route("/monitoring", { model: m.name }), "Monitor") },
      ] }));
  };
  const refresh = refresher({ page: "models", tick: load, stale: ctx.stale, defaultSeconds: 60 });
  await load();
  if (ctx.stale()) return;
  root.append(h("h1", {}, "Models"), h("div", { class: "toolbar" }, refresh.el), slot);
  refresh.start();
}

async function renderModel(root, { args, stale }) {
  const [name] = args;
  const status = statusLine("write-status");
  const description = h("p", { id: "model-description" });
  const versionsSlot = h("div", { id: "versions-slot" });
  const historySlot = h("div", { id: "history-slot" });
  const aliasName = h("input", { id: "alias-name", name: "alias", required: true, pattern: "[A-Za-z0-9_\\-]+", size: 14 });
  const aliasVersion = h("select", { id: "alias-version", name: "version" });
  let refresh;

  const write = async (question, action, done) => {
    if (!window.confirm(question)) return;
    status.info("Sending…");
    try {
      await action();
    } catch (err) {
      status.error(err);
      return;
    }
    status.info(done);
    await refresh.now();
  };
  const button = (label, attrs, question, action, done) =>
    h("button", { type: "button", onclick: () => write(question, action, done), ...attrs }, label);

  const load = async () => {
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

    description.textContent = model.description || "";
    description.hidden = !model.description;
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
    versionsSlot.replaceChildren(h("div", { class: "table-wrap" }, h("table", { id: "versions" },
      h("caption", {}, `${versions.length} versions`),
      h("thead", {}, h("tr", {}, ["Version", "Stage", "Aliases", "Created", "Run", ...metricKeys, "Actions"]
        .map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, versionRows))));

    // The alias form's versions follow the list; what is chosen stays chosen.
    const chosen = aliasVersion.value;
    const options = versions.map((v) => String(v.version));
    if ([...aliasVersion.options].map((o) => o.value).join() !== options.join()) {
      aliasVersion.replaceChildren(...options.map((v) => h("option", { value: v, selected: v === chosen }, `v${v}`)));
    }

    historySlot.replaceChildren(table({ id: "history", rows: history, empty: "No stage or alias changes yet.",
      columns: [
        { label: "When", cell: (e) => fmtTime(e.timestamp) },
        { label: "Change", cell: (e) => (e.kind === "stage" ? "Stage" : e.kind === "alias" ? `Alias @${e.alias}` : e.kind) },
        { label: "Version", cell: (e) => (e.version ? `v${e.version}` : "—") },
        { label: "From", cell: (e) => (e.from == null ? "—" : e.kind === "alias" ? `v${e.from}` : e.from) },
        { label: "To", cell: (e) => (e.to == null ? "—" : e.kind === "alias" ? `v${e.to}` : e.to) },
        { label: "By", cell: (e) => e.actor },
        { label: "Comment", cell: (e) => e.comment ?? "" },
      ] }));
  };
  refresh = refresher({ page: "models", tick: load, stale, defaultSeconds: 60 });
  await load();
  if (stale()) return;

  const aliasForm = h("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    const alias = aliasName.value.trim();
    write(`Point @${alias} of ${name} at v${aliasVersion.value}?`, () => api.setAlias(name, alias, aliasVersion.value),
      `@${alias} now points at v${aliasVersion.value}.`);
  } }, labelled("Alias", aliasName), labelled("Version", aliasVersion), h("button", { type: "submit" }, "Set alias"));

  root.append(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/models", "Models"), " / ", name),
    h("h1", {}, name),
    h("div", { class: "toolbar" }, refresh.el),
    description,
    accessToken.get() ? "" : h("p", { class: "notice", id: "no-token" },
      "No access token is set. A server that checks tokens needs one with the write scope to promote, archive, ",
      "roll back or set aliases: ", link("#/settings", "set it in Settings"), ". Without token checks, none is needed."),
    status.el,
    section("Versions", "versions", versionsSlot,
      h("div", { class: "actions" },
        button("Roll back Production", { id: "rollback" },
          `Roll ${name} back to the previous Production version?`, () => api.rollback(name),
          "Rolled back to the previous Production version."),
        link(route("/monitoring", { model: name }), "Monitoring of this model")),
      aliasForm),
    section("Promotion history", "history", historySlot),
  );
  refresh.start();
}
