// Shared by the browser-runtime suites: a real registry server with a real trained package
// published in it, rendered clips, and a static server for the npm package and test page.
// Paths come from the environment (scripts/test.sh sets them) or the usual build places.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, extname, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const target = process.env.CARGO_TARGET_DIR || join(root, "target");
export const paths = {
  ragasense: process.env.RAGASENSE_BIN || join(target, "debug/ragasense"),
  server: process.env.RAGASENSE_SERVER_BIN || join(target, "debug/registry-server"),
  npm: process.env.RAGASENSE_NPM_DIR || join(target, "npm/ragasense"),
  npmCpu: process.env.RAGASENSE_NPM_CPU_DIR || join(target, "npm/ragasense-cpu"),
  // A real package trained by `ragasense train --profile small` (see tests/fixtures/README.md).
  model: join(root, "tests/fixtures/model-small-int8"),
};
for (const [what, p] of Object.entries(paths)) {
  if (!existsSync(p)) throw new Error(`${what}: ${p} is missing (scripts/test.sh builds it)`);
}

/** Clips the fixture model classifies right natively (checked by the suites too). */
export const CLIPS = [
  { raga: "bhairav", tradition: "hindustani" },
  { raga: "malkauns", tradition: "hindustani" },
  { raga: "hamsadhwani", tradition: "carnatic" },
];
const SEED = "4242";
const SECONDS = "20";

/** Starts the registry on a free port with a fresh store; publishes the fixture model.
 *  `webDir`: the built web app it serves at `/`; `uiDir`: the built dashboard it serves at
 *  `/ui/`; `args`: more flags of the server. */
export async function startRegistry({ webDir, uiDir, args: extra = [], auth = false } = {}) {
  const store = mkdtempSync(join(tmpdir(), "ragasense-browser-"));
  const storeUri = `sqlite:///${store}/db.sqlite`;
  const args = ["--port", "0", "--backend-store-uri", storeUri,
    "--artifacts-destination", join(store, "artifacts")];
  // `auth`: tokens checked; the first admin token is made in the store, as an operator would.
  const admin = auth ? execFileSync(paths.ragasense, ["token", "create", "--name", "admin", "--scope", "admin",
    "--backend-store-uri", storeUri]).toString().trim() : null;
  if (auth) args.push("--auth", "on");
  if (webDir) args.push("--web-dir", webDir);
  if (uiDir) args.push("--ui-dir", uiDir);
  args.push(...extra);
  const proc = spawn(paths.server, args, { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((ok, fail) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) ok(m[1]);
    });
    proc.on("exit", (code) => fail(new Error(`registry exited with ${code}`)));
    setTimeout(() => fail(new Error("registry did not start in 20 s")), 20000);
  });
  const env = admin ? { ...process.env, RAGASENSE_TRACKING_TOKEN: admin } : process.env;
  execFileSync(paths.ragasense, ["models", "publish", paths.model, "--tracking-uri", url,
    "--stage", "production", "--alias", "production"], { stdio: "inherit", env });
  return { url, store, admin, stop: () => proc.kill("SIGKILL"), proc };
}

/** Renders the test clips (seeds never used in training) and returns them with their WAVs. */
export function renderClips() {
  const dir = mkdtempSync(join(tmpdir(), "ragasense-clips-"));
  execFileSync(paths.ragasense, ["synth", "--out", dir, "--split", "test", "--seed", SEED, "--seconds", SECONDS,
    "--per-raga", "1", "--ragas", CLIPS.map((c) => c.raga).join(",")], { stdio: "ignore" });
  return CLIPS.map((c) => {
    const folder = join(dir, c.raga);
    const wav = execFileSync("find", [folder, "-name", "*.wav"]).toString().trim().split("\n")[0];
    return { ...c, wav, bytes: readFileSync(wav) };
  });
}

/** The native answer for a clip (`ragasense classify --json` on flex). */
export function nativeAnswer(wav, tradition) {
  const out = execFileSync(paths.ragasense, ["classify", "--model", paths.model, "--device", "flex",
    "--tradition", tradition, "--json", wav]).toString();
  return JSON.parse(out.trim().split("\n")[0]);
}

/** Mono f32 samples and rate of a 16-bit PCM WAV (what `ragasense synth` writes). */
export function readWav(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12, rate = 0, channels = 1, bits = 16;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString("ascii", at, at + 4), size = view.getUint32(at + 4, true);
    if (id === "fmt ") {
      channels = view.getUint16(at + 10, true);
      rate = view.getUint32(at + 12, true);
      bits = view.getUint16(at + 22, true);
    } else if (id === "data") {
      if (bits !== 16) throw new Error(`expected 16-bit PCM, got ${bits}`);
      const n = size / 2 / channels, out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 8 + i * 2 * channels, true) / 32768;
      return { samples: out, rate };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error("no data chunk");
}

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".wasm": "application/wasm",
  ".json": "application/json", ".wav": "audio/wav", ".ts": "text/plain", ".css": "text/css", ".svg": "image/svg+xml",
  ".webmanifest": "application/manifest+json" };

function sendFile(res, file) {
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end("not found");
    return;
  }
  res.writeHead(200, { "Content-Type": TYPES[extname(file)] || "application/octet-stream" });
  res.end(readFileSync(file));
}

/** A plain static server of one folder, as any static host would serve it (`/` is index.html). */
export async function serveDir(dir) {
  const top = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = resolve(top, "." + (path.endsWith("/") ? path + "index.html" : path));
    sendFile(res, file.startsWith(top + "/") ? file : null);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** A plain static server: `/pkg/*` the npm package, `/page/*` the test page, `/clips/N.wav`. */
export async function startStatic(clips) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = null;
    if (path.startsWith("/pkg/")) file = join(paths.npm, path.slice(5));
    else if (path.startsWith("/pkg-cpu/")) file = join(paths.npmCpu, path.slice(9));
    else if (path.startsWith("/page/")) file = join(root, "tests/browser/page", path.slice(6));
    else if (path.startsWith("/clips/")) file = clips[Number(path.slice(7).replace(".wav", ""))]?.wav;
    sendFile(res, file?.includes("..") ? null : file);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Telemetry events the registry stored for the fixture model. */
export async function storedEvents(registry, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const r = await fetch(`${registry}/v1/telemetry?model=raga-detector&max_results=1000`, { headers });
  if (!r.ok) throw new Error(`GET /v1/telemetry: ${r.status} ${await r.text()}`);
  return (await r.json()).events;
}
