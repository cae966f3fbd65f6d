// Small DOM helpers shared by the pages: element building, tables, formatting, status lines.

/** `h("a", {href, class}, child…)`: an element; strings become text (never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A table with a caption; `columns`: [{label, cell(row) → node|string, num?}]. */
export function table({ id, caption, columns, rows, empty = "Nothing to show." }) {
  if (!rows.length) return h("p", { class: "empty", id }, empty);
  return h("div", { class: "table-wrap" },
    h("table", { id },
      caption && h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(r))))))));
}

/** Key/value pairs as a two-column table. */
export function kvTable(id, caption, pairs, empty) {
  return table({ id, caption, rows: pairs, empty,
    columns: [{ label: "Key", cell: (p) => p[0] }, { label: "Value", cell: (p) => p[1] }] });
}

export function fmtNum(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : String(Number(x.toFixed(digits)));
}

export function fmtTime(ms) {
  if (!ms) return "—";
  const d = new Date(Number(ms));
  return d.toISOString().replace("T", " ").slice(0, 19);
}

export function fmtPct(x) {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`;
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

/** A status line (role=status) that also shows errors (role=alert). */
export function statusLine(id = "status") {
  const el = h("p", { id, class: "status", role: "status", "aria-live": "polite" });
  return {
    el,
    info(msg) { el.className = "status"; el.setAttribute("role", "status"); el.textContent = msg; },
    error(err) { el.className = "status error"; el.setAttribute("role", "alert"); el.textContent = String(err.message || err); },
    clear() { el.className = "status"; el.textContent = ""; },
  };
}

/** A labelled control: `<label>text <control></label>`. */
export function labelled(text, control) {
  return h("label", { class: "field" }, h("span", {}, text), control);
}

export const link = (href, text, attrs = {}) => h("a", { href, ...attrs }, text);

/** Hash of a route with query parameters (empty values dropped). */
export function route(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}

export function section(title, id, ...children) {
  return h("section", { "aria-labelledby": `${id}-h`, id }, h("h2", { id: `${id}-h` }, title), ...children);
}
