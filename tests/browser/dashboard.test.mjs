// The registry's dashboard (dashboard/dist, built by scripts/build-dashboard.sh) in headless
// Chromium against a real registry serving it at /ui/: real runs made through the REST API
// are listed, filtered and sorted; a run shows its params, curves and a PNG artifact inline;
// three runs compare; promoting the second published version (with a write token) and
// rolling back update the stages and the promotion history; drift planted through telemetry
// fires an alert the monitoring page shows. Screenshots in target/browser-screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { root, paths, startRegistry } from "./harness.mjs";
import { call, confusionPng, createExperiment, createRun, telemetryEvents, uploadArtifact } from "./tracking.mjs";

const uiDir = process.env.RAGASENSE_UI_DIR || join(root, "dashboard/dist");
if (!existsSync(join(uiDir, "index.html"))) throw new Error(`${uiDir}: no dashboard (scripts/build-dashboard.sh builds it)`);
const shots = join(root, "target/browser-screenshots");
mkdirSync(shots, { recursive: true });
const MODEL = "raga-detector";

let registry, browser, page, exp;
const runs = [];
before(async () => {
  // Alert rules evaluated every half second over a short window, so planted drift fires fast.
  const rules = join(shots, "..", "dashboard-alert-rules.toml");
  writeFileSync(rules, `interval_s = 0.5
[[rules]]
name = "input-drift"
metric = "drift_psi"
op = ">"
threshold = 0.2
window_s = 600
min_samples = 10
`);
  registry = await startRegistry({ uiDir, args: ["--alert-rules", rules] });
  // A second version of the same package, in no stage yet.
  execFileSync(paths.ragasense, ["models", "publish", paths.model, "--tracking-uri", registry.url], { stdio: "ignore" });

  exp = await createExperiment(registry.url, "dashboard-sweep");
  const start = Date.now() - 3600e3;
  const configs = [
    { lr: 0.01, batch: 32, arch: "cnn" }, { lr: 0.003, batch: 32, arch: "cnn" },
    { lr: 0.001, batch: 64, arch: "crnn" }, { lr: 0.03, batch: 16, arch: "cnn" }];
  for (const [i, p] of configs.entries()) {
    const rate = 0.08 + i * 0.04;
    const steps = 20;
    const loss = Array.from({ length: steps }, (_, s) => 2.5 * Math.exp(-rate * s) + 0.1);
    const accuracy = Array.from({ length: steps }, (_, s) => 0.95 - 0.85 * Math.exp(-rate * s) - (i === 3 ? 0.2 : 0));
    const info = await createRun(registry.url, exp, {
      name: `sweep-${i}`, params: { ...p, epochs: steps }, start: start + i * 60e3,
      tags: { kind: "sweep", "mlflow.note.content": `run ${i}` },
      metrics: { loss, accuracy, "system/cpu_percent": loss.map((_, s) => 40 + ((s * 13) % 50)) },
    });
    runs.push(info);
  }
  const cm = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.02, 0.08, 0.9]];
  await uploadArtifact(registry.url, runs[0], "plots/confusion_matrix.png", confusionPng(cm));
  await uploadArtifact(registry.url, runs[0], "report.json", Buffer.from(JSON.stringify({ accuracy: 0.93 })));

  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--headless=new", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => m.type() === "error" && console.error("[page]", m.text()));
  page.on("pageerror", (e) => console.error("[page error]", e.message));
  page.on("dialog", (d) => d.accept());
});
after(async () => {
  await browser?.close();
  registry?.stop();
});

/** Opens a route of the dashboard and waits until its data is shown. */
async function open(hash, p = page) {
  await p.goto(`${registry.url}/ui/${hash}`);
  return settled(p);
}

async function settled(p = page) {
  await p.waitForSelector("body[data-state=ready], body[data-state=error]", { timeout: 15_000 });
  const state = await p.getAttribute("body", "data-state");
  assert.equal(state, "ready", await p.textContent("#view"));
}

/** Waits for a new page after `action` (a click that changes the hash). */
async function navigate(action, p = page) {
  await p.evaluate(() => { document.body.dataset.state = "moving"; });
  await action();
  await settled(p);
}

const cellTexts = (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));

test("experiments: runs listed, filtered and sorted by the server, then a run, then compare", async () => {
  // All experiments: the runs `models publish` made, and the sweep.
  await open("#/experiments");
  assert.ok((await cellTexts("#runs tbody th a")).includes("sweep-0"));
  await navigate(() => page.selectOption("#experiment", exp));
  assert.deepEqual(await cellTexts("#runs tbody th a"), ["sweep-3", "sweep-2", "sweep-1", "sweep-0"]);

  await page.fill("#filter", "metrics.accuracy > 0.7 and params.batch = '32'");
  await navigate(() => page.press("#filter", "Enter"));
  assert.deepEqual((await cellTexts("#runs tbody th a")).sort(), ["sweep-0", "sweep-1"]);
  await navigate(() => page.click("#filter ~ button[type=button], form[role=search] button[type=button]"));
  assert.equal((await cellTexts("#runs tbody th a")).length, 4);

  // Sorting by a metric column asks the server (order_by) for the best run first.
  await navigate(() => page.click("button.sort[data-field='metrics.accuracy']"));
  const sortedDesc = await cellTexts("#runs tbody th a");
  assert.equal(sortedDesc.at(-1), "sweep-3", sortedDesc.join());
  assert.equal(await page.getAttribute("th:has(button[data-field='metrics.accuracy'])", "aria-sort"), "descending");
  await page.screenshot({ path: join(shots, "dashboard-experiments.png"), fullPage: true });

  await navigate(() => page.click("#runs tbody th a:text-is('sweep-0')"));
  assert.equal(await page.textContent("h1"), "sweep-0");
  const params = Object.fromEntries(await page.$$eval("#params-table tbody tr", (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent))));
  assert.deepEqual(params, { arch: "cnn", batch: "32", epochs: "20", lr: "0.01" });
  assert.ok((await cellTexts("#tags-table tbody td")).includes("sweep"));
  await page.waitForSelector("#chart-loss canvas");
  assert.equal(await page.getAttribute("#chart-loss", "data-points"), "20");
  await page.waitForSelector("#chart-accuracy canvas");
  await page.waitForSelector("#system-charts figure canvas");
  // The PNG artifact shows inline (decoded by the browser) with a download link.
  await page.click("#artifacts-tree details[data-path=plots] summary");
  const img = await page.waitForSelector("img[alt='Artifact plots/confusion_matrix.png']");
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, img);
  assert.equal(await img.evaluate((el) => el.naturalWidth), 72);
  const download = await page.getAttribute("li[data-path='report.json'] a", "href");
  const body = await (await fetch(new URL(download, `${registry.url}/ui/`))).json();
  assert.deepEqual(body, { accuracy: 0.93 });
  await page.screenshot({ path: join(shots, "dashboard-run.png"), fullPage: true });

  await navigate(() => page.click("nav.crumbs a"));
  for (const r of runs.slice(0, 3)) await page.check(`#runs input[data-run='${r.run_id}']`);
  assert.equal(await page.textContent("#compare"), "Compare selected (3)");
  await navigate(() => page.click("#compare"));
  assert.equal(await page.textContent("h1"), "Compare 3 runs");
  const differing = await page.$$eval("#param-diff tbody tr[data-differs=true]", (rows) => rows.map((r) => r.dataset.param));
  assert.deepEqual(differing.sort(), ["arch", "batch", "lr"]);
  await page.waitForSelector("#compare-loss canvas");
  assert.equal(await page.getAttribute("#compare-loss", "data-series"), "3");
  assert.equal(await page.getAttribute("#compare-loss", "data-points"), "60");
  await page.screenshot({ path: join(shots, "dashboard-compare.png"), fullPage: true });
});

test("a run that does not exist shows the server's error", async () => {
  await page.goto(`${registry.url}/ui/#/runs/0123456789abcdef0123456789abcdef`);
  await page.waitForSelector("body[data-state=error]");
  const text = await page.textContent("#page-error");
  assert.match(text, /RESOURCE_DOES_NOT_EXIST|not found|does not exist/i, text);
  assert.equal(await page.getAttribute("#page-error", "role"), "alert");
});

test("models: promote v2 with a write token and roll back; the history follows", async () => {
  await open(`#/models/${MODEL}`);
  // Without a token the write buttons are off and the page says why.
  assert.ok(await page.isVisible("#no-token"));
  assert.ok(await page.isDisabled("tr[data-version='2'] button[data-action=promote]"));

  await open("#/settings");
  await page.fill("#write-token", "test-token");
  await page.click("form button[type=submit]");
  assert.equal(await page.evaluate(() => localStorage.getItem("ragasense.dashboard.writeToken")), "test-token");

  let auth = null;
  page.on("request", (r) => { if (r.url().includes("transition-stage")) auth = r.headers().authorization; });
  await open(`#/models/${MODEL}`);
  assert.equal(await page.getAttribute("tr[data-version='1']", "data-stage"), "Production");
  assert.equal(await page.getAttribute("tr[data-version='2']", "data-stage"), "None");
  await navigate(() => page.click("tr[data-version='2'] button[data-action=promote]"));
  assert.equal(auth, "Bearer test-token");
  assert.equal(await page.getAttribute("tr[data-version='2']", "data-stage"), "Production");
  assert.equal(await page.getAttribute("tr[data-version='1']", "data-stage"), "Archived");
  const newest = await page.$$eval("#history tbody tr:first-child td", (c) => c.map((x) => x.textContent));
  assert.deepEqual(newest.slice(1, 5), ["Stage", "v2", "None", "Production"]);
  assert.match(await page.textContent("#write-status"), /v2 is now in Production/);
  await page.screenshot({ path: join(shots, "dashboard-models.png"), fullPage: true });

  await navigate(() => page.click("#rollback"));
  assert.equal(await page.getAttribute("tr[data-version='1']", "data-stage"), "Production");
  const after = await page.$$eval("#history tbody tr", (rows) => rows.map((r) => r.children[2].textContent));
  assert.ok(after.length >= 4, after.join());
});

test("monitoring: planted drift fires an alert the page shows, with traffic and drift figures", async () => {
  const manifest = JSON.parse(readFileSync(join(paths.model, "manifest.json"), "utf8"));
  const events = telemetryEvents({ model: MODEL, version: 1, reference: manifest.reference_stats,
    labels: manifest.labels.slice(0, 4), count: 30, shiftDb: 20 });
  await call(registry.url, "POST", "/v1/telemetry", { events });

  await open(`#/monitoring?model=${MODEL}&version=1`);
  const deadline = Date.now() + 20_000;
  while (!(await page.$("#alerts-firing tbody tr"))) {
    assert.ok(Date.now() < deadline, "no alert shown within 20 s");
    await page.waitForTimeout(500);
    await navigate(() => page.click("#refresh"));
  }
  const alert = await cellTexts("#alerts-firing tbody td");
  assert.equal(alert[0], "input-drift");
  assert.ok(Number(alert[2]) > 0.2, alert.join(" | "));
  assert.equal(await page.textContent("#tile-requests .tile-value"), "30");
  assert.ok(Number(await page.textContent("#tile-drift .tile-value")) > 0.2);
  assert.ok((await cellTexts("#drift-groups tbody td")).includes("drift"));
  assert.equal((await cellTexts("#labels tbody tr")).length, 4);
  await page.waitForSelector("#ts-drift canvas");
  await page.waitForSelector("#confidence-histogram canvas");
  await page.screenshot({ path: join(shots, "dashboard-monitoring.png"), fullPage: true });
});

test("phone width: pages fit and stay usable", async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await open("#/experiments", phone);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than the screen`);
  await phone.screenshot({ path: join(shots, "dashboard-phone-experiments.png"), fullPage: true });
  await open(`#/monitoring?model=${MODEL}&version=1`, phone);
  await phone.screenshot({ path: join(shots, "dashboard-phone-monitoring.png"), fullPage: true });
  await phone.close();
});
