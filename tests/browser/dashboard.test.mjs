// The registry's dashboard (dashboard/dist, built by scripts/build-dashboard.sh) in headless
// Chromium against a real registry serving it at /ui/: real runs made through the REST API
// are listed, filtered and sorted; a run shows its params, curves and a PNG artifact inline;
// three runs compare; promoting the second published version and rolling back update the
// stages and the promotion history, the access token going with every call; drift planted
// through telemetry fires an alert the monitoring page shows; auto-refresh shows telemetry
// sent after the page opened, in place, with one timer, idle while hidden; a RUNNING run's
// curve grows by itself; on a registry that checks tokens, 401/403 answers raise the banner and
// the admin page lists tokens and the audit log. Screenshots in target/browser-screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { root, paths, startRegistry } from "./harness.mjs";
import { call, confusionPng, createExperiment, createRun, telemetryEvents, uploadArtifact, useToken } from "./tracking.mjs";

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

/** Waits for an in-place refresh of the page after `action` (the page is not reloaded). */
async function refreshed(action, p = page) {
  const before = Number(await p.getAttribute("body", "data-refreshed") || 0);
  await action();
  await p.waitForFunction((n) => Number(document.body.dataset.refreshed || 0) > n, before, { timeout: 15_000 });
}

const cellTextsOf = (p, sel) => p.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
const cellTexts = (sel) => cellTextsOf(page, sel);

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

test("models: promote v2 and roll back, with no token and then with one; the history follows", async () => {
  await open(`#/models/${MODEL}`);
  // With no token the buttons work (this server checks none) and the page says what a
  // server that checks tokens would need.
  assert.ok(await page.isVisible("#no-token"));
  assert.ok(await page.isEnabled("tr[data-version='2'] button[data-action=promote]"));
  assert.equal(await page.getAttribute("tr[data-version='1']", "data-stage"), "Production");
  await page.click("tr[data-version='2'] button[data-action=stage]");
  await page.waitForSelector("tr[data-version='2'][data-stage=Staging]");
  assert.match(await page.textContent("#write-status"), /v2 is now in Staging/);

  await open("#/settings");
  await page.fill("#access-token", "test-token");
  await page.click("form button[type=submit]");
  await page.waitForFunction(() => /answered a read/.test(document.querySelector("#settings-status").textContent));
  assert.equal(await page.evaluate(() => localStorage.getItem("ragasense.dashboard.accessToken")), "test-token");

  // The token goes with every call now, reads included.
  const auth = new Map();
  const onRequest = (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/api/")) auth.set(path, r.headers().authorization);
  };
  page.on("request", onRequest);
  await open(`#/models/${MODEL}`);
  assert.ok(!(await page.$("#no-token")));
  assert.equal(await page.getAttribute("tr[data-version='1']", "data-stage"), "Production");
  // Something typed in the alias form survives the refresh a write makes.
  await page.fill("#alias-name", "typed-not-sent");
  await page.click("tr[data-version='2'] button[data-action=promote]");
  await page.waitForSelector("tr[data-version='2'][data-stage=Production]");
  assert.equal(await page.getAttribute("tr[data-version='1']", "data-stage"), "Archived");
  assert.equal(await page.inputValue("#alias-name"), "typed-not-sent");
  page.off("request", onRequest);
  assert.equal(auth.get("/api/2.0/mlflow/model-versions/transition-stage"), "Bearer test-token");
  assert.equal(auth.get("/api/2.0/mlflow/registered-models/get"), "Bearer test-token");
  assert.equal(auth.get("/api/2.0/ragasense/registered-models/history"), "Bearer test-token");
  const newest = await page.$$eval("#history tbody tr:first-child td", (c) => c.map((x) => x.textContent));
  assert.deepEqual(newest.slice(1, 5), ["Stage", "v2", "Staging", "Production"]);
  assert.match(await page.textContent("#write-status"), /v2 is now in Production/);
  await page.screenshot({ path: join(shots, "dashboard-models.png"), fullPage: true });

  await page.click("#rollback");
  await page.waitForSelector("tr[data-version='1'][data-stage=Production]");
  const after = await page.$$eval("#history tbody tr", (rows) => rows.map((r) => r.children[2].textContent));
  assert.ok(after.length >= 5, after.join());
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
    await refreshed(() => page.click("#refresh"));
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

test("auto-refresh: telemetry sent after the page opened shows up in place, with no reload and no extra timers", async () => {
  const manifest = JSON.parse(readFileSync(join(paths.model, "manifest.json"), "utf8"));
  const send = (count) => call(registry.url, "POST", "/v1/telemetry", { events: telemetryEvents({ model: MODEL,
    version: 2, reference: manifest.reference_stats, labels: manifest.labels.slice(0, 3), count }) });
  const p = await browser.newPage({ viewport: { width: 1280, height: 600 } });
  p.on("pageerror", (e) => console.error("[page error]", e.message));
  // Every second for this test (the choice is remembered per page in localStorage; the
  // control offers off / 5 s / 15 s / 60 s, and 15 s is the default here).
  await p.goto(`${registry.url}/ui/#/settings`);
  await settled(p);
  await p.evaluate(() => localStorage.setItem("ragasense.dashboard.autoRefresh.monitoring", "1"));
  await open(`#/monitoring?model=${MODEL}&version=2`, p);
  assert.equal(await p.textContent("#tile-requests .tile-value"), "0");
  assert.equal(await p.inputValue("#auto-refresh"), "1");
  await p.waitForSelector("#ts-requests canvas");
  // Marks that a reload or a redraw from scratch would lose: a global, the chart's canvas,
  // the scroll position and a changed (unsent) control.
  await p.evaluate(() => {
    window.__sameDocument = true;
    document.querySelector("#ts-requests canvas").dataset.original = "yes";
    window.scrollTo(0, 400);
  });
  const scrollY = await p.evaluate(() => window.scrollY);
  assert.ok(scrollY > 0, "the page is too short to scroll");

  await send(7);
  await p.waitForFunction(() => document.querySelector("#tile-requests .tile-value").textContent === "7",
    null, { timeout: 5000 });
  await p.waitForFunction(() => Number(document.querySelector("#ts-requests").dataset.points) > 0, null, { timeout: 5000 });
  assert.equal((await cellTextsOf(p, "#labels tbody tr")).length, 3);
  assert.equal(await p.evaluate(() => window.__sameDocument), true, "the page was reloaded");
  assert.equal(await p.evaluate(() => performance.getEntriesByType("navigation").length), 1);
  assert.equal(await p.getAttribute("#ts-requests canvas", "data-original"), "yes", "the chart was drawn anew");
  assert.equal(await p.evaluate(() => window.scrollY), scrollY);
  assert.match(await p.textContent("#refresh-status"), /^Updated \d\d:\d\d:\d\d$/);

  // Going away and back (five times) leaves one timer: at 1 s, 3.5 s give at most 4 refreshes.
  const summaries = [];
  p.on("request", (r) => { if (r.url().includes("/v1/monitoring/summary")) summaries.push(Date.now()); });
  for (let i = 0; i < 5; i++) {
    await navigate(() => p.click("[data-nav=models]"), p);
    await navigate(() => p.goBack(), p);
  }
  const from = Date.now();
  await p.waitForTimeout(3500);
  const counted = summaries.filter((t) => t >= from).length;
  assert.ok(counted >= 2 && counted <= 4, `${counted} summary requests in 3.5 s at one a second`);
  // Another page: the monitoring timer is gone.
  await navigate(() => p.click("[data-nav=experiments]"), p);
  const left = Date.now();
  await p.waitForTimeout(2500);
  assert.equal(summaries.filter((t) => t >= left).length, 0, "monitoring still refreshing on the experiments page");

  // A hidden tab asks nothing; shown again, it catches up at once. (Headless Chromium never
  // hides a tab by itself, so the test sets document.hidden and sends the browser's event.)
  await open(`#/monitoring?model=${MODEL}&version=2`, p);
  const setHidden = (hidden) => p.evaluate((v) => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => v });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
  await setHidden(true);
  const hiddenAt = Date.now();
  await send(3);
  await p.waitForTimeout(3000);
  assert.equal(summaries.filter((t) => t >= hiddenAt + 200).length, 0, "refreshed while hidden");
  assert.equal(await p.textContent("#tile-requests .tile-value"), "7");
  await setHidden(false);
  await p.waitForFunction(() => document.querySelector("#tile-requests .tile-value").textContent === "10",
    null, { timeout: 3000 });

  // Off: nothing more is asked.
  await p.selectOption("#auto-refresh", "0");
  assert.equal(await p.evaluate(() => localStorage.getItem("ragasense.dashboard.autoRefresh.monitoring")), "0");
  const off = Date.now();
  await p.waitForTimeout(2500);
  assert.equal(summaries.filter((t) => t >= off + 200).length, 0, "refreshed with auto-refresh off");
  await p.close();
});

test("a RUNNING run refreshes itself: its curve grows without a reload, and stops once it ends", async () => {
  const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  p.on("pageerror", (e) => console.error("[page error]", e.message));
  const M = "/api/2.0/mlflow";
  const { run } = await call(registry.url, "POST", `${M}/runs/create`, { experiment_id: exp, run_name: "live",
    start_time: Date.now() });
  const id = run.info.run_id;
  const log = (step) => call(registry.url, "POST", `${M}/runs/log-batch`, { run_id: id,
    metrics: [{ key: "loss", value: 2 / (1 + step), step, timestamp: Date.now() }] });
  await log(0);
  await log(1);
  await p.goto(`${registry.url}/ui/#/settings`);
  await p.evaluate(() => localStorage.setItem("ragasense.dashboard.autoRefresh.run", "1"));
  await open(`#/runs/${id}`, p);
  assert.equal(await p.textContent("#run-status"), "RUNNING");
  assert.ok(await p.isVisible("#auto-refresh"));
  await p.waitForSelector("#chart-loss canvas");
  assert.equal(await p.getAttribute("#chart-loss", "data-points"), "2");
  await p.evaluate(() => { window.__sameDocument = true; });
  await log(2);
  await log(3);
  await p.waitForFunction(() => document.querySelector("#chart-loss").dataset.points === "4", null, { timeout: 5000 });
  await call(registry.url, "POST", `${M}/runs/update`, { run_id: id, status: "FINISHED", end_time: Date.now() });
  await p.waitForFunction(() => document.querySelector("#run-status").textContent === "FINISHED", null, { timeout: 5000 });
  assert.equal(await p.evaluate(() => window.__sameDocument), true, "the page was reloaded");
  assert.ok(await p.isHidden("#auto-refresh"), "auto-refresh still offered on a finished run");
  // Finished: no more asking.
  let asked = 0;
  p.on("request", (r) => { if (r.url().includes("/runs/get")) asked++; });
  await p.waitForTimeout(2500);
  assert.equal(asked, 0);
  // The manual Refresh still works.
  await refreshed(() => p.click("#refresh"), p);
  assert.equal(asked, 1);
  await p.close();
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

test("a registry that checks tokens: every call carries the access token, 401/403 raise a banner saying what to do, the admin page lists tokens and the audit log", async () => {
  const secured = await startRegistry({ uiDir, auth: true });
  const adminEnv = { ...process.env, RAGASENSE_TRACKING_TOKEN: secured.admin };
  const token = (name, scope) => execFileSync(paths.ragasense, ["token", "create", "--name", name, "--scope", scope,
    "--tracking-uri", secured.url], { env: adminEnv }).toString().trim();
  execFileSync(paths.ragasense, ["models", "publish", paths.model, "--tracking-uri", secured.url], { stdio: "ignore", env: adminEnv });
  useToken(secured.url, secured.admin);
  const e = await createExperiment(secured.url, "secured");
  const info = await createRun(secured.url, e, { name: "secured-0", params: { lr: 0.01 }, metrics: { loss: [2, 1, 0.5] } });
  await uploadArtifact(secured.url, info, "plots/confusion_matrix.png", confusionPng([[0.9, 0.1], [0.2, 0.8]]));
  const reader = token("reader", "read");
  const writer = token("writer", "write");

  const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  p.on("dialog", (d) => d.accept());
  const seen = [];
  p.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (/^\/(api|v1|get-artifact)/.test(path)) seen.push({ path, auth: r.headers().authorization || "" });
  });
  const openAt = async (hash, state = "ready") => {
    await p.goto(`${secured.url}/ui/${hash}`);
    await p.waitForSelector(`body[data-state=${state}]`, { timeout: 15_000 });
  };
  const saveToken = async (t) => {
    await openAt("#/settings");
    await p.fill("#access-token", t);
    await p.click("form button[type=submit]");
    await p.waitForFunction(() => /answered a read/.test(document.querySelector("#settings-status").textContent));
  };
  try {
    // No token: the first read is refused; the banner says which scope and how to get one.
    await openAt("#/experiments", "error");
    const banner = await p.waitForSelector("#auth-banner:not([hidden])");
    assert.equal(await banner.getAttribute("role"), "alert");
    assert.equal(await banner.getAttribute("data-status"), "401");
    const text = await banner.textContent();
    assert.match(text, /This server requires an access token with the read scope/);
    assert.match(text, /ragasense token create --name me --scope read/);
    assert.match(text, /The server said: .*needs an API token with the read scope.*\(HTTP 401, UNAUTHENTICATED/);

    // A token with the read scope, saved in Settings: checked with a read, and the banner goes.
    await p.click("#auth-banner a[href='#/settings']");
    await p.waitForSelector("#access-token");
    await saveToken(reader);
    assert.ok(await p.isHidden("#auth-banner"));

    // Every call now carries it, and the pages work: a run with its PNG artifact (fetched
    // with the token, as an <img> cannot send one), the models.
    const from = seen.length;
    await openAt(`#/runs/${info.run_id}`);
    await p.click("#artifacts-tree details[data-path=plots] summary");
    const img = await p.waitForSelector("img[alt='Artifact plots/confusion_matrix.png']");
    await p.waitForFunction((el) => el.complete && el.naturalWidth > 0, img);
    await openAt(`#/models/${MODEL}`);
    const calls = seen.slice(from);
    assert.ok(calls.some((c) => c.path.endsWith("/get-artifact")), calls.map((c) => c.path).join());
    assert.deepEqual(calls.filter((c) => c.auth !== `Bearer ${reader}`), []);

    // A write with a read-only token: 403, and the banner names the write scope.
    assert.equal(await p.getAttribute("tr[data-version='1']", "data-stage"), "Production");
    await p.click("tr[data-version='2'] button[data-action=promote]");
    await p.waitForSelector("#auth-banner[data-status='403']:not([hidden])");
    const denied = await p.textContent("#auth-banner");
    assert.match(denied, /does not have the write scope/);
    assert.match(denied, /ragasense token create --name me --scope write/);
    assert.match(denied, /token 'reader' lacks the write scope.*\(HTTP 403, PERMISSION_DENIED/);
    assert.match(await p.textContent("#write-status"), /PERMISSION_DENIED/);
    assert.notEqual(await p.getAttribute("tr[data-version='2']", "data-stage"), "Production");
    await p.screenshot({ path: join(shots, "dashboard-auth-banner.png"), fullPage: true });

    // With the write scope the same click goes through, and the history names the token.
    await saveToken(writer);
    await openAt(`#/models/${MODEL}`);
    await p.click("tr[data-version='2'] button[data-action=promote]");
    await p.waitForSelector("tr[data-version='2'][data-stage=Production]");
    assert.ok(await p.isHidden("#auth-banner"));
    // The admin page needs the admin scope.
    await openAt("#/admin", "error");
    assert.equal(await p.getAttribute("#auth-banner", "data-scope"), "admin");

    // An admin sees the tokens and the audit log: the writer's promotion and the reader's
    // refused attempt, by name; creates a token (shown once) and revokes the reader's.
    await saveToken(secured.admin);
    await openAt("#/admin");
    const names = await cellTextsOf(p, "#tokens tbody tr td:nth-child(2)");
    assert.deepEqual([...names].sort(), ["admin", "reader", "writer"]);
    const audit = await p.$$eval("#audit tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    const promoted = audit.find((r) => r[1] === "writer" && r[2].includes("transition-stage"));
    assert.ok(promoted, JSON.stringify(audit));
    assert.match(promoted[3], /name=raga-detector.*stage=Production|stage=Production.*name=raga-detector/);
    assert.ok(audit.some((r) => r[1] === "reader" && r[2].includes("transition-stage") && r[4] === "403"));
    await p.fill("#token-name", "site");
    await p.selectOption("#token-scope", "telemetry");
    await p.fill("#token-models", MODEL);
    await p.click("#tokens-section form button[type=submit]");
    const shown = await (await p.waitForSelector("#new-token-value")).textContent();
    assert.match(shown, /^rsp_/);
    await p.click(`#tokens button.revoke[data-id='${reader.split("_")[1]}']`);
    await p.waitForFunction(() => [...document.querySelectorAll("#tokens tbody tr")]
      .some((r) => r.children[1].textContent === "reader" && /revoked/.test(r.children[5].textContent)));
    await p.screenshot({ path: join(shots, "dashboard-admin.png"), fullPage: true });
    const r = await fetch(`${secured.url}/api/2.0/mlflow/experiments/search`, { headers: { Authorization: `Bearer ${reader}` } });
    assert.equal(r.status, 401, "a revoked token is refused");
  } finally {
    await p.close();
    secured.stop();
  }
});
