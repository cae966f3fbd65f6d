// Experiments: runs of one or all experiments, searched and sorted by the server
// (`runs/search` with MLflow's filter and order_by), one page of 50 at a time. Refresh asks
// for the same page again and redraws it in place, keeping the ticked runs.
import { api } from "../api.js";
import { refresher } from "../refresh.js";
import { fmtNum, fmtTime, h, labelled, link, route, statusLine } from "../ui.js";

const PAGE = 50;
const MAX_COLUMNS = 8;
// Page tokens seen per query, so "Previous" can walk back.
const tokenTrail = new Map();

/** `metrics.acc` or metrics.`a/b` for keys that need quoting. */
export const field = (kind, key) => `${kind}.${/^[\w.]+$/.test(key) ? key : `\`${key}\``}`;

// The experiment list, reused for a few seconds so paging asks only for runs.
let experimentsCache = { at: 0, list: null };
async function experimentList() {
  if (!experimentsCache.list || performance.now() - experimentsCache.at > 10_000) {
    const { experiments = [] } = await api.experiments();
    experimentsCache = { at: performance.now(), list: experiments };
  }
  return experimentsCache.list;
}

export async function render(root, { params, stale, rerender }) {
  const exp = params.exp || "";
  const filter = params.filter || "";
  const order = params.order || "attributes.start_time DESC";
  const token = params.token || "";
  const search = (ids) => api.searchRuns({ experiment_ids: ids, filter, order_by: [order], max_results: PAGE,
    page_token: token || undefined });
  const t0 = performance.now();
  // With one experiment named, its runs are asked for at once, beside the experiment list.
  const early = exp ? search([exp]) : null;
  early?.catch(() => {});
  const experiments = await experimentList();
  if (stale()) return;
  const active = experiments.filter((e) => e.lifecycle_stage !== "deleted");
  const ids = exp ? [exp] : active.map((e) => e.experiment_id);
  const key = JSON.stringify([exp, filter, order]);
  const trail = tokenTrail.get(key) || [""];
  tokenTrail.set(key, trail);

  const go = (changes) => {
    location.hash = route("/experiments", { exp, filter, order, ...changes });
  };

  const expSelect = h("select", { id: "experiment", name: "experiment" },
    h("option", { value: "" }, `All experiments (${active.length})`),
    active.map((e) => h("option", { value: e.experiment_id, selected: e.experiment_id === exp }, e.name)));
  expSelect.addEventListener("change", () => go({ exp: expSelect.value, token: "" }));
  const filterInput = h("input", { id: "filter", name: "filter", type: "search", value: filter, size: 50,
    placeholder: "metrics.accuracy > 0.8 and params.lr = '0.01' and tags.kind = 'sweep'",
    "aria-describedby": "filter-help" });
  const form = h("form", { class: "toolbar", role: "search", onsubmit: (e) => {
    e.preventDefault();
    go({ filter: filterInput.value.trim(), token: "" });
  } }, labelled("Experiment", expSelect), labelled("Filter", filterInput), h("button", { type: "submit" }, "Search"),
  filter && h("button", { type: "button", onclick: () => go({ filter: "", token: "" }) }, "Clear"));
  const help = h("p", { id: "filter-help", class: "hint" },
    "MLflow filter syntax: params., metrics., tags. and attributes. (run_name ILIKE '%x%', status = 'FINISHED'); ",
    "click a column heading to sort by it.");
  const status = statusLine();
  const slot = h("div", { id: "runs-slot" });
  // Ticked runs stay ticked across a refresh of the same page.
  const selected = new Set();
  const compareBtn = h("button", { type: "button", id: "compare", disabled: true,
    onclick: () => { location.hash = route("/compare", { runs: [...selected].join(",") }); } }, "Compare selected");
  const updateCompare = () => {
    compareBtn.disabled = selected.size < 2 || selected.size > 10;
    compareBtn.textContent = `Compare selected (${selected.size})`;
  };
  updateCompare();
  let first = true;
  const load = async () => {
    const started = performance.now();
    if (!first) {
      // A new or deleted experiment changes the list and the runs of "All experiments":
      // then the whole page is drawn again.
      experimentsCache = { at: 0, list: null };
      const fresh = await experimentList();
      if (stale()) return;
      const shape = (list) => JSON.stringify(list.map((e) => [e.experiment_id, e.name, e.lifecycle_stage]));
      if (shape(fresh) !== shape(experiments)) {
        rerender();
        return;
      }
    }
    const answer = await (first && early ? early : search(ids));
    if (stale()) return;
    const ms = performance.now() - (first ? t0 : started);
    first = false;
    drawRuns(answer, ms);
  };
  const refresh = refresher({ page: "experiments", auto: false, tick: () => (ids.length ? load() : rerender()), stale });
  root.append(h("h1", {}, "Experiments"), form, help, h("div", { class: "actions" }, refresh.el), status.el);
  if (!ids.length) {
    status.info("No experiments yet: log a run with `ragasense train --tracking-uri …` or MLflow's client.");
    return;
  }
  root.append(h("div", { class: "actions" }, compareBtn), slot);

  const drawRuns = (answer, ms) => {
    const runs = answer.runs || [];
    const next = answer.next_page_token || "";
    const at = Math.max(0, trail.indexOf(token));
    if (next && trail[at + 1] !== next) trail.splice(at + 1, trail.length, next);
    const expName = new Map(experiments.map((e) => [e.experiment_id, e.name]));

    const keysOf = (kind) => {
      const seen = new Map();
      for (const r of runs) for (const { key } of r.data?.[kind] || []) seen.set(key, (seen.get(key) || 0) + 1);
      return [...seen.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, MAX_COLUMNS)
        .map(([k]) => k).sort();
    };
    const metricKeys = keysOf("metrics").filter((k) => !k.startsWith("system/"));
    const paramKeys = keysOf("params");
    const value = (r, kind, k) => (r.data?.[kind] || []).find((x) => x.key === k)?.value;

    const [orderField, orderDir = "ASC"] = order.split(/\s+(?=(?:ASC|DESC)$)/i);
    const sortHeader = (label, f) => {
      const current = orderField === f;
      const dir = current && orderDir.toUpperCase() === "DESC" ? "descending" : current ? "ascending" : "none";
      const nextOrder = `${f} ${current && orderDir.toUpperCase() === "DESC" ? "ASC" : "DESC"}`;
      return h("th", { scope: "col", "aria-sort": dir },
        h("button", { type: "button", class: "sort", "data-field": f, onclick: () => go({ order: nextOrder, token: "" }),
          title: `Sort by ${label}` }, label, current ? (dir === "descending" ? " ▼" : " ▲") : ""));
    };

    const tableEl = h("table", { id: "runs", "data-count": runs.length },
      h("caption", {}, `Runs ${at * PAGE + 1}–${at * PAGE + runs.length}${next ? "" : " (last page)"}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Select")),
        sortHeader("Run", "attributes.run_name"),
        !exp && h("th", { scope: "col" }, "Experiment"),
        sortHeader("Status", "attributes.status"),
        sortHeader("Started", "attributes.start_time"),
        paramKeys.map((k) => sortHeader(k, field("params", k))),
        metricKeys.map((k) => sortHeader(k, field("metrics", k))))),
      h("tbody", {}, runs.map((r) => {
        const id = r.info.run_id;
        const name = r.info.run_name || id.slice(0, 8);
        const box = h("input", { type: "checkbox", "aria-label": `Select ${name} to compare`, "data-run": id,
          checked: selected.has(id),
          onchange: (e) => { e.target.checked ? selected.add(id) : selected.delete(id); updateCompare(); } });
        return h("tr", { "data-run": id },
          h("td", {}, box),
          h("th", { scope: "row" }, link(`#/runs/${id}`, name)),
          !exp && h("td", {}, expName.get(r.info.experiment_id) || r.info.experiment_id),
          h("td", {}, r.info.status),
          h("td", {}, fmtTime(r.info.start_time)),
          paramKeys.map((k) => h("td", {}, value(r, "params", k) ?? "")),
          metricKeys.map((k) => h("td", { class: "num" }, fmtNum(value(r, "metrics", k)))));
      })));

    const pager = h("nav", { class: "pager", "aria-label": "Pages of runs" },
      h("button", { type: "button", id: "prev", disabled: at === 0, onclick: () => go({ token: trail[at - 1] || "" }) },
        "← Previous"),
      h("span", { id: "page-number" }, `Page ${at + 1}`),
      h("button", { type: "button", id: "next", disabled: !next, onclick: () => go({ token: next }) }, "Next →"));
    status.info(runs.length ? `${runs.length} runs on this page, answered in ${Math.round(ms)} ms.`
      : "No runs match.");
    root.dataset.searchMs = String(Math.round(ms));
    slot.replaceChildren(runs.length ? h("div", { class: "table-wrap" }, tableEl) : "", pager);
    // For benchmarks: when the first table of runs is in the document.
    performance.mark("dashboard:runs-table");
  };

  try {
    await load();
  } catch (err) {
    if (stale()) return;
    status.error(err);
    return;
  }
  refresh.start();
}
