// Charts through uPlot (vendored from npm at build time): line charts over steps or time,
// with several series overlaid (training curves, runs compared), and bar charts for
// histograms. Each chart sits in a <figure> with a caption and resizes with its container.
// A chart's figure has `update(…)`, which gives the same uPlot new data in place
// (`setData`) for auto-refresh: no flicker, and a zoom the user dragged is kept.
import uPlot from "uplot";
import { h } from "./ui.js";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];
export const color = (i) => PALETTE[i % PALETTE.length];

const live = new Set();
/** Destroys the charts of the page being left. */
export function destroyCharts() {
  for (const c of live) c.destroy();
  live.clear();
}

function figure(title, id) {
  const holder = h("div", { class: "chart" });
  const empty = h("p", { class: "empty", hidden: true }, "No data in this range.");
  const fig = h("figure", { class: "chart-figure", id, "aria-label": title }, h("figcaption", {}, title), empty, holder);
  return { fig, holder, empty };
}

/**
 * Mounts a uPlot into `holder` once it is in the document, and returns `setData(data)`,
 * which draws new data into the same plot (before the mount: the data it will start with).
 */
function mounted(holder, opts) {
  let plot = null;
  let data = null;
  let updating = false;
  let zoomed = false;
  const width = () => Math.max(240, Math.floor(holder.clientWidth || holder.parentElement?.clientWidth || 480));
  const hooks = {
    ...opts.hooks,
    // A zoom the user dragged is kept across refreshes until a double click resets it.
    setScale: [(u, key) => { if (key === "x" && !updating) zoomed = true; }],
    ready: [(u) => u.over.addEventListener("dblclick", () => { zoomed = false; })],
  };
  const mount = () => {
    updating = true;
    plot = new uPlot({ ...opts, hooks, width: width(), height: opts.height || 220 }, data, holder);
    updating = false;
    live.add(plot);
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: opts.height || 220 }));
    ro.observe(holder);
    const destroy = plot.destroy.bind(plot);
    plot.destroy = () => { ro.disconnect(); destroy(); live.delete(plot); };
  };
  return (next) => {
    const first = data === null;
    data = next;
    if (first) {
      queueMicrotask(() => requestAnimationFrame(mount));
    } else if (plot) {
      updating = true;
      plot.setData(data, !zoomed);
      updating = false;
    }
  };
}

/** Aligns series given as [{label, points: [[x, y]…]}] onto one sorted x axis. */
function align(series) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    for (const [x, y] of s.points) col[at.get(x)] = Number.isFinite(y) ? y : null;
    return col;
  });
  return [xs, ...ys];
}

/**
 * A line chart of `series` ([{label, points: [[x, y]…]}]) — `time`: x is milliseconds since
 * the epoch. Returns the <figure>; the chart is drawn once the figure is in the document.
 * `figure.update({series, xRange})` redraws it with new points (the same series, in order).
 */
export function lineChart({ title, id, series, xLabel = "step", time = false, yLabel = "", xRange = null }) {
  const { fig, holder, empty } = figure(title, id);
  let range = xRange;
  const scaleX = time ? (x) => x / 1000 : (x) => x;
  const opts = {
    // A range given is kept (and moved by `update`); otherwise uPlot fits the data.
    scales: { x: xRange ? { time, range: () => range.map(scaleX) } : { time } },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
    series: [{ label: xLabel }, ...series.map((s, i) => ({
      label: s.label, stroke: color(i), width: 2, spanGaps: true,
      points: { show: (u) => u.data[0].length < 60 },
    }))],
    legend: { live: true },
  };
  const setData = mounted(holder, opts);
  fig.update = ({ series: next, xRange: nextRange = range }) => {
    if (next.length !== series.length) throw new Error(`chart ${id}: ${next.length} series, it has ${series.length}`);
    if (Boolean(nextRange) !== Boolean(xRange)) throw new Error(`chart ${id}: an x range is given at creation or never`);
    range = nextRange;
    const points = next.reduce((n, s) => n + s.points.length, 0);
    fig.dataset.series = String(next.length);
    fig.dataset.points = String(points);
    empty.hidden = points !== 0;
    setData(align(next.map((s) => ({ ...s, points: s.points.map(([x, y]) => [scaleX(x), y]) }))));
  };
  fig.update({ series, xRange });
  return fig;
}

/**
 * A bar chart: `labels` along x, one bar series `values`. `figure.update({labels, values})`
 * redraws it.
 */
export function barChart({ title, id, labels, values, yLabel = "" }) {
  const { fig, holder } = figure(title, id);
  fig.dataset.series = "1";
  let names = labels;
  const opts = {
    // Never an empty range: uPlot's tick loop would not end on [-0.5, -0.5].
    scales: { x: { time: false, range: () => [-0.5, Math.max(1, names.length) - 0.5] },
      // Bars grow from zero, so their heights compare.
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.05 : 1] } },
    axes: [{ values: (_, ticks) => ticks.map((t) => names[t] ?? ""), space: 30 }, { label: yLabel, size: 60 }],
    series: [{ label: "bin", value: (_, i) => names[i] ?? "" },
      { label: yLabel || "value", fill: "#1f77b480", stroke: color(0), paths: uPlot.paths.bars({ size: [0.8, 60] }),
        points: { show: false } }],
  };
  const setData = mounted(holder, opts);
  fig.update = ({ labels: nextLabels, values: nextValues }) => {
    names = nextLabels;
    fig.dataset.points = String(nextValues.length);
    setData([nextLabels.map((_, i) => i), nextValues]);
  };
  fig.update({ labels, values });
  return fig;
}
