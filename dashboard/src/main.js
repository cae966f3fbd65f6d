// The dashboard's shell: a hash router (#/experiments, #/runs/ID, #/compare?runs=…,
// #/models/NAME, #/monitoring?model=…, #/settings) that renders one page into <main>.
// body[data-page] names the page and body[data-state] says loading / ready / error, so
// tests and people can tell when a page has its data. A 401 or 403 from any call raises a
// banner above the page saying what the server wants and how to get a token.
import "uplot/dist/uPlot.min.css";
import { accessToken, onAuthError } from "./api.js";
import { destroyCharts } from "./charts.js";
import { stopRefresh } from "./refresh.js";
import { h, statusLine } from "./ui.js";
import * as experiments from "./pages/experiments.js";
import * as run from "./pages/run.js";
import * as compare from "./pages/compare.js";
import * as models from "./pages/models.js";
import * as monitoring from "./pages/monitoring.js";
import * as settings from "./pages/settings.js";
import * as admin from "./pages/admin.js";

const ROUTES = [
  [/^\/?$/, experiments, "experiments"],
  [/^\/experiments$/, experiments, "experiments"],
  [/^\/runs\/([^/]+)$/, run, "run"],
  [/^\/compare$/, compare, "compare"],
  [/^\/models$/, models, "models"],
  [/^\/models\/(.+)$/, models, "model"],
  [/^\/monitoring$/, monitoring, "monitoring"],
  [/^\/settings$/, settings, "settings"],
  [/^\/admin$/, admin, "admin"],
];

let generation = 0;

// The banner of a refused call: what happened, what to do, and the server's own words.
const banner = h("div", { id: "auth-banner", class: "banner", role: "alert", hidden: true });
document.getElementById("view").before(banner);
function showAuthBanner(err) {
  if (!err) {
    banner.hidden = true;
    banner.replaceChildren();
    return;
  }
  const scope = ["write", "admin"].includes(err.scope) ? err.scope : "read";
  const haveToken = Boolean(accessToken.get());
  const command = `ragasense token create --name me --scope ${scope}`;
  const what = err.status === 403
    ? `The access token saved in Settings does not have the ${scope} scope, which this needs.`
    : haveToken
      ? "This server refused the access token saved in Settings: it may be mistyped, expired or revoked."
      : `This server requires an access token with the ${scope} scope.`;
  banner.dataset.status = String(err.status);
  banner.dataset.scope = scope;
  banner.replaceChildren(
    h("p", { class: "banner-what" }, h("strong", {}, what), " Create one with ", h("code", {}, command),
      " and paste it in ", h("a", { href: "#/settings" }, "Settings"), "."),
    h("p", { class: "banner-server" }, `The server said: ${err.serverMessage || "(no message)"} `,
      `(HTTP ${err.status}${err.code ? `, ${err.code}` : ""}, ${err.path})`),
    h("button", { type: "button", class: "banner-close", onclick: () => showAuthBanner(null) }, "Dismiss"));
  banner.hidden = false;
}
onAuthError(showAuthBanner);

async function show() {
  const mine = ++generation;
  // The page being left: its timers and charts go with it.
  stopRefresh();
  if (banner.dataset.scope === "write" || banner.dataset.scope === "admin") showAuthBanner(null);
  const raw = location.hash.replace(/^#/, "") || "/experiments";
  const [path, query = ""] = raw.split("?");
  const params = Object.fromEntries(new URLSearchParams(query));
  const view = document.getElementById("view");
  const found = ROUTES.find(([re]) => re.test(path));
  destroyCharts();
  document.body.dataset.state = "loading";
  if (!found) {
    document.body.dataset.page = "not-found";
    view.replaceChildren(h("h1", {}, "Not found"), h("p", {}, `No page at ${path}.`));
    document.body.dataset.state = "ready";
    return;
  }
  const [re, page, name] = found;
  const args = path.match(re).slice(1).map(decodeURIComponent);
  document.body.dataset.page = name;
  for (const a of document.querySelectorAll("[data-nav]")) {
    const current = name.startsWith(a.dataset.nav.replace(/s$/, "")) || (a.dataset.nav === "experiments" && ["run", "compare"].includes(name));
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const root = h("div", { class: "page" });
  view.replaceChildren(root);
  // A page still loading when the hash changes must not draw over the next one.
  const stale = () => mine !== generation;
  try {
    await page.render(root, { args, params, stale, rerender: show });
    if (stale()) return;
    document.body.dataset.state = "ready";
  } catch (err) {
    if (stale()) return;
    console.warn(err);
    const status = statusLine("page-error");
    status.error(err);
    root.append(status.el);
    document.body.dataset.state = "error";
  }
  const title = root.querySelector("h1")?.textContent;
  document.title = title ? `${title} · RagaSense registry` : "RagaSense registry";
}

window.addEventListener("hashchange", () => {
  show();
  document.getElementById("view").focus({ preventScroll: true });
});
show();
