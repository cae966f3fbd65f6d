// Every call the dashboard makes to the registry: same-origin JSON, with the server's own
// error message surfaced; write calls carry the write token from the settings.

const TOKEN_KEY = "ragasense.dashboard.writeToken";

export const writeToken = {
  get: () => localStorage.getItem(TOKEN_KEY) || "",
  set: (t) => (t ? localStorage.setItem(TOKEN_KEY, t) : localStorage.removeItem(TOKEN_KEY)),
};

/** An answer the server refused: `status`, and the server's `error_code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(`${message || "request failed"} (HTTP ${status}${code ? `, ${code}` : ""}, ${path})`);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, { query, body, write = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (write && writeToken.get()) headers.Authorization = `Bearer ${writeToken.get()}`;
  let resp;
  try {
    resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "NETWORK", `the registry could not be reached: ${e.message}`, path);
  }
  const text = await resp.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = null;
  }
  if (!resp.ok) throw new ApiError(resp.status, json?.error_code, json?.message || text.slice(0, 300), path);
  if (json === null) throw new ApiError(resp.status, "BAD_JSON", "the answer is not JSON", path);
  return json;
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
};
