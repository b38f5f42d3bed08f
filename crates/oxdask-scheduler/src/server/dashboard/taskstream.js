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

const CANVAS_ABOVE = 2000; // above this many visible tasks, they are painted on a canvas
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

const taskText = (t, w) =>
  `${t.key}\n${t.prefix} on ${w}\n${OX.fmtSeconds(t.stop - t.start)}` +
  (t.status === "erred" ? " (erred)" : "");

// Draws the tasks overlapping [t0, t1] into `parent` (cleared). Returns the visible task count.
// Up to CANVAS_ABOVE tasks, one SVG rect each (class ts-task); above, the rows, labels and axis
// stay SVG and the tasks are painted on a canvas over the plot (thousands of workers' tasks
// redrawn every second), with the same tooltips and links found by position.
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
  const seen = new Map();
  for (const t of visible) seen.set(t.prefix, (seen.get(t.prefix) || 0) + 1);
  const pad = laneH > 4 ? 1 : 0;
  const laneRows = []; // per lane row from the top: [worker, its tasks by start]
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
    for (let li = 0; li < rows; li++) laneRows.push([w, lanes[li] || [], g, y + li * laneH]);
    y += rows * laneH;
  });
  if (visible.length > CANVAS_ABOVE) {
    paintCanvas(parent, laneRows, { t0, t1, plotW, plotH, laneH, pad, secPerPx, n: visible.length });
  } else {
    for (const [w, lane, g, ly] of laneRows) {
      for (const t of lane) {
        const erred = t.status === "erred";
        const kind = OX.kindOf(t.prefix);
        const rx = Math.max(x(t.start), LABEL_W);
        const rw = Math.max(Math.min(x(t.stop), LABEL_W + plotW) - rx, 0.5);
        const r = OX.svg("rect", {
          class: "ts-task" + (erred ? " erred" : "") + " ts-" + kind,
          x: rx.toFixed(2), y: ly + pad, width: rw.toFixed(2), height: laneH - 2 * pad,
          fill: erred ? "#111" : OX.colour(t.prefix),
          stroke: erred ? "#d62728" : laneH > 4 ? "#fff" : null,
          "stroke-width": erred ? 1 : 0.5,
          "fill-opacity": kind === "compute" ? null : 0.6,
          "data-n": 1, "data-prefix": t.prefix,
        }, g);
        OX.tip(r, taskText(t, w));
        OX.link(r, OX.taskHref(t.key));
      }
    }
  }
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

function paintCanvas(parent, laneRows, o) {
  parent.style.position = "relative";
  let erred = 0;
  for (const [, lane] of laneRows) for (const t of lane) if (t.status === "erred") erred++;
  const canvas = OX.el("canvas", { className: "task-stream-canvas", "data-tasks": o.n,
    "data-erred": erred, "data-lanes": laneRows.length }, parent);
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.ceil(o.plotW * dpr);
  canvas.height = Math.max(Math.ceil(o.plotH * dpr), 1);
  canvas.style.cssText = `position:absolute;left:${LABEL_W}px;top:0;` +
    `width:${o.plotW}px;height:${o.plotH}px`;
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const cx = (t) => ((t - o.t0) / (o.t1 - o.t0)) * o.plotW;
  laneRows.forEach(([, lane], i) => {
    const ly = i * o.laneH + o.pad;
    const lh = o.laneH - 2 * o.pad;
    for (const t of lane) {
      const rx = Math.max(cx(t.start), 0);
      const rw = Math.max(Math.min(cx(t.stop), o.plotW) - rx, 0.5);
      const kind = OX.kindOf(t.prefix);
      ctx.globalAlpha = kind === "compute" ? 1 : 0.6;
      ctx.fillStyle = t.status === "erred" ? "#111" : OX.colour(t.prefix);
      ctx.fillRect(rx, ly, rw, lh);
      if (t.status === "erred") {
        ctx.globalAlpha = 1;
        ctx.strokeStyle = "#d62728";
        ctx.strokeRect(rx, ly, rw, lh);
      }
    }
  });
  // the task under the pointer: its lane by height, then a binary search by time
  const hit = (ev) => {
    const row = laneRows[Math.floor(ev.offsetY / o.laneH)];
    if (!row) return null;
    const lane = row[1];
    const t = o.t0 + (ev.offsetX / o.plotW) * (o.t1 - o.t0);
    const slack = 2 * o.secPerPx;
    let lo = 0;
    let hi = lane.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (lane[mid].start <= t + slack) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // of the tasks within the slack (a pixel can hold several), the one nearest the pointer
    let best = null;
    let bestD = slack;
    for (let i = found, n = 0; i >= 0 && n < 64; i--, n++) {
      const c = lane[i];
      if (c.stop < t - slack && n > 0) break;
      const d = t < c.start ? c.start - t : t > c.stop ? t - c.stop : 0;
      if (d <= bestD) {
        best = c;
        bestD = d;
        if (d === 0) break;
      }
    }
    return best ? [row[0], best] : null;
  };
  OX.tip(canvas, (ev) => {
    const h = hit(ev);
    return h ? taskText(h[1], h[0]) : null;
  });
  OX.link(canvas, (ev) => {
    const h = hit(ev);
    return h ? OX.taskHref(h[1].key) : null;
  });
}

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
