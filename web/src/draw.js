// The "why" behind an answer: the tonic-relative swara histogram (SVG) and the pitch
// contour in cents from Sa (canvas). Plain numbers in, drawing out.

const SVG = "http://www.w3.org/2000/svg";
/** Swara names of the 12 semitones above Sa (lower case: komal; M: tivra Ma). */
export const HINDUSTANI = ["S", "r", "R", "g", "G", "m", "M", "P", "d", "D", "n", "N"];
export const CARNATIC = ["S", "R1", "R2", "G2", "G3", "M1", "M2", "P", "D1", "D2", "N2", "N3"];

/** Folds the 120 bins of 10 cents (bin 0 on Sa) into 12 semitones, as shares summing to 1. */
export function semitones(histogram) {
  const out = new Array(12).fill(0);
  histogram.forEach((v, bin) => {
    out[Math.round(bin / 10) % 12] += v;
  });
  const total = out.reduce((a, b) => a + b, 0) || 1;
  return out.map((v) => v / total);
}

/** Draws the swara histogram into `svg` (viewBox 360 × 170) and describes it for screen readers. */
export function drawSwaras(svg, histogram, names) {
  svg.replaceChildren();
  const shares = semitones(histogram);
  const max = Math.max(...shares, 1e-9);
  const [top, base, w] = [8, 140, 30];
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  el("line", { class: "axis", x1: 0, x2: 360, y1: base, y2: base });
  shares.forEach((share, k) => {
    const h = ((base - top) * share) / max;
    const bar = el("rect", { class: k === 0 ? "bar sa" : "bar", x: k * w + 4, y: base - h, width: w - 8, height: h, rx: 2 });
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${names[k]}: ${(share * 100).toFixed(1)}%`;
    bar.appendChild(title);
    el("text", { x: k * w + w / 2, y: base + 20 }, names[k]);
  });
  // The fine histogram over the bars: intonation within each note (10-cent bins).
  const fineMax = Math.max(...histogram, 1e-9);
  const points = [];
  for (let j = 0; j < 120; j++) {
    const v = histogram[(j + 115) % 120]; // start 50 cents below Sa, so bar k is centred on bin 10k
    points.push(`${(j * 3 + 1.5).toFixed(1)},${(base - ((base - top) * v) / fineMax).toFixed(1)}`);
  }
  el("polyline", { class: "fine", points: points.join(" ") });
  const ranked = shares.map((s, k) => [s, names[k]]).sort((a, b) => b[0] - a[0]).slice(0, 4);
  svg.setAttribute(
    "aria-label",
    `Time on each note relative to Sa; most on ${ranked.map(([s, n]) => `${n} ${Math.round(s * 100)}%`).join(", ")}`,
  );
}

/** Cents of `hz` above `tonic`. */
const cents = (hz, tonic) => 1200 * Math.log2(hz / tonic);

/** Draws the voiced frames of the pitch track as cents from Sa over time into `canvas`. */
export function drawContour(canvas, pitch, tonicHz, names) {
  const dpr = window.devicePixelRatio || 1;
  const { width: cssW, height: cssH } = canvas.getBoundingClientRect();
  if (cssW === 0 || cssH === 0) return;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const style = getComputedStyle(canvas);
  const color = (name) => style.getPropertyValue(name).trim();

  const points = [];
  pitch.timesS.forEach((t, i) => {
    const f = pitch.f0Hz[i];
    if (f > 0 && pitch.voicedProb[i] >= 0.5) points.push([t, cents(f, tonicHz)]);
  });
  const duration = pitch.timesS.at(-1) || 1;
  const values = points.map((p) => p[1]).sort((a, b) => a - b);
  const q = (x) => values[Math.min(values.length - 1, Math.floor(x * values.length))] ?? 0;
  // The range that holds nearly all the melody, in whole semitones, at least an octave.
  let lo = Math.floor((q(0.01) - 100) / 100) * 100;
  let hi = Math.ceil((q(0.99) + 100) / 100) * 100;
  if (hi - lo < 1200) {
    const mid = (hi + lo) / 2;
    [lo, hi] = [Math.floor((mid - 600) / 100) * 100, Math.ceil((mid + 600) / 100) * 100];
  }
  const left = 26, bottom = cssH - 18;
  const x = (t) => left + ((cssW - left - 4) * t) / duration;
  const y = (c) => bottom - ((bottom - 6) * (c - lo)) / (hi - lo);

  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  // Sa and Pa always; the other semitones when there is room for their lines and labels.
  const perSemitone = (bottom - 6) / ((hi - lo) / 100);
  for (let c = lo; c <= hi; c += 100) {
    const k = ((c / 100) % 12 + 12) % 12;
    const major = k === 0 || k === 7;
    if (!major && perSemitone < 5) continue;
    ctx.strokeStyle = k === 0 ? color("--sa") : color("--grid");
    ctx.lineWidth = k === 0 ? 1.2 : 1;
    ctx.beginPath();
    ctx.moveTo(left, y(c));
    ctx.lineTo(cssW - 4, y(c));
    ctx.stroke();
    if (major || perSemitone >= 14) {
      ctx.fillStyle = color("--muted");
      const octave = Math.floor(c / 1200);
      ctx.fillText(names[k] + (octave > 0 ? "'" : octave < 0 ? "," : ""), left - 4, y(c));
    }
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "alphabetic";
  ctx.fillStyle = color("--muted");
  const step = duration > 60 ? 10 : duration > 20 ? 5 : duration > 8 ? 2 : 1;
  for (let t = 0; t <= duration; t += step) ctx.fillText(`${t}s`, x(t), cssH - 4);

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, 0, cssW - left, bottom + 1); // the few outliers beyond the range stay inside
  ctx.clip();
  ctx.strokeStyle = color("--accent");
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let previous = null;
  for (const [t, c] of points) {
    // A gap in time (an unvoiced stretch) or a jump of more than a fifth starts a new line.
    if (previous && t - previous[0] < 0.1 && Math.abs(c - previous[1]) < 700) ctx.lineTo(x(t), y(c));
    else ctx.moveTo(x(t), y(c));
    previous = [t, c];
  }
  ctx.stroke();
  ctx.restore();
  canvas.setAttribute(
    "aria-label",
    points.length
      ? `Pitch contour over ${duration.toFixed(0)} s, from ${Math.round(q(0.01))} to ${Math.round(q(0.99))} cents from Sa`
      : "Pitch contour: no melody found",
  );
}
