// Builds dist/: the app bundled by esbuild (the npm package `ragasense` as a dependency, as
// any outside user would use it), its wasm beside the worker, the static files, and a
// service worker listing every file of this build under a hash of their contents.
//   node build.mjs            (scripts/build-web.sh runs it after building the npm package)
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = join(here, "dist");
const wasm = join(here, "node_modules/ragasense/ragasense_bg.wasm");
if (!existsSync(wasm)) {
  console.error(`build-web: ${wasm} is missing: build the npm package first (scripts/build-npm.sh)`);
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await esbuild.build({
  entryPoints: { app: join(src, "main.js"), worker: join(src, "worker.js"), worklet: join(src, "worklet.js") },
  outdir: dist,
  bundle: true,
  format: "esm",
  minify: true,
  target: ["chrome113", "firefox121", "safari16.4"],
  legalComments: "none",
  logLevel: "warning",
});
cpSync(wasm, join(dist, "ragasense_bg.wasm"));
for (const file of ["index.html", "style.css", "config.json", "icon.svg", "manifest.webmanifest"]) {
  cpSync(join(src, file), join(dist, file));
}

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else files.push(relative(dist, path).split("\\").join("/"));
  }
};
walk(dist);
const hash = createHash("sha256");
for (const f of files) hash.update(f).update(readFileSync(join(dist, f)));
const build = hash.digest("hex").slice(0, 16);
const sw = readFileSync(join(src, "sw.js"), "utf8")
  .replace("__BUILD__", build)
  .replace("__FILES__", JSON.stringify(files));
writeFileSync(join(dist, "sw.js"), sw);

const bytes = files.reduce((n, f) => n + statSync(join(dist, f)).size, 0);
console.log(`build-web: ${dist}: ${files.length + 1} files, ${(bytes / 1e6).toFixed(2)} MB, build ${build}`);
