// The dashboard with 10,000 runs in the store: how long the experiments page takes to show
// its first table in headless Chromium (navigation start → first row rendered), the next
// page, and how long runs/search takes to answer one page (50 runs) — newest first, and
// filtered + sorted by a metric. Optionally MLflow's own server and UI with the same runs,
// measured in the same process, one after the other, with the ratios printed.
//   node bench/dashboard/bench.mjs [--runs 10000] [--concurrency 16] [--reps 7] [--peer mlflow]
//                                  [--mlflow-fill store|rest]
// Env: RAGASENSE_SERVER_BIN (default target/release/registry-server), RAGASENSE_UI_DIR,
//      MLFLOW_BIN (the `mlflow` of tests/python-venv.sh, for --peer mlflow; its `python`
//      beside it runs mlflow_fill.py).
//
// Both stores get the same runs (`runSpec`): ours through the REST API (runs/create +
// log-batch, `--concurrency` in flight); MLflow's, by default (`--mlflow-fill store`),
// through MLflow's own tracking store in-process (mlflow_fill.py: the create_run and
// log_batch its REST handlers call), because its server took 80 s for 1,000 runs over
// REST on this kind of machine (≈ 15 min for 10,000); `--mlflow-fill rest` fills it over
// REST like ours. Before timing anything, every run is read back from both servers and compared.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "../../tests/browser/node_modules/playwright-core/index.mjs";
import { call, createExperiment } from "../../tests/browser/tracking.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const { values: opt } = parseArgs({ options: {
  runs: { type: "string", default: "10000" }, concurrency: { type: "string", default: "16" },
  reps: { type: "string", default: "7" }, peer: { type: "string", default: "" },
  "mlflow-fill": { type: "string", default: "store" } } });
const N = Number(opt.runs), CONC = Number(opt.concurrency), REPS = Number(opt.reps);
if (!["store", "rest"].includes(opt["mlflow-fill"])) throw new Error("--mlflow-fill is store or rest");
const target = process.env.CARGO_TARGET_DIR || join(root, "target");
const serverBin = process.env.RAGASENSE_SERVER_BIN || join(target, "release/registry-server");
const uiDir = process.env.RAGASENSE_UI_DIR || join(root, "dashboard/dist");
const mlflowBin = process.env.MLFLOW_BIN || "mlflow";
const M = "/api/2.0/mlflow";
const EXPERIMENT = "bench-10k";
mkdirSync(join(target, "bench"), { recursive: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load1 = () => Number(loadavg()[0].toFixed(2));
const log = (msg) => console.error(`bench/dashboard: ${msg}`);
const procs = [];
const dirs = [];
// Servers run in process groups of their own and go as whole groups: `mlflow server` leaves
// uvicorn workers and job consumers behind when only its own process is killed.
process.on("exit", () => {
  for (const p of procs) {
    try { process.kill(-p.pid, "SIGKILL"); } catch { /* already gone */ }
  }
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => process.exit(130));

/** Run `i` of the benchmark: 5 params, 4 metrics over 3 steps, 2 tags; left RUNNING. */
function runSpec(i, start) {
  const t = start + i * 1000;
  const metrics = [];
  for (let s = 0; s < 3; s++) {
    metrics.push({ key: "loss", value: 2 / (1 + s + (i % 13)), step: s, timestamp: t + s },
      { key: "accuracy", value: 0.5 + ((i * 7919) % 500) / 1000 - (2 - s) * 0.01, step: s, timestamp: t + s },
      { key: "val_loss", value: 2.2 / (1 + s + (i % 11)), step: s, timestamp: t + s },
      { key: "f1", value: 0.4 + ((i * 104729) % 500) / 1000, step: s, timestamp: t + s });
  }
  return {
    run_name: `run-${i}`, start_time: t,
    tags: { kind: i % 10 ? "sweep" : "baseline", seed: String(i % 7) },
    params: Object.fromEntries([["lr", [0.1, 0.03, 0.01, 0.003, 0.001][i % 5]], ["batch", [16, 32, 64][i % 3]],
      ["arch", i % 2 ? "cnn" : "crnn"], ["epochs", 20 + (i % 4) * 10], ["seed", i]].map(([k, v]) => [k, String(v)])),
    metrics,
  };
}
const start = Date.now() - N * 1000;
const specs = Array.from({ length: N }, (_, i) => runSpec(i, start));

async function startOurs() {
  const store = mkdtempSync(join(tmpdir(), "ragasense-dash-bench-"));
  dirs.push(store);
  const p = spawn(serverBin, ["--port", "0", "--backend-store-uri", `sqlite:///${store}/db.sqlite`,
    "--artifacts-destination", join(store, "artifacts"), "--ui-dir", uiDir], { stdio: ["ignore", "pipe", "ignore"], detached: true });
  procs.push(p);
  return new Promise((ok, fail) => {
    let out = "";
    p.stdout.on("data", (d) => { out += d; const m = out.match(/listening on (http:\/\/\S+)/); if (m) ok(m[1]); });
    p.on("exit", (c) => fail(new Error(`registry exited with ${c}`)));
  });
}

async function startMlflow(store) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const p = spawn(mlflowBin, ["server", "--backend-store-uri", `sqlite:///${store}/db.sqlite`,
    "--artifacts-destination", join(store, "artifacts"), "--host", "127.0.0.1", "--port", String(port)],
  { stdio: "ignore", detached: true, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
  procs.push(p);
  p.on("exit", (c) => { if (c) log(`mlflow server exited with ${c}`); });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(`${url}/health`)).ok) return url; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("mlflow server did not start in 300 s");
}

/** The runs through the REST API, CONC requests in flight: runs/create + runs/log-batch each. */
async function fillRest(base) {
  const exp = await createExperiment(base, EXPERIMENT);
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const s = specs[next++];
      const { run } = await call(base, "POST", `${M}/runs/create`, { experiment_id: exp, run_name: s.run_name,
        start_time: s.start_time, tags: Object.entries(s.tags).map(([key, value]) => ({ key, value })) });
      await call(base, "POST", `${M}/runs/log-batch`, { run_id: run.info.run_id, metrics: s.metrics,
        params: Object.entries(s.params).map(([key, value]) => ({ key, value })) });
    }
  };
  await Promise.all(Array.from({ length: CONC }, worker));
  return { exp, fill_s: (performance.now() - t0) / 1000, fill: `REST, ${CONC} in flight` };
}

/** MLflow's store filled in-process by its own tracking store (mlflow_fill.py). */
function fillMlflowStore(store) {
  const runsFile = join(store, "runs.jsonl");
  writeFileSync(runsFile, specs.map((s) => JSON.stringify(s)).join("\n") + "\n");
  const python = process.env.MLFLOW_PYTHON || join(dirname(mlflowBin), "python");
  const t0 = performance.now();
  const r = spawnSync(python, [join(here, "mlflow_fill.py"), `sqlite:///${store}/db.sqlite`, runsFile, EXPERIMENT],
    { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mlflow_fill.py failed (exit ${r.status})`);
  return { exp: r.stdout.trim().split("\n").at(-1), fill_s: (performance.now() - t0) / 1000,
    fill: "MLflow's SqlAlchemyStore in-process (create_run + log_batch)" };
}

/** Every run of `exp`, newest first, as comparable values (no ids, no mlflow.* tags). */
async function allRuns(base, exp) {
  const out = [];
  let page_token;
  do {
    const r = await call(base, "POST", `${M}/runs/search`, { experiment_ids: [exp], max_results: 1000,
      order_by: ["attributes.start_time DESC"], page_token });
    out.push(...(r.runs || []).map(comparable));
    page_token = r.next_page_token;
  } while (page_token);
  return out;
}
function comparable(r) {
  const kv = (xs, f = (x) => x.value) => Object.fromEntries((xs || []).map((x) => [x.key, f(x)]).sort(([a], [b]) => a.localeCompare(b)));
  return {
    name: r.info.run_name, start_time: Number(r.info.start_time), status: r.info.status,
    params: kv(r.data?.params),
    metrics: kv(r.data?.metrics, (m) => [Number(m.value), Number(m.step ?? 0)]),
    tags: kv((r.data?.tags || []).filter((t) => !t.key.startsWith("mlflow."))),
  };
}

const FILTERED = { filter: "params.batch = '32' and metrics.accuracy > 0.6", order_by: ["metrics.accuracy DESC"] };
async function searchTimes(base, exp) {
  const time = async (body) => {
    const xs = [];
    let names;
    for (let r = 0; r < REPS; r++) {
      const t = performance.now();
      const res = await call(base, "POST", `${M}/runs/search`, { experiment_ids: [exp], max_results: 50, ...body });
      xs.push(performance.now() - t);
      if ((res.runs || []).length !== 50) throw new Error(`runs/search gave ${(res.runs || []).length} runs`);
      names = res.runs.map((x) => x.info.run_name);
    }
    return [median(xs), names];
  };
  const [newest_ms, newest] = await time({ order_by: ["attributes.start_time DESC"] });
  const [filtered_sorted_ms, filtered] = await time(FILTERED);
  return { times: { newest_ms, filtered_sorted_ms }, answers: { newest, filtered } };
}

/** The page marks `dashboard:runs-table` once its table of runs is in the document. */
const tableMark = () => performance.getEntriesByName("dashboard:runs-table").at(-1)?.startTime;

async function pageTimes(browser, who, url, rowSelector, next) {
  const loads = [], nexts = [];
  for (let r = 0; r < REPS; r++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForSelector(rowSelector, { timeout: 180_000 });
    // Our page marks the moment; MLflow's is read when the row is seen.
    loads.push(await page.evaluate(tableMark) ?? await page.evaluate(() => performance.now()));
    // What "first table" means, to look at: the page when it was taken.
    if (r === 0) await page.screenshot({ path: join(target, `bench/dashboard-${who}-first-table.png`) });
    if (next) {
      const t = await page.evaluate(() => { const at = performance.now(); document.querySelector("#next").click(); return at; });
      await page.waitForFunction((t0) => (performance.getEntriesByName("dashboard:runs-table").at(-1)?.startTime ?? 0) > t0, t);
      nexts.push((await page.evaluate(tableMark)) - t);
    }
    await page.close();
  }
  return { first_table_ms: median(loads), next_page_ms: nexts.length ? median(nexts) : null };
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--headless=new", "--disable-background-networking", "--disable-component-update", "--no-first-run"] });
const result = { runs: N, reps: REPS, server: serverBin, loadavg_start: load1() };
let oursBase, oursExp, oursAnswers;
{
  log(`ours: filling ${N} runs over REST`);
  oursBase = await startOurs();
  const { exp, fill_s, fill } = await fillRest(oursBase);
  oursExp = exp;
  log(`ours: filled in ${fill_s.toFixed(1)} s; timing`);
  const { times, answers } = await searchTimes(oursBase, exp);
  oursAnswers = answers;
  result.ours = { fill, fill_s, ...times,
    ...(await pageTimes(browser, "ours", `${oursBase}/ui/#/experiments?exp=${exp}`, "#runs tbody tr", "#next")),
    loadavg_after: load1() };
}
if (opt.peer === "mlflow") {
  const store = mkdtempSync(join(tmpdir(), "mlflow-dash-bench-"));
  dirs.push(store);
  const version = spawnSync(mlflowBin, ["--version"], { encoding: "utf8" }).stdout.trim().replace(/^mlflow, version /, "");
  let filled;
  let base;
  if (opt["mlflow-fill"] === "store") {
    log(`mlflow (${version}): filling ${N} runs through its tracking store`);
    filled = fillMlflowStore(store);
    base = await startMlflow(store);
  } else {
    base = await startMlflow(store);
    log(`mlflow (${version}): filling ${N} runs over REST`);
    filled = await fillRest(base);
  }
  const { exp, fill_s, fill } = filled;
  log(`mlflow: filled in ${fill_s.toFixed(1)} s; checking both stores hold the same runs`);
  const t0 = performance.now();
  const [a, b] = await Promise.all([allRuns(oursBase, oursExp), allRuns(base, exp)]);
  if (a.length !== N || b.length !== N) throw new Error(`runs read back: ours ${a.length}, mlflow ${b.length}, expected ${N}`);
  for (let i = 0; i < N; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) {
      throw new Error(`run ${i} differs:\n ours   ${JSON.stringify(a[i])}\n mlflow ${JSON.stringify(b[i])}`);
    }
  }
  result.same_runs = `all ${N} runs equal in both (name, start, status, params, latest metrics and steps, tags), `
    + `read back in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  log(result.same_runs);
  // MLflow 3 opens an untagged experiment on its GenAI overview: mark it a model-training one,
  // then time its runs table (each row links to /runs/ID).
  await call(base, "POST", `${M}/experiments/set-experiment-tag`,
    { experiment_id: exp, key: "mlflow.experimentKind", value: "custom_model_development" });
  log("mlflow: timing");
  const { times, answers } = await searchTimes(base, exp);
  for (const k of Object.keys(answers)) {
    if (answers[k].join() !== oursAnswers[k].join()) throw new Error(`runs/search (${k}) answers differ: ours `
      + `${oursAnswers[k].slice(0, 5).join()}…, mlflow ${answers[k].slice(0, 5).join()}…`);
  }
  result.mlflow = { version, fill, fill_s, ...times,
    ...(await pageTimes(browser, "mlflow", `${base}/#/experiments/${exp}/runs`, "a[href*='/runs/']", null)),
    loadavg_after: load1() };
}
await browser.close();

const fmt = (x) => (typeof x === "number" ? x.toFixed(1) : "—").padStart(10);
// `ratio: false`: the two numbers are not the same measure (the stores are filled differently).
const row = (label, key, ratio = true) => {
  const o = result.ours[key], m = result.mlflow?.[key];
  console.log(`${label.padEnd(44)} ${fmt(o)}` + (result.mlflow
    ? ` ${fmt(m)} ${(ratio && typeof o === "number" && typeof m === "number" ? `${(m / o).toFixed(1)}×` : "—").padStart(12)}` : ""));
};
console.log(`\ndashboard bench: ${N} runs, median of ${REPS}, load average ${result.loadavg_start} at start`
  + `${result.mlflow ? "\n" + " ".repeat(45) + "     ours     mlflow  mlflow÷ours" : ""}`);
row("store filled (s)", "fill_s", result.ours.fill === result.mlflow?.fill);
row("runs/search, 50 newest (ms)", "newest_ms");
row("runs/search, filtered + metric order (ms)", "filtered_sorted_ms");
row("experiments page: navigation → table (ms)", "first_table_ms");
row("experiments page: next page (ms)", "next_page_ms");
console.log(`\nours: ${serverBin}; filled by ${result.ours.fill}; load average ${result.ours.loadavg_after} after`);
if (result.mlflow) {
  console.log(`mlflow ${result.mlflow.version}: filled by ${result.mlflow.fill}; load average ${result.mlflow.loadavg_after} after`);
  console.log(`same data: ${result.same_runs}`);
}
writeFileSync(join(target, "bench/dashboard.json"), JSON.stringify(result, null, 2));
console.log(`\nwritten: ${join(target, "bench/dashboard.json")} (first-table screenshots beside it)`);
process.exit(0);
