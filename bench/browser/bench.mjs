// bench/browser: run by run.sh. Serves the npm package, Essentia.js and the page; starts the
// registry with the committed small model; renders one 30 s clip; times both log-mels and
// clip-to-raga in one headless Chromium run (no WebGPU: the CPU path); prints ratios and
// writes target/bench/browser.json.
import { createServer } from "node:http";
import { readFileSync, existsSync, statSync, mkdirSync, writeFileSync, mkdtempSync } from "node:fs";
import { join, extname } from "node:path";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";
import { root, paths, startRegistry } from "../../tests/browser/harness.mjs";

const reps = Number(process.env.REPS || 7);
const dir = mkdtempSync(join(tmpdir(), "bench-browser-"));
execFileSync(paths.ragasense, ["synth", "--out", dir, "--split", "test", "--seed", "777", "--seconds", "30",
  "--per-raga", "1", "--ragas", "yaman"], { stdio: "ignore" });
const clip = execFileSync("find", [dir, "-name", "*.wav"]).toString().trim().split("\n")[0];

const TYPES = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm", ".wav": "audio/wav" };
const ess = join(root, "bench/browser/node_modules/essentia.js/dist");
const server = createServer((req, res) => {
  const p = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const file = p.startsWith("/pkg/") ? join(paths.npm, p.slice(5))
    : p.startsWith("/ess/") ? join(ess, p.slice(5))
    : p === "/clip.wav" ? clip
    : p === "/" ? join(root, "bench/browser/page.html") : null;
  if (!file || file.includes("..") || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
  res.writeHead(200, { "Content-Type": TYPES[extname(file)] || "application/octet-stream" }).end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const site = `http://127.0.0.1:${server.address().port}`;
const registry = await startRegistry();
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "bench-chromium-")), {
  executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic"],
});
try {
  const page = context.pages()[0] || (await context.newPage());
  await page.goto(site);
  await page.waitForFunction(() => window.ready === true);
  const r = await page.evaluate((a) => window.bench(a), { registry: registry.url, clipUrl: "/clip.wav", reps });
  const chromiumVersion = context.browser()?.version() ?? "chromium";
  const size = JSON.parse(readFileSync(join(paths.npm, "size.json")));
  const sizeCpu = JSON.parse(readFileSync(join(paths.npmCpu, "size.json")));
  const rows = [
    ["log-mel of a 30 s clip (ms)", r.ours.median, r.essentia.median, r.essentia.median / r.ours.median, "≥ 2× (vs Essentia.js)"],
    ["clip-to-raga, 30 s, CPU path (ms)", r.clipToRaga.median, null, null, "< 300 ms"],
  ];
  console.log(`\nbench/browser: headless Chromium, ${r.seconds.toFixed(1)} s clip, median of ${reps}, machine: ${(await import("node:os")).cpus().length} cores`);
  console.log("measure                                 ours      Essentia.js   ratio    goal");
  for (const [name, ours, theirs, ratio, goal] of rows) {
    console.log(`${name.padEnd(38)} ${ours.toFixed(1).padStart(8)} ${theirs === null ? "".padStart(13) : theirs.toFixed(1).padStart(13)} ${ratio === null ? "".padStart(7) : (ratio.toFixed(1) + "×").padStart(7)}    ${goal}`);
  }
  console.log(`  frames: ours ${r.oursFrames}, Essentia.js ${r.theirFrames}; answer ${r.answer.raga} (features ${r.answer.timingsMs.features.toFixed(0)} ms, inference ${r.answer.timingsMs.inference.toFixed(0)} ms)`);
  console.log(`  wasm: ${(size.wasm_bytes / 1e6).toFixed(2)} MB raw, ${(size.wasm_gzip_bytes / 1e6).toFixed(2)} MB gzipped (limit 2.5, goal < 1.5)`);
  console.log(`  wasm of the CPU-only package ragasense-cpu: ${(sizeCpu.wasm_bytes / 1e6).toFixed(2)} MB raw, ` +
    `${(sizeCpu.wasm_gzip_bytes / 1e6).toFixed(2)} MB gzipped (${(sizeCpu.wasm_gzip_bytes / size.wasm_gzip_bytes).toFixed(2)}× the full one's)`);
  mkdirSync(join(root, "target/bench"), { recursive: true });
  writeFileSync(join(root, "target/bench/browser.json"), JSON.stringify({ chromiumVersion, reps, size, sizeCpu, ...r }, null, 2));
  console.log("(json: target/bench/browser.json)");
} finally {
  await context.close();
  registry.stop();
  server.close();
}
