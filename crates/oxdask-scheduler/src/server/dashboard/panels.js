// oxdask dashboard: the /status panels (progress per prefix, bytes stored per worker, tasks
// processing, CPU), the /status page and the /individual-* single-plot pages.
"use strict";

// Progress segments in drawing order (what is left of the bar is waiting).
OX.PROGRESS_STATES = ["released", "memory", "erred", "processing", "queued", "no-worker"];
const PROGRESS_LABEL_W = 150;
const PROGRESS_TEXT_W = 110;

OX.drawProgress = function (node, prefixes, width) {
  OX.clear(node);
  if (!prefixes.length) {
    OX.el("p", { className: "note", text: "No tasks yet." }, node);
    return;
  }
  const rowH = 20;
  const barW = Math.max(width - PROGRESS_LABEL_W - PROGRESS_TEXT_W, 60);
  const svg = OX.svg("svg", { class: "progress", width, height: prefixes.length * rowH + 4,
    "data-bar-width": barW }, node);
  prefixes.forEach((p, i) => {
    const y = i * rowH + 2;
    const total = p.total || 0;
    const g = OX.svg("g", { class: "progress-bar", "data-prefix": p.name, "data-total": total }, svg);
    const label = OX.svg("text", { x: 0, y: y + 13, text: String(p.name).slice(0, 24) }, g);
    OX.tip(label, p.name);
    OX.svg("rect", { x: PROGRESS_LABEL_W, y, width: barW, height: rowH - 4, fill: "#f3f5f7",
      stroke: "#d5dbe1" }, g);
    let x = PROGRESS_LABEL_W;
    for (const state of OX.PROGRESS_STATES) {
      const n = p[state] || 0;
      const w = total > 0 ? (n / total) * barW : 0;
      let fill = OX.STATE_COLOURS[state];
      let opacity = null;
      if (state === "memory") fill = OX.colour(p.name);
      if (state === "released") {
        fill = OX.colour(p.name);
        opacity = 0.45;
      }
      const r = OX.svg("rect", { class: "progress-seg", "data-state": state, "data-count": n,
        x: x.toFixed(2), y, width: w.toFixed(2), height: rowH - 4, fill, "fill-opacity": opacity }, g);
      OX.tip(r, `${p.name}: ${n} ${state}`);
      x += w;
    }
    const done = (p.released || 0) + (p.memory || 0) + (p.erred || 0);
    const text = `${done} / ${total}` + (p.erred ? ` (${p.erred} erred)` : "");
    OX.svg("text", { class: "progress-text", x: PROGRESS_LABEL_W + barW + 6, y: y + 13, text }, g);
  });
  const legend = OX.el("div", { className: "legend" }, node);
  for (const state of OX.PROGRESS_STATES) {
    const item = OX.el("span", {}, legend);
    OX.el("span", { className: "swatch", style: `background:${OX.STATE_COLOURS[state]}` }, item);
    item.appendChild(document.createTextNode(state === "memory" ? "in memory" : state));
  }
};

OX.progressPanel = function (parent) {
  const panel = OX.panel(parent, "Progress", { id: "progress" });
  OX.poll(panel, "/json/progress", (data) =>
    OX.drawProgress(panel.body, data.prefixes || [], OX.widthOf(panel)));
  return panel;
};

// ---------- bytes stored per worker ----------

const WORKER_LABEL_W = 130;
const HISTOGRAM_ABOVE = 100; // workers; above this, histograms instead of one bar each (as Dask)

OX.sortWorkers = (workers) =>
  workers.slice().sort((a, b) => String(a.address).localeCompare(b.address, "en", { numeric: true }));

// "normal" | "spill" (past target or spill) | "paused" (paused or past pause), as Dask colours.
OX.memoryLevel = function (w, thresholds) {
  const limit = w.memory_limit || 0;
  const frac = limit ? (w.memory || 0) / limit : 0;
  const th = thresholds || {};
  if (w.status === "paused" || (limit && th.pause && frac >= th.pause)) return "paused";
  const low = Math.min(th.target || Infinity, th.spill || Infinity);
  if (limit && frac >= low) return "spill";
  return "normal";
};
const LEVEL_COLOURS = { normal: "#2b6cb0", spill: "#f08c00", paused: "#d62728" };

OX.memoryParts = function (w) {
  const managed = Math.max(w.managed || 0, 0);
  const memory = Math.max(w.memory || 0, 0);
  return { managed, unmanaged: Math.max(memory - managed, 0), spilled: Math.max(w.spilled || 0, 0) };
};

OX.drawMemory = function (node, state, width) {
  OX.clear(node);
  const workers = OX.sortWorkers(state.workers || []);
  const th = state.thresholds || {};
  if (!workers.length) {
    OX.el("p", { className: "note", text: "No workers." }, node);
    return;
  }
  const total = workers.reduce((s, w) => s + (w.memory || 0) + (w.spilled || 0), 0);
  OX.el("div", { className: "note", text: `Total: ${OX.fmtBytes(total)} in ${workers.length} workers` }, node);
  if (workers.length > HISTOGRAM_ABOVE) {
    OX.histogram(node, workers.map((w) => w.memory || 0), { width, fmt: OX.fmtBytes });
    return;
  }
  const rowH = 18;
  const barW = Math.max(width - WORKER_LABEL_W - 10, 60);
  const scale = Math.max(...workers.map((w) =>
    Math.max(w.memory_limit || 0, (w.memory || 0) + (w.spilled || 0))), 1);
  const svg = OX.svg("svg", { class: "workers-memory", width, height: workers.length * rowH + 22 }, node);
  const x = (b) => WORKER_LABEL_W + (b / scale) * barW;
  workers.forEach((w, i) => {
    const y = i * rowH + 2;
    const parts = OX.memoryParts(w);
    const level = OX.memoryLevel(w, th);
    const g = OX.svg("g", { class: "mem-bar", "data-worker": w.address, "data-level": level,
      "data-managed": parts.managed, "data-unmanaged": parts.unmanaged,
      "data-spilled": parts.spilled }, svg);
    OX.svg("text", { x: 0, y: y + 12, text: String(w.address).replace(/^[a-z]+:\/\//, "") }, g);
    let at = 0;
    for (const [part, fill, op] of [["managed", LEVEL_COLOURS[level], 1],
      ["unmanaged", LEVEL_COLOURS[level], 0.4], ["spilled", "#8d8d8d", 0.8]]) {
      const r = OX.svg("rect", { class: "mem-" + part, x: x(at).toFixed(2), y,
        width: (x(at + parts[part]) - x(at)).toFixed(2), height: rowH - 4, fill, "fill-opacity": op }, g);
      OX.tip(r, `${w.address}\n${part}: ${OX.fmtBytes(parts[part])}`);
      at += parts[part];
    }
    if (w.memory_limit) {
      for (const [name, colour] of [["target", "#f08c00"], ["spill", "#f08c00"], ["pause", "#d62728"]]) {
        if (!th[name]) continue;
        const tx = x(w.memory_limit * th[name]);
        OX.svg("line", { class: "threshold", x1: tx, x2: tx, y1: y - 1, y2: y + rowH - 3, stroke: colour }, g);
      }
      const lx = x(w.memory_limit);
      OX.svg("line", { class: "limit", x1: lx, x2: lx, y1: y - 1, y2: y + rowH - 3, stroke: "#333" }, g);
    }
  });
  const legend = OX.el("div", { className: "legend" }, node);
  for (const [name, colour] of [["managed", LEVEL_COLOURS.normal], ["past target/spill", LEVEL_COLOURS.spill],
    ["paused/past pause", LEVEL_COLOURS.paused], ["spilled", "#8d8d8d"]]) {
    const item = OX.el("span", {}, legend);
    OX.el("span", { className: "swatch", style: `background:${colour}` }, item);
    item.appendChild(document.createTextNode(name));
  }
  OX.svg("text", { x: WORKER_LABEL_W, y: workers.length * rowH + 16,
    text: `0 — ${OX.fmtBytes(scale)} (unmanaged lighter; dashed: target / spill / pause)` }, svg);
};

// ---------- tasks processing and CPU ----------

function workerBars(node, workers, value, opts) {
  const rowH = 16;
  const barW = Math.max(opts.width - WORKER_LABEL_W - 50, 60);
  const max = Math.max(opts.max || 0, ...workers.map(value), 1);
  const svg = OX.svg("svg", { class: opts.cls, width: opts.width, height: workers.length * rowH + 4 }, node);
  workers.forEach((w, i) => {
    const y = i * rowH + 2;
    const v = value(w);
    const g = OX.svg("g", { class: opts.cls + "-bar", "data-worker": w.address, "data-value": v }, svg);
    OX.svg("text", { x: 0, y: y + 11, text: String(w.address).replace(/^[a-z]+:\/\//, "") }, g);
    const r = OX.svg("rect", { x: WORKER_LABEL_W, y, width: ((v / max) * barW).toFixed(2),
      height: rowH - 4, fill: opts.colour(w, v) }, g);
    OX.tip(r, `${w.address}: ${opts.fmt(v)}`);
    OX.svg("text", { x: WORKER_LABEL_W + barW + 4, y: y + 11, text: opts.fmt(v) }, g);
  });
}

OX.drawProcessing = function (node, state, width) {
  OX.clear(node);
  const workers = OX.sortWorkers(state.workers || []);
  const total = workers.reduce((s, w) => s + (w.processing || 0), 0);
  OX.el("div", { className: "note", text: `${total} tasks processing on ${workers.length} workers` }, node);
  if (workers.length > HISTOGRAM_ABOVE) {
    OX.histogram(node, workers.map((w) => w.processing || 0), { width, fmt: (v) => v.toFixed(0) });
    return;
  }
  workerBars(node, workers, (w) => w.processing || 0, {
    cls: "nprocessing", width, fmt: (v) => String(v),
    colour: (w, v) => (v < (w.nthreads || 1) ? "#d62728" : "#2b6cb0"),
  });
};

OX.drawCPU = function (node, state, width) {
  OX.clear(node);
  const workers = OX.sortWorkers(state.workers || []).filter((w) => typeof w.cpu === "number");
  if (!workers.length) {
    OX.el("p", { className: "note", text: "The workers report no CPU figures." }, node);
    return;
  }
  if (workers.length > HISTOGRAM_ABOVE) {
    OX.histogram(node, workers.map((w) => w.cpu), { width, fmt: (v) => v.toFixed(0) + " %" });
    return;
  }
  workerBars(node, workers, (w) => w.cpu, {
    cls: "cpu", width, max: 100, fmt: (v) => v.toFixed(0) + " %", colour: () => "#2ca02c",
  });
};

// The panels drawn from /json/state, sharing one poll. `which` picks among memory/processing/cpu.
OX.statePanels = function (parent, which = ["memory", "processing", "cpu"]) {
  const defs = {
    memory: ["Bytes stored per worker", "workers-memory", OX.drawMemory],
    processing: ["Tasks Processing", "nprocessing", OX.drawProcessing],
    cpu: ["CPU", "workers-cpu", OX.drawCPU],
  };
  const made = which.map((k) => [OX.panel(parent, defs[k][0], { id: defs[k][1] }), defs[k][2]]);
  OX.poll(made.map((m) => m[0]), "/json/state", (state) => {
    for (const [panel, draw] of made) draw(panel.body, state, OX.widthOf(panel));
  });
  return made.map((m) => m[0]);
};

OX.pages.status = function (main) {
  const grid = OX.el("div", { className: "grid" }, main);
  OX.taskStreamPanel(grid);
  OX.progressPanel(grid).root.classList.add("wide");
  OX.statePanels(grid);
};

// /individual-<name>: one plot, no navigation (for embedding, as Dask's JupyterLab extension does).
OX.INDIVIDUAL = {
  "task-stream": (m) => OX.taskStreamPanel(m),
  progress: (m) => OX.progressPanel(m),
  "workers-memory": (m) => OX.statePanels(m, ["memory"]),
  nprocessing: (m) => OX.statePanels(m, ["processing"]),
  "workers-cpu": (m) => OX.statePanels(m, ["cpu"]),
  graph: (m) => OX.pages.graph(m),
  groups: (m) => OX.pages.groups(m),
  profile: (m) => OX.pages.profile(m),
  system: (m) => OX.pages.system(m),
  exceptions: (m) => OX.pages.exceptions(m),
};

OX.pages.individual = function (main, name) {
  const draw = OX.INDIVIDUAL[name];
  if (!draw) {
    const p = OX.panel(main, "Not found");
    OX.el("p", { text: `No plot named ${name}.` }, p.body);
    return;
  }
  draw(main);
};
