// The dashboard with 10,000 runs in the store: how long the experiments page takes to show
// its first table in headless Chromium (navigation start → first row rendered), the next
// page, and how long runs/search takes to answer one page (50 runs) — newest first, and
// filtered + sorted by a metric. Optionally MLflow's own server and UI with the same runs.
//   node bench/dashboard/bench.mjs [--runs 10000] [--concurrency 16] [--reps 7] [--peer mlflow]
// Env: RAGASENSE_SERVER_BIN (default target/release/registry-server), RAGASENSE_UI_DIR,
//      MLFLOW_BIN (the `mlflow` of tests/python-venv.sh, for --peer mlflow).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "../../tests/browser/node_modules/playwright-core/index.mjs";
import { call, createExperiment } from "../../tests/browser/tracking.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { values: opt } = parseArgs({ options: {
  runs: { type: "string", default: "10000" }, concurrency: { type: "string", default: "16" },
  reps: { type: "string", default: "7" }, peer: { type: "string", default: "" } } });
const N = Number(opt.runs), CONC = Number(opt.concurrency), REPS = Number(opt.reps);
const target = process.env.CARGO_TARGET_DIR || join(root, "target");
const serverBin = process.env.RAGASENSE_SERVER_BIN || join(target, "release/registry-server");
const uiDir = process.env.RAGASENSE_UI_DIR || join(root, "dashboard/dist");
const M = "/api/2.0/mlflow";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const procs = [];
process.on("exit", () => procs.forEach((p) => p.kill("SIGKILL")));

async function startOurs() {
  const store = mkdtempSync(join(tmpdir(), "ragasense-dash-bench-"));
  const p = spawn(serverBin, ["--port", "0", "--backend-store-uri", `sqlite:///${store}/db.sqlite`,
    "--artifacts-destination", join(store, "artifacts"), "--ui-dir", uiDir], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(p);
  return new Promise((ok, fail) => {
    let out = "";
    p.stdout.on("data", (d) => { out += d; const m = out.match(/listening on (http:\/\/\S+)/); if (m) ok(m[1]); });
    p.on("exit", (c) => fail(new Error(`registry exited with ${c}`)));
  });
}

async function startMlflow() {
  const store = mkdtempSync(join(tmpdir(), "mlflow-dash-bench-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const p = spawn(process.env.MLFLOW_BIN || "mlflow", ["server", "--backend-store-uri", `sqlite:///${store}/db.sqlite`,
    "--artifacts-destination", join(store, "artifacts"), "--host", "127.0.0.1", "--port", String(port)],
  { stdio: "ignore", env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(`${url}/health`)).ok) return url; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("mlflow server did not start in 300 s");
}

/** N runs, each with 5 params, 4 metrics over 3 steps and 2 tags, CONC requests in flight. */
async function fill(base) {
  const exp = await createExperiment(base, "bench-10k");
  const t0 = performance.now();
  let next = 0;
  const start = Date.now() - N * 1000;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const { run } = await call(base, "POST", `${M}/runs/create`, { experiment_id: exp, run_name: `run-${i}`,
        start_time: start + i * 1000, tags: [{ key: "kind", value: i % 10 ? "sweep" : "baseline" }, { key: "seed", value: String(i % 7) }] });
      const metrics = [];
      for (let s = 0; s < 3; s++) {
        metrics.push({ key: "loss", value: 2 / (1 + s + (i % 13)), step: s, timestamp: start + i * 1000 + s },
          { key: "accuracy", value: 0.5 + ((i * 7919) % 500) / 1000 - (2 - s) * 0.01, step: s, timestamp: start + i * 1000 + s },
          { key: "val_loss", value: 2.2 / (1 + s + (i % 11)), step: s, timestamp: start + i * 1000 + s },
          { key: "f1", value: 0.4 + ((i * 104729) % 500) / 1000, step: s, timestamp: start + i * 1000 + s });
      }
      await call(base, "POST", `${M}/runs/log-batch`, { run_id: run.info.run_id, metrics,
        params: [["lr", [0.1, 0.03, 0.01, 0.003, 0.001][i % 5]], ["batch", [16, 32, 64][i % 3]], ["arch", i % 2 ? "cnn" : "crnn"],
          ["epochs", 20 + (i % 4) * 10], ["seed", i]].map(([key, value]) => ({ key, value: String(value) })) });
    }
  };
  await Promise.all(Array.from({ length: CONC }, worker));
  return { exp, fill_s: (performance.now() - t0) / 1000 };
}

async function searchTimes(base, exp) {
  const time = async (body) => {
    const xs = [];
    for (let r = 0; r < REPS; r++) {
      const t = performance.now();
      const res = await call(base, "POST", `${M}/runs/search`, { experiment_ids: [exp], max_results: 50, ...body });
      xs.push(performance.now() - t);
      if ((res.runs || []).length !== 50) throw new Error(`runs/search gave ${(res.runs || []).length} runs`);
    }
    return median(xs);
  };
  return {
    newest_ms: await time({ order_by: ["attributes.start_time DESC"] }),
    filtered_sorted_ms: await time({ filter: "params.batch = '32' and metrics.accuracy > 0.6", order_by: ["metrics.accuracy DESC"] }),
  };
}

/** The page marks `dashboard:runs-table` once its table of runs is in the document. */
const tableMark = () => performance.getEntriesByName("dashboard:runs-table").at(-1)?.startTime;

async function pageTimes(browser, url, rowSelector, next) {
  const loads = [], nexts = [];
  for (let r = 0; r < REPS; r++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForSelector(rowSelector, { timeout: 120_000 });
    // Our page marks the moment; MLflow's is read when the row is seen.
    loads.push(await page.evaluate(tableMark) ?? await page.evaluate(() => performance.now()));
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
const result = { runs: N, reps: REPS, server: serverBin };
{
  const base = await startOurs();
  const { exp, fill_s } = await fill(base);
  result.ours = { fill_s, ...(await searchTimes(base, exp)),
    ...(await pageTimes(browser, `${base}/ui/#/experiments?exp=${exp}`, "#runs tbody tr", "#next")) };
}
if (opt.peer === "mlflow") {
  const base = await startMlflow();
  const { exp, fill_s } = await fill(base);
  // MLflow 3 opens an untagged experiment on its GenAI overview: mark it a model-training one,
  // then time its runs table (each row links to /runs/ID).
  await call(base, "POST", `${M}/experiments/set-experiment-tag`,
    { experiment_id: exp, key: "mlflow.experimentKind", value: "custom_model_development" });
  result.mlflow = { fill_s, ...(await searchTimes(base, exp)),
    ...(await pageTimes(browser, `${base}/#/experiments/${exp}/runs`, "a[href*='/runs/']", null)) };
}
await browser.close();

const row = (label, key) => console.log(`${label.padEnd(44)} ${String(result.ours[key]?.toFixed?.(1) ?? "").padStart(10)}`
  + (result.mlflow ? ` ${String(result.mlflow[key]?.toFixed?.(1) ?? "—").padStart(10)}` : ""));
console.log(`\ndashboard bench: ${N} runs, median of ${REPS}${result.mlflow ? "            ours     mlflow" : ""}`);
row("store filled (s)", "fill_s");
row("runs/search, 50 newest (ms)", "newest_ms");
row("runs/search, filtered + metric order (ms)", "filtered_sorted_ms");
row("experiments page: navigation → table (ms)", "first_table_ms");
row("experiments page: next page (ms)", "next_page_ms");
mkdirSync(join(target, "bench"), { recursive: true });
writeFileSync(join(target, "bench/dashboard.json"), JSON.stringify(result, null, 2));
console.log(`\nwritten: ${join(target, "bench/dashboard.json")}`);
process.exit(0);
