// Every call the dashboard makes to the registry: same-origin JSON, with the server's own
// error message surfaced. Every call carries the access token from Settings (when one is
// set) as `Authorization: Bearer …`: reads need the read scope and writes the write scope
// on a server that checks tokens; a server that does not (the default on loopback) ignores
// it. A 401 or 403 is also announced to the shell (`onAuthError`), which says what to do.

const TOKEN_KEY = "ragasense.dashboard.accessToken";
// The key of the first cut, when only write calls carried a token; read once, then moved.
const OLD_TOKEN_KEY = "ragasense.dashboard.writeToken";

export const accessToken = {
  get: () => {
    const t = localStorage.getItem(TOKEN_KEY);
    if (t !== null) return t;
    const old = localStorage.getItem(OLD_TOKEN_KEY);
    if (old) {
      localStorage.setItem(TOKEN_KEY, old);
      localStorage.removeItem(OLD_TOKEN_KEY);
    }
    return old || "";
  },
  set: (t) => {
    localStorage.removeItem(OLD_TOKEN_KEY);
    if (t) localStorage.setItem(TOKEN_KEY, t);
    else localStorage.removeItem(TOKEN_KEY);
    authListeners.forEach((f) => f(null));
  },
};

/** An answer the server refused: `status`, and the server's `error_code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message, path, scope) {
    super(`${message || "request failed"} (HTTP ${status}${code ? `, ${code}` : ""}, ${path})`);
    this.status = status;
    this.code = code;
    this.serverMessage = message || "";
    this.path = path;
    /** The scope the call needs on a server that checks tokens: "read" or "write". */
    this.scope = scope;
  }

  /** A refusal for want of a (good enough) access token. */
  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

const authListeners = new Set();
/**
 * `f(err)` on every 401/403 answer (an `ApiError`), and `f(null)` when the token changes or
 * a call of the refused scope succeeds again. Returns a function that unsubscribes.
 */
export function onAuthError(f) {
  authListeners.add(f);
  return () => authListeners.delete(f);
}
let refusedScope = null;

/** The headers every call carries: the access token when one is set. */
export function authHeaders() {
  const t = accessToken.get();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

async function call(method, path, { query, body, write = false, admin = false } = {}) {
  const scope = admin ? "admin" : write ? "write" : "read";
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
  }
  const headers = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "NETWORK", `the registry could not be reached: ${e.message}`, path, scope);
  }
  const text = await resp.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = null;
  }
  if (!resp.ok) {
    const err = new ApiError(resp.status, json?.error_code, json?.message || text.slice(0, 300), path, scope);
    if (err.isAuth) {
      refusedScope = scope;
      authListeners.forEach((f) => f(err));
    }
    throw err;
  }
  if (json === null) throw new ApiError(resp.status, "BAD_JSON", "the answer is not JSON", path, scope);
  if (refusedScope === scope) {
    refusedScope = null;
    authListeners.forEach((f) => f(null));
  }
  return json;
}

/**
 * Fetches an artifact with the access token (an `<img src>` or a plain link cannot send
 * one) and returns it as a Blob; throws an `ApiError` as `call` does.
 */
export async function artifactBlob(url, path) {
  let resp;
  try {
    resp = await fetch(url, { headers: authHeaders() });
  } catch (e) {
    throw new ApiError(0, "NETWORK", `the registry could not be reached: ${e.message}`, path, "read");
  }
  if (!resp.ok) {
    const text = await resp.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    const err = new ApiError(resp.status, json?.error_code, json?.message || text.slice(0, 300), path, "read");
    if (err.isAuth) {
      refusedScope = "read";
      authListeners.forEach((f) => f(err));
    }
    throw err;
  }
  return resp.blob();
}

const M = "/api/2.0/mlflow";
const R = "/api/2.0/ragasense";

export const api = {
  experiments: () => call("POST", `${M}/experiments/search`, { body: { max_results: 1000 } }),
  searchRuns: (body) => call("POST", `${M}/runs/search`, { body }),
  run: (run_id) => call("GET", `${M}/runs/get`, { query: { run_id } }),
  history: (run_id, metric_key) =>
    call("GET", `${M}/metrics/get-history`, { query: { run_id, metric_key, max_results: 25000 } }),
  artifacts: (run_id, path) => call("GET", `${M}/artifacts/list`, { query: { run_id, path } }),
  artifactUrl: (run_id, path) =>
    `/get-artifact?run_id=${encodeURIComponent(run_id)}&path=${encodeURIComponent(path)}`,
  models: () => call("GET", `${M}/registered-models/search`, { query: { max_results: 1000 } }),
  model: (name) => call("GET", `${M}/registered-models/get`, { query: { name } }),
  versions: (name) =>
    call("GET", `${M}/model-versions/search`, {
      query: { filter: `name='${name.replaceAll("'", "\\'")}'`, max_results: 1000 },
    }),
  modelHistory: (name) => call("GET", `${R}/registered-models/history`, { query: { name, max_results: 200 } }),
  transition: (name, version, stage, archive) =>
    call("POST", `${M}/model-versions/transition-stage`, {
      body: { name, version: String(version), stage, archive_existing_versions: archive },
      write: true,
    }),
  setAlias: (name, alias, version) =>
    call("POST", `${M}/registered-models/alias`, { body: { name, alias, version: String(version) }, write: true }),
  rollback: (name) => call("POST", `${R}/registered-models/rollback`, { body: { name }, write: true }),
  summary: (q) => call("GET", "/v1/monitoring/summary", { query: q }),
  timeseries: (q) => call("GET", "/v1/monitoring/timeseries", { query: q }),
  drift: (q) => call("GET", "/v1/monitoring/drift", { query: q }),
  alerts: (q) => call("GET", "/v1/alerts", { query: q }),
  tokens: (includeRevoked) => call("GET", "/v1/tokens", { query: { include_revoked: includeRevoked }, admin: true }),
  createToken: (body) => call("POST", "/v1/tokens", { body, admin: true }),
  revokeToken: (id) => call("DELETE", `/v1/tokens/${encodeURIComponent(id)}`, { admin: true }),
  audit: (q) => call("GET", "/v1/audit", { query: q, admin: true }),
};
