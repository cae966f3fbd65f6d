// Charts through uPlot (vendored from npm at build time): line charts over steps or time,
// with several series overlaid (training curves, runs compared), and bar charts for
// histograms. Each chart sits in a <figure> with a caption and resizes with its container.
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
  const fig = h("figure", { class: "chart-figure", id, "aria-label": title }, h("figcaption", {}, title), holder);
  return { fig, holder };
}

function mount(holder, opts, data) {
  const width = () => Math.max(240, Math.floor(holder.clientWidth || holder.parentElement?.clientWidth || 480));
  const plot = new uPlot({ ...opts, width: width(), height: opts.height || 220 }, data, holder);
  live.add(plot);
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: opts.height || 220 }));
  ro.observe(holder);
  const destroy = plot.destroy.bind(plot);
  plot.destroy = () => { ro.disconnect(); destroy(); };
  return plot;
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
 */
export function lineChart({ title, id, series, xLabel = "step", time = false, yLabel = "", xRange = null }) {
  const { fig, holder } = figure(title, id);
  fig.dataset.series = String(series.length);
  fig.dataset.points = String(series.reduce((n, s) => n + s.points.length, 0));
  if (fig.dataset.points === "0") holder.append(h("p", { class: "empty" }, "No data in this range."));
  const data = align(series.map((s) => ({ ...s, points: time ? s.points.map(([x, y]) => [x / 1000, y]) : s.points })));
  const opts = {
    scales: { x: xRange ? { time, range: time ? xRange.map((x) => x / 1000) : xRange } : { time } },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
    series: [{ label: xLabel }, ...series.map((s, i) => ({
      label: s.label, stroke: color(i), width: 2, spanGaps: true,
      points: { show: data[0].length < 60 },
    }))],
    legend: { live: true },
  };
  queueMicrotask(() => requestAnimationFrame(() => mount(holder, opts, data)));
  return fig;
}

/** A bar chart: `labels` along x, one bar series `values`. */
export function barChart({ title, id, labels, values, yLabel = "" }) {
  const { fig, holder } = figure(title, id);
  fig.dataset.series = "1";
  const xs = labels.map((_, i) => i);
  const opts = {
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
    axes: [{ values: (_, ticks) => ticks.map((t) => labels[t] ?? ""), space: 30 }, { label: yLabel, size: 60 }],
    series: [{ label: "bin", value: (_, i) => labels[i] ?? "" },
      { label: yLabel || "value", fill: "#1f77b480", stroke: color(0), paths: uPlot.paths.bars({ size: [0.8, 60] }),
        points: { show: false } }],
  };
  queueMicrotask(() => requestAnimationFrame(() => mount(holder, opts, [xs, values])));
  return fig;
}
