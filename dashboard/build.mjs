// Builds dist/: the dashboard's modules bundled by esbuild (uPlot from node_modules vendored
// into app.js, its stylesheet into app.css), index.html and style.css beside them.
//   node build.mjs            (scripts/build-dashboard.sh runs it)
import * as esbuild from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = join(here, "dist");

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await esbuild.build({
  entryPoints: { app: join(src, "main.js") },
  outdir: dist,
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: "linked",
  target: ["chrome113", "firefox121", "safari16.4"],
  legalComments: "none",
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) cpSync(join(src, file), join(dist, file));

const files = readdirSync(dist);
const bytes = files.reduce((n, f) => n + statSync(join(dist, f)).size, 0);
console.log(`build-dashboard: ${dist}: ${files.length} files, ${(bytes / 1e3).toFixed(0)} kB`);
