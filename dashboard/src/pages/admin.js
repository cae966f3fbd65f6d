// Admin (needs a token with the admin scope when the server checks tokens): the API tokens —
// list, create (the new token is shown once), revoke — and the audit log of every write
// and admin action, filtered by actor, route and status, newest first, paged.
import { api } from "../api.js";
import { h, table, fmtTime, statusLine, labelled, route, section } from "../ui.js";

const SCOPES = ["read", "write", "admin", "telemetry"];

export async function render(root, { params, stale, rerender }) {
  root.append(h("h1", {}, "Admin"));
  const [tokens, audit] = await Promise.all([
    api.tokens(true),
    api.audit({ actor: params.actor, route: params.route, status: params.status, max_results: 50, page_token: params.page }),
  ]);
  if (stale()) return;
  root.append(tokensSection(tokens.tokens || [], rerender), auditSection(audit, params));
}

function tokensSection(tokens, rerender) {
  const status = statusLine("token-status");
  const created = h("div", { id: "new-token" });
  const name = h("input", { id: "token-name", name: "name", required: true, maxlength: 100, size: 20 });
  const scope = h("select", { id: "token-scope", name: "scope" }, SCOPES.map((s) => h("option", { value: s }, s)));
  const models = h("input", { id: "token-models", name: "models", size: 20, placeholder: "raga-detector",
    "aria-describedby": "token-models-help" });
  const form = h("form", { class: "toolbar", onsubmit: async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), scopes: [scope.value] };
    const list = models.value.split(",").map((m) => m.trim()).filter(Boolean);
    if (list.length) body.models = list;
    try {
      const t = await api.createToken(body);
      created.replaceChildren(h("p", { class: "notice" }, `Token "${t.name}" (${t.scopes.join(", ")}) — copy it now, it is not shown again: `,
        h("code", { id: "new-token-value" }, t.token)));
      status.info(`Created token ${t.id}.`);
      name.value = "";
      models.value = "";
    } catch (err) {
      status.error(err);
    }
  } }, labelled("Name", name), labelled("Scope", scope), labelled("Models (telemetry keys)", models),
  h("button", { type: "submit" }, "Create token"));
  const rows = table({
    id: "tokens", caption: "API tokens (secrets are never shown again)", rows: tokens,
    empty: "No tokens yet. With auth on, the first admin token comes from `ragasense token create --backend-store-uri …`.",
    columns: [
      { label: "Id", cell: (t) => h("code", {}, t.id) },
      { label: "Name", cell: (t) => t.name },
      { label: "Scopes", cell: (t) => t.scopes.join(", ") + (t.models ? ` (${t.models.join(", ")})` : "") },
      { label: "Created", cell: (t) => `${fmtTime(t.created_ms)} by ${t.created_by}` },
      { label: "Last used", cell: (t) => fmtTime(t.last_used_ms) },
      { label: "State", cell: (t) => t.revoked_ms ? `revoked ${fmtTime(t.revoked_ms)}`
        : t.expires_ms ? `expires ${fmtTime(t.expires_ms)}` : "active" },
      { label: "", cell: (t) => t.revoked_ms ? "" : h("button", { type: "button", class: "revoke", "data-id": t.id,
        onclick: async () => {
          if (!confirm(`Revoke token "${t.name}" (${t.id})? Every request with it is refused from now on.`)) return;
          try {
            await api.revokeToken(t.id);
            await rerender();
          } catch (err) {
            status.error(err);
          }
        } }, "Revoke") },
    ],
  });
  return section("Tokens", "tokens-section", form,
    h("p", { id: "token-models-help", class: "hint" },
      "read · write (tracking and registry) · admin (deletes, tokens, audit) · telemetry: a publishable key for web pages, optionally limited to models (comma-separated)."),
    created, status.el, rows);
}

function auditSection(audit, params) {
  const actor = h("input", { id: "audit-actor", name: "actor", value: params.actor || "", size: 14 });
  const routeInput = h("input", { id: "audit-route", name: "route", value: params.route || "", size: 24, placeholder: "model-versions" });
  const statusSel = h("select", { id: "audit-status", name: "status" },
    [["", "any"], ["200", "200"], ["400", "400"], ["403", "403 (refused)"], ["404", "404"]].map(([v, label]) =>
      h("option", { value: v, selected: (params.status || "") === v }, label)));
  const form = h("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    location.hash = route("/admin", { actor: actor.value.trim(), route: routeInput.value.trim(), status: statusSel.value });
  } }, labelled("Actor", actor), labelled("Route contains", routeInput), labelled("Status", statusSel),
  h("button", { type: "submit" }, "Filter"));
  const events = audit.events || [];
  const details = (d) => d ? Object.entries(d).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : v}`).join(" ") : "";
  const rows = table({
    id: "audit", caption: "Writes and admin actions, newest first", rows: events,
    empty: "Nothing audited matches.",
    columns: [
      { label: "Time (UTC)", cell: (e) => fmtTime(e.time_ms) },
      { label: "Actor", cell: (e) => e.actor },
      { label: "Action", cell: (e) => h("code", {}, `${e.method} ${e.route}`) },
      { label: "What", cell: (e) => details(e.details) || e.path },
      { label: "Status", num: true, cell: (e) => h("span", { class: e.status >= 400 ? "bad" : null }, String(e.status)) },
      { label: "From", cell: (e) => e.remote || "" },
    ],
  });
  const next = audit.next_page_token;
  const pager = h("p", { class: "pager" },
    params.page && h("a", { href: route("/admin", { ...params, page: "" }), id: "audit-newest" }, "← Newest"), " ",
    next && h("a", { href: route("/admin", { ...params, page: next }), id: "audit-older" }, "Older →"));
  return section("Audit log", "audit-section", form, rows, pager);
}
