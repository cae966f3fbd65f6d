// Refreshing a page's data without reloading it: a "Refresh" button, and on the pages that
// watch something live an "Auto-refresh" choice (off / 5 s / 15 s / 60 s) remembered per
// page in localStorage. One refresher at a time: the shell stops it whenever the route
// changes, so timers never pile up; it waits while the tab is hidden and catches up when
// the tab is shown again; the next refresh is timed from the end of the last one, so two
// never overlap. The page's `tick()` updates its DOM in place (charts through setData).
import { h } from "./ui.js";

export const CHOICES = [0, 5, 15, 60];
const key = (page) => `ragasense.dashboard.autoRefresh.${page}`;

/** Seconds between refreshes chosen for `page` (localStorage), else `fallback`. */
export function storedSeconds(page, fallback) {
  const raw = localStorage.getItem(key(page));
  const s = raw === null || raw.trim() === "" ? NaN : Number(raw);
  return Number.isFinite(s) && s >= 0 ? s : fallback;
}

let active = null;
/** Stops the current page's refresher (the shell calls it on every route change). */
export function stopRefresh() {
  active?.stop();
  active = null;
}
document.addEventListener("visibilitychange", () => active?.visibility());

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
let refreshes = 0;

/**
 * A refresher for the page being shown. `tick()` fetches and redraws (throwing on failure:
 * the old data stays, the failure is shown); `stale()` is the page's own. `page` names the
 * localStorage choice; `auto: false` gives only the Refresh button. Call `start()` once the
 * page has drawn its first data. `el` is the control to put on the page.
 */
export function refresher({ page, tick, stale, auto = true, defaultSeconds = 15 }) {
  stopRefresh();
  let seconds = auto ? storedSeconds(page, defaultSeconds) : 0;
  let enabled = auto;
  let started = false;
  let stopped = false;
  let timer = null;
  let dueAt = 0;
  let running = null;

  // Not a live region: "Updated …" every 15 s would be read out every 15 s. A failure is an alert.
  const status = h("span", { id: "refresh-status", class: "muted" });
  const button = h("button", { type: "button", id: "refresh", onclick: () => run() }, "Refresh");
  const select = h("select", { id: "auto-refresh", "aria-label": "Auto-refresh",
    onchange: () => {
      seconds = Number(select.value);
      localStorage.setItem(key(page), String(seconds));
      schedule();
    } },
  [...new Set([...CHOICES, seconds])].sort((a, b) => a - b).map((s) =>
    h("option", { value: s, selected: s === seconds }, s ? `every ${s} s` : "off")));
  const autoLabel = h("label", { class: "inline", id: "auto-refresh-label" }, "Auto-refresh", select);
  autoLabel.hidden = !auto;
  const el = h("div", { class: "refresh-bar", id: "refresh-bar" }, button, autoLabel, status);

  const clear = () => {
    clearTimeout(timer);
    timer = null;
  };
  const schedule = () => {
    clear();
    if (!started || stopped || stale() || !enabled || !seconds || running) return;
    dueAt = Date.now() + seconds * 1000;
    if (!document.hidden) timer = setTimeout(run, seconds * 1000);
  };
  const run = () => {
    if (stopped || stale()) return Promise.resolve();
    if (running) return running;
    clear();
    button.disabled = true;
    running = (async () => {
      try {
        await tick();
        if (stopped || stale()) return;
        status.className = "muted";
        status.removeAttribute("role");
        status.textContent = `Updated ${clock(Date.now())}`;
        document.body.dataset.refreshed = String(++refreshes);
      } catch (err) {
        if (stopped || stale()) return;
        console.warn(err);
        status.className = "status error";
        status.setAttribute("role", "alert");
        status.textContent = `Refresh failed at ${clock(Date.now())}: ${err.message || err}. The figures shown are older.`;
      } finally {
        running = null;
        button.disabled = false;
        schedule();
      }
    })();
    return running;
  };

  const me = {
    el,
    /** Refreshes now, after any refresh in flight (whose data may predate a write); resolves
     *  when the page is redrawn. */
    async now() {
      while (running) await running;
      return run();
    },
    start() {
      started = true;
      status.textContent = `Updated ${clock(Date.now())}`;
      schedule();
    },
    /** Turns auto-refresh on or off for this page (a run page: while the run is RUNNING). */
    setAuto(on) {
      enabled = on;
      autoLabel.hidden = !on;
      schedule();
    },
    stop() {
      stopped = true;
      clear();
    },
    visibility() {
      if (document.hidden) {
        clear();
      } else if (started && !stopped && enabled && seconds && !running) {
        clear();
        const wait = Math.max(0, dueAt - Date.now());
        timer = setTimeout(run, wait);
      }
    },
  };
  active = me;
  return me;
}
