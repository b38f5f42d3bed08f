// oxdask dashboard: the task stream (one row per worker thread, a colour per task prefix).
// /status shows the last ~10 s, scrolling; /tasks the whole retained run, zoomable (wheel to zoom,
// drag to pan, double-click to reset).
"use strict";

// Tasks received from /json/task-stream?since=SEQ, bounded to `cap` entries.
OX.TaskStore = class {
  constructor(cap = 100000) {
    this.tasks = [];
    this.next = 0;
    this.now = 0;
    this.cap = cap;
  }
  url() {
    return `/json/task-stream?since=${this.next}`;
  }
  add(data) {
    const tasks = data.tasks || [];
    for (const t of tasks) this.tasks.push(t);
    if (this.tasks.length > this.cap) this.tasks.splice(0, this.tasks.length - this.cap);
    if (typeof data.next === "number") this.next = data.next;
    if (typeof data.now === "number") this.now = data.now;
    return tasks.length;
  }
  // Forgets tasks that stopped before `t` (the scrolling view keeps only what it can show).
  prune(t) {
    if (this.tasks.length && this.tasks[0].stop < t) {
      this.tasks = this.tasks.filter((x) => x.stop >= t);
    }
  }
};

// Packs one worker's intervals into lanes: a task goes to the first lane free at its start.
// Task times reach the scheduler with some jitter (a thread's next task can seem to start a hair
// before its previous one stopped): overlaps below TOUCH seconds do not count, and with the
// worker's thread count known (`maxLanes`) a task that fits nowhere joins the lane freed first,
// so there is one row per thread.
const TOUCH = 1e-3;
OX.packLanes = function (tasks, maxLanes = Infinity) {
  const sorted = tasks.slice().sort((a, b) => a.start - b.start || a.stop - b.stop);
  const ends = [];
  const lanes = [];
  for (const t of sorted) {
    let lane = ends.findIndex((e) => e <= t.start + TOUCH);
    if (lane < 0 && ends.length >= maxLanes) {
      lane = ends.indexOf(Math.min(...ends));
      ends[lane] = Math.max(ends[lane], t.stop);
      lanes[lane].push(t);
      continue;
    }
    if (lane < 0) {
      lane = ends.length;
      ends.push(t.stop);
      lanes.push([]);
    } else {
      ends[lane] = t.stop;
    }
    lanes[lane].push(t);
  }
  return lanes;
};

const MERGE_ABOVE = 4000; // above this many visible tasks, sub-pixel neighbours share one rect
const LABEL_W = 130;

function niceTicks(t0, t1, n) {
  const span = Math.max(t1 - t0, 1e-9);
  const raw = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) out.push(t);
  return out;
}

// Draws the tasks overlapping [t0, t1] into `parent` (cleared). Returns the visible task count.
OX.drawTaskStream = function (parent, tasks, t0, t1, opts = {}) {
  OX.clear(parent);
  const width = opts.width || 800;
  const plotW = Math.max(width - LABEL_W - 24, 100);
  const visible = tasks.filter((t) => t.stop > t0 && t.start < t1);
  const byWorker = new Map();
  for (const t of visible) {
    if (!byWorker.has(t.worker)) byWorker.set(t.worker, []);
    byWorker.get(t.worker).push(t);
  }
  for (const w of opts.workers || []) if (!byWorker.has(w)) byWorker.set(w, []);
  const workers = [...byWorker.keys()].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const threads = opts.nthreads || new Map();
  const packed = workers.map((w) => OX.packLanes(byWorker.get(w), threads.get(w) || Infinity));
  const nLanes = packed.reduce((s, l) => s + Math.max(l.length, 1), 0);
  const laneH = Math.max(2, Math.min(14, Math.floor((opts.height || 320) / Math.max(nLanes, 1))));
  const plotH = nLanes * laneH;
  const svg = OX.svg("svg", {
    class: "task-stream", width, height: plotH + 22,
    "data-t0": t0, "data-t1": t1, "data-visible": visible.length,
  }, parent);
  const x = (t) => LABEL_W + ((t - t0) / (t1 - t0)) * plotW;
  const secPerPx = (t1 - t0) / plotW;
  const merge = visible.length > MERGE_ABOVE;
  const seen = new Map();
  let y = 0;
  workers.forEach((w, wi) => {
    const lanes = packed[wi];
    const rows = Math.max(lanes.length, 1);
    const g = OX.svg("g", { class: "ts-worker", "data-worker": w, "data-lanes": lanes.length }, svg);
    OX.svg("rect", { x: LABEL_W, y, width: plotW, height: rows * laneH,
      fill: wi % 2 ? "#f3f6f9" : "#fbfcfd" }, g);
    const label = OX.svg("text", { x: 2, y: y + Math.min(rows * laneH, 14) - 3,
      text: w.replace(/^[a-z]+:\/\//, "").slice(0, 22) }, g);
    OX.tip(label, w);
    lanes.forEach((lane, li) => {
      const ly = y + li * laneH + (laneH > 4 ? 1 : 0);
      const lh = laneH > 4 ? laneH - 2 : laneH;
      let cur = null;
      const flush = () => {
        if (!cur) return;
        const rx = Math.max(x(cur.start), LABEL_W);
        const rw = Math.max(Math.min(x(cur.stop), LABEL_W + plotW) - rx, 0.5);
        const r = OX.svg("rect", {
          class: "ts-task" + (cur.erred ? " erred" : "") + " ts-" + OX.kindOf(cur.prefix),
          x: rx.toFixed(2), y: ly, width: rw.toFixed(2), height: lh,
          fill: cur.erred ? "#111" : OX.colour(cur.prefix),
          stroke: cur.erred ? "#d62728" : laneH > 4 ? "#fff" : null,
          "stroke-width": cur.erred ? 1 : 0.5,
          "fill-opacity": OX.kindOf(cur.prefix) === "compute" ? null : 0.6,
          "data-n": cur.n, "data-prefix": cur.prefix,
        }, g);
        if (cur.n === 1) {
          const dur = OX.fmtSeconds(cur.stop - cur.start);
          OX.tip(r, `${cur.key}\n${cur.prefix} on ${w}\n${dur}${cur.erred ? " (erred)" : ""}`);
          OX.link(r, OX.taskHref(cur.key));
        } else {
          OX.tip(r, `${cur.n} ${cur.prefix} tasks`);
        }
        cur = null;
      };
      for (const t of lane) {
        const erred = t.status === "erred";
        seen.set(t.prefix, (seen.get(t.prefix) || 0) + 1);
        if (merge && cur && cur.prefix === t.prefix && cur.erred === erred &&
            t.start - cur.stop < secPerPx) {
          cur.stop = Math.max(cur.stop, t.stop);
          cur.n++;
          continue;
        }
        flush();
        cur = { key: t.key, prefix: t.prefix, start: t.start, stop: t.stop, erred, n: 1 };
      }
      flush();
    });
    y += rows * laneH;
  });
  // time axis (seconds since the scheduler started)
  const axis = OX.svg("g", { class: "axis" }, svg);
  OX.svg("line", { x1: LABEL_W, x2: LABEL_W + plotW, y1: plotH + 0.5, y2: plotH + 0.5 }, axis);
  for (const t of niceTicks(t0, t1, Math.max(2, Math.floor(plotW / 90)))) {
    OX.svg("line", { x1: x(t), x2: x(t), y1: plotH, y2: plotH + 4 }, axis);
    OX.svg("text", { x: x(t), y: plotH + 16, "text-anchor": "middle",
      text: `${+t.toFixed(3)} s` }, axis);
  }
  if (!visible.length) {
    OX.svg("text", { x: LABEL_W + 4, y: Math.min(plotH, 40) / 2 + 5, class: "note",
      text: "no tasks in this window" }, svg);
  }
  if (opts.legend) drawLegend(opts.legend, seen);
  return visible.length;
};

function drawLegend(node, seen) {
  OX.clear(node);
  const names = [...seen.keys()].sort().slice(0, 40);
  for (const name of names) {
    const item = OX.el("span", { className: "legend-item" }, node);
    OX.el("span", { className: "swatch", style: `background:${OX.colour(name)}` }, item);
    item.appendChild(document.createTextNode(`${name} (${seen.get(name)})`));
  }
}

// Threads per worker address, from /json/state every 5 s (rows per worker; idle workers shown).
OX.watchThreads = function (panel) {
  const nthreads = new Map();
  const quiet = { root: panel.root, ok() {}, fail() {} };
  OX.poll(quiet, "/json/state", (state) => {
    nthreads.clear();
    for (const w of state.workers || []) nthreads.set(w.address, w.nthreads || 1);
  }, 5000);
  return nthreads;
};

// The scrolling task stream of /status and /individual-task-stream: the last `windowS` seconds.
OX.taskStreamPanel = function (parent, opts = {}) {
  const windowS = opts.windowS || 10;
  const panel = OX.panel(parent, "Task Stream", { wide: true, id: "task-stream" });
  const drawing = OX.el("div", {}, panel.body);
  const legend = OX.el("div", { className: "legend" }, panel.body);
  const store = new OX.TaskStore(20000);
  const nthreads = OX.watchThreads(panel);
  OX.poll(panel, () => store.url(), (data) => {
    store.add(data);
    store.prune(store.now - 6 * windowS);
    OX.drawTaskStream(drawing, store.tasks, store.now - windowS, store.now, {
      width: OX.widthOf(panel), height: opts.height || 260, legend, nthreads,
      workers: [...nthreads.keys()],
    });
  });
  return panel;
};

// The whole-run task stream of /tasks: zoom with the wheel, pan by dragging, reset on double-click.
OX.pages.tasks = function (main) {
  const panel = OX.panel(main, "Task Stream", { wide: true, id: "task-stream" });
  const controls = OX.el("div", { className: "controls" }, panel.body);
  const info = OX.el("span", { className: "note" }, controls);
  const reset = OX.el("button", { type: "button", text: "Reset zoom" }, controls);
  const drawing = OX.el("div", {}, panel.body);
  const legend = OX.el("div", { className: "legend" }, panel.body);
  const store = new OX.TaskStore(100000);
  const nthreads = OX.watchThreads(panel);
  let view = null; // [t0, t1] when zoomed, else the whole run
  let changed = true;
  const extent = () => {
    let lo = Infinity;
    for (const t of store.tasks) if (t.start < lo) lo = t.start;
    return [isFinite(lo) ? Math.min(lo, store.now) : 0, Math.max(store.now, 1e-3)];
  };
  const draw = () => {
    const [lo, hi] = view || extent();
    const n = OX.drawTaskStream(drawing, store.tasks, lo, hi === lo ? lo + 1 : hi, {
      width: OX.widthOf(panel), height: 480, legend, nthreads,
    });
    info.textContent = `${n} of ${store.tasks.length} tasks shown, ${OX.fmtSeconds(hi - lo)} ` +
      (view ? "(zoomed)" : "(whole run)");
    changed = false;
  };
  OX.poll(panel, () => store.url(), (data) => {
    if (store.add(data) > 0 || !view) changed = true;
    if (changed) draw();
  });
  reset.addEventListener("click", () => {
    view = null;
    draw();
  });
  const plotX = (ev) => {
    const svg = drawing.querySelector("svg");
    const box = svg.getBoundingClientRect();
    const plotW = box.width - LABEL_W - 24;
    return Math.min(Math.max((ev.clientX - box.left - LABEL_W) / plotW, 0), 1);
  };
  drawing.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [lo, hi] = view || extent();
    const f = plotX(ev);
    const centre = lo + f * (hi - lo);
    const span = Math.max((hi - lo) * (ev.deltaY > 0 ? 1.25 : 0.8), 1e-4);
    view = [centre - f * span, centre + (1 - f) * span];
    draw();
  }, { passive: false });
  let dragging = null;
  drawing.addEventListener("mousedown", (ev) => {
    dragging = { x: ev.clientX, view: view || extent() };
  });
  window.addEventListener("mouseup", () => (dragging = null));
  drawing.addEventListener("mousemove", (ev) => {
    if (!dragging) return;
    const svg = drawing.querySelector("svg");
    const plotW = svg.getBoundingClientRect().width - LABEL_W - 24;
    const [lo, hi] = dragging.view;
    const dt = ((ev.clientX - dragging.x) / plotW) * (hi - lo);
    view = [lo - dt, hi - dt];
    draw();
  });
  drawing.addEventListener("dblclick", () => {
    view = null;
    draw();
  });
};
