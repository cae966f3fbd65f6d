// The npm package in headless Chromium (Debian's, driven by playwright-core) against a real
// registry: once with WebGPU (--enable-unsafe-webgpu: SwiftShader, a real WebGPU on the
// CPU) and once without (no adapter: the CPU fallback). Rendered clips decoded by the
// browser are classified right, telemetry reaches the server, and a second load works
// from Cache Storage with the registry gone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { root, startRegistry, renderClips, startStatic, storedEvents } from "./harness.mjs";

const shots = join(root, "target/browser-screenshots");
mkdirSync(shots, { recursive: true });
let registry, clips, site;
before(async () => {
  registry = await startRegistry();
  clips = renderClips();
  site = await startStatic(clips);
});
after(() => {
  registry?.stop();
  site?.close();
});

async function browser(webgpu) {
  const args = ["--no-sandbox", "--headless=new", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"];
  if (webgpu) args.push("--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader");
  const userData = mkdtempSync(join(tmpdir(), "ragasense-chromium-"));
  return chromium.launchPersistentContext(userData, { executablePath: "/usr/bin/chromium", args, headless: true });
}

async function run(context, { pkg = "pkg", ...opts }) {
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => m.type() === "error" && console.error("[page]", m.text()));
  await page.goto(`${site.url}/page/index.html?pkg=${pkg}`);
  await page.waitForFunction(() => window.ready === true);
  const payload = { registry: registry.url, clips: clips.map((c, i) => ({ raga: c.raga, tradition: c.tradition, url: `/clips/${i}.wav` })), ...opts };
  // A Rust panic aborts the wasm instance and the promise never settles: fail at once.
  const panicked = new Promise((_, fail) => page.on("console", (m) => {
    if (m.text().includes("panicked at")) fail(new Error(m.text().split("\n").slice(0, 2).join(" ")));
  }));
  const out = await Promise.race([page.evaluate((p) => window.runClips(p), payload), panicked]);
  return { page, out };
}

for (const webgpu of [true, false]) {
  const name = webgpu ? "WebGPU (SwiftShader)" : "no WebGPU: CPU fallback";
  test(`Chromium, ${name}: rendered clips classified right, telemetry stored`, { timeout: 600_000 }, async () => {
    const before = (await storedEvents(registry.url)).length;
    const context = await browser(webgpu);
    try {
      const { page, out } = await run(context, { backend: webgpu ? "webgpu" : "auto" });
      for (const [i, r] of out.results.entries()) {
        console.log(`${name}: ${clips[i].raga} -> ${r.raga} (${r.confidence.toFixed(3)}) on ${r.backend}: ` +
          `features ${r.timingsMs.features.toFixed(0)} ms, inference ${r.timingsMs.inference.toFixed(0)} ms`);
        assert.equal(r.raga, clips[i].raga, `${clips[i].raga}: ${JSON.stringify(r.topK)}`);
        assert.equal(r.backend, webgpu ? "webgpu" : "cpu");
      }
      assert.equal(out.info.webgpuAvailable, webgpu, JSON.stringify(out.info));
      if (!webgpu) assert.match(out.info.webgpuNote, /navigator\.gpu|adapter/);
      assert.equal(out.sent, clips.length);
      const events = await storedEvents(registry.url);
      assert.equal(events.length - before, clips.length);
      assert.ok(events.slice(0, clips.length).every((e) => e.backend === (webgpu ? "webgpu" : "cpu")));
      await page.screenshot({ path: join(shots, `runtime-${webgpu ? "webgpu" : "cpu"}.png`) });
    } finally {
      await context.close();
    }
  });
}

// `ragasense-cpu` (scripts/build-npm.sh --cpu-only) carries no WebGPU backend: in a browser
// that has WebGPU it still answers on the CPU, and refuses "webgpu" saying why.
test("Chromium with WebGPU, the CPU-only package: auto answers on the CPU, 'webgpu' is refused clearly", { timeout: 600_000 }, async () => {
  const context = await browser(true);
  try {
    const { out } = await run(context, { pkg: "pkg-cpu", backend: "auto" });
    for (const [i, r] of out.results.entries()) {
      assert.equal(r.raga, clips[i].raga, `${clips[i].raga}: ${JSON.stringify(r.topK)}`);
      assert.equal(r.backend, "cpu");
    }
    assert.equal(out.info.webgpuAvailable, false);
    assert.match(out.info.webgpuNote, /CPU-only build/);
    await assert.rejects(run(context, { pkg: "pkg-cpu", backend: "webgpu" }), /WebGPU is not available here \(this is the CPU-only build/);
  } finally {
    await context.close();
  }
});

test("Chromium: a second load works offline from Cache Storage", { timeout: 600_000 }, async () => {
  const context = await browser(false);
  try {
    const first = await run(context, { backend: "cpu" });
    assert.equal(first.out.info.offline, false);
    registry.stop(); // the registry is gone: only the cache can answer now
    await new Promise((ok) => registry.proc.once("exit", ok));
    const second = await run(context, { backend: "cpu" });
    assert.equal(second.out.info.offline, true);
    assert.equal(second.out.info.version, "1");
    assert.equal(second.out.results[0].raga, clips[0].raga);
    await second.page.screenshot({ path: join(shots, "runtime-offline.png") });
  } finally {
    await context.close();
  }
});
