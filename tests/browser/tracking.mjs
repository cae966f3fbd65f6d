// Tracking data for the dashboard suite and benchmark, made through the registry's REST API
// as any MLflow client would: experiments, runs with params, per-step metric histories,
// tags and artifacts; a PNG drawn here; telemetry events whose clip statistics are a
// package's training reference, optionally shifted to plant drift.
import { deflateSync } from "node:zlib";
import { randomUUID } from "node:crypto";

const M = "/api/2.0/mlflow";

/** API tokens by server base URL (for registries that check tokens): see `useToken`. */
const tokens = new Map();

/** Calls to `base` from now on carry `token` as `Authorization: Bearer …`. */
export function useToken(base, token) {
  tokens.set(base, token);
}

const authOf = (base) => (tokens.has(base) ? { Authorization: `Bearer ${tokens.get(base)}` } : {});

/** One JSON call; throws with the server's message on a non-2xx answer. */
export async function call(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method, headers: { ...(body ? { "Content-Type": "application/json" } : {}), ...authOf(base) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

export async function createExperiment(base, name) {
  return (await call(base, "POST", `${M}/experiments/create`, { name })).experiment_id;
}

/**
 * A finished run: `params` and `tags` (objects), `metrics` ({key: [values per step]}),
 * logged in one log-batch. Returns its run info.
 */
export async function createRun(base, experimentId, { name, params = {}, tags = {}, metrics = {}, start = Date.now() }) {
  const { run } = await call(base, "POST", `${M}/runs/create`, { experiment_id: experimentId, run_name: name,
    start_time: start, tags: Object.entries(tags).map(([key, value]) => ({ key, value })) });
  const id = run.info.run_id;
  const points = Object.entries(metrics).flatMap(([key, values]) =>
    values.map((value, step) => ({ key, value, step, timestamp: start + step * 1000 })));
  for (let i = 0; i < Math.max(1, points.length); i += 1000) {
    await call(base, "POST", `${M}/runs/log-batch`, { run_id: id,
      params: i ? [] : Object.entries(params).map(([key, value]) => ({ key, value: String(value) })),
      metrics: points.slice(i, i + 1000) });
  }
  await call(base, "POST", `${M}/runs/update`, { run_id: id, status: "FINISHED", end_time: start + 60_000 });
  return run.info;
}

/** Uploads `bytes` as the run's artifact `path` through the artifact proxy. */
export async function uploadArtifact(base, info, path, bytes) {
  const root = info.artifact_uri.replace(/^mlflow-artifacts:\/*/, "");
  const r = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, { method: "PUT", body: bytes,
    headers: authOf(base) });
  if (!r.ok) throw new Error(`PUT artifact ${path}: ${r.status} ${await r.text()}`);
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG of an n×n confusion matrix (`cells[i][j]` in 0..1), `px` pixels per cell. */
export function confusionPng(cells, px = 24) {
  const n = cells.length, size = n * px;
  const raw = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const v = cells[Math.floor(y / px)][Math.floor(x / px)];
      const at = y * (size * 3 + 1) + 1 + x * 3;
      raw[at] = 255 - Math.round(200 * v);
      raw[at + 1] = 255 - Math.round(150 * v);
      raw[at + 2] = 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/**
 * `count` telemetry events of `model` `version` whose clip statistics are the package's
 * `reference` (manifest.json → reference_stats) with every log-mel mean moved by `shiftDb`.
 */
export function telemetryEvents({ model, version, reference, labels, count, shiftDb = 0 }) {
  const input = {
    ...reference,
    clips: 1,
    frames: 646,
    log_mel: reference.log_mel.map((b) => ({ mean: b.mean + shiftDb, std: b.std })),
    level_db: { mean: reference.level_db.mean + shiftDb, std: 0 },
    voiced_fraction: { mean: reference.voiced_fraction.mean, std: 0 },
    tonic_hz: { mean: reference.tonic_hz.mean, std: 0 },
    seconds: { mean: reference.seconds.mean, std: 0 },
  };
  return Array.from({ length: count }, (_, i) => ({
    event_id: randomUUID(), model, version: String(version), backend: i % 3 ? "webgpu" : "cpu",
    client_time_ms: Date.now(),
    timings_ms: { features: 40 + (i % 7) * 5, inference: 10 + (i % 5) * 3, total: 60 + (i % 11) * 12 },
    top_label: labels[i % labels.length], confidence: 0.55 + ((i * 37) % 45) / 100,
    tradition: "hindustani", tonic_hz: reference.tonic_hz.mean, input,
    runtime: { package_version: "0.1.0", user_agent: "dashboard-test" },
  }));
}
