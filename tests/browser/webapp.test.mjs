// The web app (web/dist, built by scripts/build-web.sh) in headless Chromium, against a real
// registry serving it at / with a real trained package in Production: a picked file is
// classified right; the fake microphone (a rendered clip) gives a live answer that settles on
// the right raga; a reload with the network cut still classifies (service worker + the
// package's model cache); telemetry reaches the registry and switching it off is remembered;
// a folder from `ragasense export`, served by a plain static server, works the same.
// One browser for the whole suite; screenshots of each state in target/browser-screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { root, paths, startRegistry, renderClips, serveDir, storedEvents } from "./harness.mjs";

const webDir = process.env.RAGASENSE_WEB_DIR || join(root, "web/dist");
if (!existsSync(join(webDir, "index.html"))) throw new Error(`${webDir}: no web app (scripts/build-web.sh builds it)`);
const shots = join(root, "target/browser-screenshots");
mkdirSync(shots, { recursive: true });

let registry, clips, context, page;
let silentRaga = null; // classified with telemetry off
const closers = [];
before(async () => {
  registry = await startRegistry({ webDir });
  clips = renderClips();
  // The fake microphone plays the first clip (bhairav) in a loop.
  const args = ["--no-sandbox", "--headless=new", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${clips[0].wav}`];
  const userData = mkdtempSync(join(tmpdir(), "ragasense-webapp-"));
  context = await chromium.launchPersistentContext(userData, {
    executablePath: "/usr/bin/chromium", args, headless: true, viewport: { width: 1100, height: 900 },
  });
  page = context.pages()[0] || (await context.newPage());
  watch(page);
});
after(async () => {
  await context?.close();
  registry?.stop();
  closers.forEach((close) => close());
});

/** Page errors and Rust panics fail loudly instead of as a timeout. */
function watch(p) {
  p.on("console", (m) => m.type() === "error" && console.error("[page]", m.text()));
  p.on("pageerror", (e) => console.error("[page error]", e.message));
}

async function modelReady(p = page) {
  await p.waitForSelector("body[data-model=ready], body[data-model=error]", { timeout: 120_000 });
  const state = await p.getAttribute("body", "data-model");
  assert.equal(state, "ready", await p.textContent("#model-status"));
}

/** Picks a clip's file in the app and waits for its answer; returns what the page shows. */
async function classify(clip, tradition = "auto", p = page) {
  await p.selectOption("#tradition", tradition);
  await p.evaluate(() => document.getElementById("raga")?.removeAttribute("data-raga"));
  await p.setInputFiles("#file", clip.wav);
  await p.waitForFunction(
    () => document.querySelector("#raga[data-raga]") || document.querySelector("#status.error"),
    null, { timeout: 120_000 },
  );
  const error = await p.$("#status.error");
  assert.equal(error, null, error && (await error.textContent()));
  return shown(p);
}

async function shown(p = page) {
  return p.evaluate(() => ({
    raga: document.getElementById("raga").dataset.raga,
    kind: document.getElementById("result").dataset.kind,
    settled: document.getElementById("result").dataset.settled === "true",
    topk: [...document.querySelectorAll("#topk li")].map((li) => li.dataset.raga),
    tonic: document.getElementById("tonic").textContent,
    backend: document.getElementById("backend").textContent,
    timings: document.getElementById("timings").textContent,
    model: document.getElementById("model").textContent,
    source: document.getElementById("source").textContent,
    bars: document.querySelectorAll("#swaras rect").length,
  }));
}

/** Waits (the app batches for up to 5 s) until the registry holds events for all `ragas`,
 *  among those it did not hold before (`known`: ids); returns every stored event. */
async function eventsFor(ragas, known = new Set(), ms = 20_000) {
  const end = Date.now() + ms;
  let events = [];
  while (Date.now() < end) {
    events = await storedEvents(registry.url);
    const fresh = events.filter((e) => !known.has(e.event_id)).map((e) => e.top_label);
    if (ragas.every((r) => fresh.includes(r))) return events;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  assert.fail(`expected telemetry for ${ragas}, the registry has ${events.map((e) => e.top_label)}`);
}
const ids = (events) => new Set(events.map((e) => e.event_id));

test("served by the registry: picked files are classified right, with the why and the details", { timeout: 300_000 }, async () => {
  const t0 = Date.now();
  await page.goto(`${registry.url}/`);
  await modelReady();
  console.log(`app + model loaded in ${Date.now() - t0} ms: ${await page.textContent("#model-status")}`);
  // Keyboard: every control is reachable with Tab, in reading order.
  const order = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className));
  }
  assert.deepEqual(order.filter((id) => ["file", "mic", "tradition", "telemetry"].includes(id)),
    ["file", "mic", "tradition", "telemetry"], order.join(" "));

  for (const [clip, tradition] of [[clips[0], "auto"], [clips[2], "carnatic"]]) {
    const t = Date.now();
    const r = await classify(clip, tradition);
    console.log(`file ${clip.raga} (${tradition}) -> ${r.raga} in ${Date.now() - t} ms; ${r.timings}; ${r.backend}; ${r.tonic}`);
    assert.equal(r.raga, clip.raga, JSON.stringify(r.topk));
    assert.equal(r.kind, "file");
    assert.equal(r.topk.length, 5);
    assert.equal(r.topk[0], clip.raga);
    assert.equal(r.bars, 12);
    assert.match(r.tonic, /^\d+\.\d Hz \([A-G]/);
    assert.match(r.timings, /features \d+ ms · model \d+ ms/);
    assert.equal(r.backend, "CPU (WebAssembly)");
    assert.match(r.model, /^raga-detector v1 \(int8\)$/);
    if (clip === clips[0]) await page.screenshot({ path: join(shots, "webapp-file.png"), fullPage: true });
  }
  await page.screenshot({ path: join(shots, "webapp-file-carnatic.png"), fullPage: true });

  // Feedback: the answer is preset; correcting it reaches the registry's online accuracy.
  assert.equal(await page.inputValue("#true-raga"), clips[2].raga);
  const other = clips[0].raga;
  await page.selectOption("#true-raga", other);
  await page.click("#send-feedback");
  await page.waitForSelector("#feedback[data-state=sent]", { timeout: 20_000 });
  assert.match(await page.textContent("#feedback-status"), /recorded as/);
  const summary = await (await fetch(`${registry.url}/v1/monitoring/summary?model=raga-detector`)).json();
  assert.deepEqual(summary.versions[0].feedback, { answers: 1, correct: 0, online_accuracy: 0 });
});

test("telemetry reaches the registry; switching it off is remembered", { timeout: 120_000 }, async () => {
  const events = await eventsFor([clips[0].raga, clips[2].raga]);
  assert.equal(events.length, 2, events.map((e) => e.top_label).join(", "));
  assert.ok(events.every((e) => e.version === "1" && e.backend === "cpu" && e.timings_ms.features > 0), JSON.stringify(events[0]));
  assert.equal(await page.getAttribute("body", "data-telemetry"), "on");

  await page.uncheck("#telemetry");
  await page.waitForSelector("body[data-telemetry=off][data-model=ready]");
  await page.reload();
  await modelReady();
  assert.equal(await page.isChecked("#telemetry"), false, "the choice survives a reload");
  assert.equal(await page.getAttribute("body", "data-telemetry"), "off");
  const r = await classify(clips[1], "hindustani");
  assert.equal(r.raga, clips[1].raga);
  // Checked in the offline test, well after the 5 s the app would batch an event for.
  silentRaga = clips[1].raga;

  await page.check("#telemetry");
  await page.waitForSelector("body[data-telemetry=on][data-model=ready]");
});

test("microphone: a live answer appears and settles on the right raga", { timeout: 180_000 }, async () => {
  const truth = clips[0].raga;
  await page.focus("#mic");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#result[data-kind=live]", { timeout: 60_000 });
  const first = await shown();
  console.log(`live: first answer ${first.raga} (${first.source})`);
  await page.screenshot({ path: join(shots, "webapp-live-first.png"), fullPage: true });
  await page.waitForFunction(
    (raga) => document.querySelector(`#result[data-kind=live][data-settled=true] #raga[data-raga=${raga}]`),
    truth, { timeout: 90_000 },
  );
  const settled = await shown();
  console.log(`live: settled on ${settled.raga} (${settled.source})`);
  assert.equal(settled.raga, truth, JSON.stringify(settled.topk));
  assert.equal(await page.getAttribute("#mic", "aria-pressed"), "true");
  await page.screenshot({ path: join(shots, "webapp-live.png"), fullPage: true });
  await page.click("#mic");
  assert.equal(await page.getAttribute("#mic", "aria-pressed"), "false");
});

test("offline: a reload with the network cut still classifies", { timeout: 180_000 }, async () => {
  const sent = (await storedEvents(registry.url)).map((e) => e.top_label);
  assert.ok(silentRaga && !sent.includes(silentRaga), `nothing was sent with telemetry off: ${sent}`);
  await page.waitForSelector("body[data-offline-ready=true]");
  await context.setOffline(true);
  try {
    await page.reload();
    await modelReady();
    assert.equal(await page.getAttribute("body", "data-offline-model"), "true", "the model came from this device");
    const r = await classify(clips[1], "hindustani");
    assert.equal(r.raga, clips[1].raga);
    assert.match(r.model, /offline copy/);
    await page.screenshot({ path: join(shots, "webapp-offline.png"), fullPage: true });
  } finally {
    await context.setOffline(false);
  }
});

test("ragasense export: the folder works from a plain static server, telemetry included", { timeout: 180_000 }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), "ragasense-export-")), "site");
  const printed = execFileSync(paths.ragasense, ["export", "--model", "raga-detector@production", "--out", out,
    "--tracking-uri", registry.url, "--web-dir", webDir, "--telemetry-url", `${registry.url}/v1/telemetry`]).toString();
  console.log(printed.trim());
  assert.match(printed, /exported raga-detector version 1/);
  const site = await serveDir(out);
  closers.push(site.close);
  const known = ids(await storedEvents(registry.url));

  const phone = await context.newPage();
  watch(phone);
  await phone.setViewportSize({ width: 390, height: 844 });
  try {
    await phone.goto(`${site.url}/`);
    await modelReady(phone);
    assert.match(await phone.textContent("#model-status"), /raga-detector version 1/);
    const r = await classify(clips[2], "carnatic", phone);
    assert.equal(r.raga, clips[2].raga, JSON.stringify(r.topk));
    assert.match(r.model, /^raga-detector v1 \(int8\)$/);
    await phone.screenshot({ path: join(shots, "webapp-export-phone.png"), fullPage: true });
    await eventsFor([clips[2].raga], known);
  } finally {
    await phone.close();
  }
});
