// oxdask dashboard: /system, /graph, /groups, /profile, /exceptions and /info/task/<key>.html.
"use strict";

// ---------- line charts (the /system page keeps its own bounded history) ----------

OX.lineChart = function (node, series, opts) {
  OX.clear(node);
  const width = opts.width;
  const height = opts.height || 140;
  const left = 70;
  const pts = series.flatMap((s) => s.points);
  const svg = OX.svg("svg", { class: "line-chart", width, height: height + 20,
    "data-points": series.length ? series[0].points.length : 0 }, node);
  if (!pts.length) return svg;
  const t0 = Math.min(...pts.map((p) => p[0]));
  const t1 = Math.max(...pts.map((p) => p[0]), t0 + 1);
  const vmax = Math.max(...pts.map((p) => p[1]), opts.min || 0, 1e-9);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - 8);
  const y = (v) => 6 + (1 - v / vmax) * (height - 12);
  const axis = OX.svg("g", { class: "axis" }, svg);
  OX.svg("line", { x1: left, x2: width - 8, y1: height, y2: height }, axis);
  OX.svg("text", { x: left - 4, y: 12, "text-anchor": "end", text: opts.fmt(vmax) }, axis);
  OX.svg("text", { x: left - 4, y: height, "text-anchor": "end", text: opts.fmt(0) }, axis);
  OX.svg("text", { x: left, y: height + 14, text: `${t0.toFixed(0)} s` }, axis);
  OX.svg("text", { x: width - 8, y: height + 14, "text-anchor": "end", text: `${t1.toFixed(0)} s` }, axis);
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
    OX.svg("path", { class: "series", "data-name": s.name, d, fill: "none", stroke: s.colour,
      "stroke-width": 1.5 }, svg);
  }
  const legend = OX.el("div", { className: "legend" }, node);
  for (const s of series) {
    const last = s.points.length ? s.points[s.points.length - 1][1] : null;
    const item = OX.el("span", { className: "current", "data-name": s.name }, legend);
    OX.el("span", { className: "swatch", style: `background:${s.colour}` }, item);
    item.appendChild(document.createTextNode(`${s.name}: ${last === null ? "—" : opts.fmt(last)}`));
  }
  return svg;
};

OX.pages.system = function (main) {
  const grid = OX.el("div", { className: "grid" }, main);
  const charts = {
    cpu: OX.panel(grid, "CPU", { id: "system-cpu" }),
    rss: OX.panel(grid, "Memory", { id: "system-memory" }),
    fds: OX.panel(grid, "File descriptors", { id: "system-fds" }),
    bw: OX.panel(grid, "Bandwidth", { id: "system-bandwidth" }),
  };
  const history = [];
  OX.poll(Object.values(charts), "/json/system", (s) => {
    OX.pushCapped(history, s, 600);
    const series = (key) => history.map((h) => [h.now, h[key] || 0]);
    // read_bytes/write_bytes are the process's running totals: plot their rate
    const rates = (key) => {
      const out = [];
      for (let i = 1; i < history.length; i++) {
        const dt = history[i].now - history[i - 1].now;
        const db = (history[i][key] || 0) - (history[i - 1][key] || 0);
        if (dt > 0 && db >= 0) out.push([history[i].now, db / dt]);
      }
      return out;
    };
    const w = OX.widthOf(charts.cpu);
    OX.lineChart(charts.cpu.body, [{ name: "cpu", colour: "#2b6cb0", points: series("cpu") }],
      { width: w, min: 100, fmt: (v) => v.toFixed(0) + " %" });
    OX.lineChart(charts.rss.body, [{ name: "rss", colour: "#2ca02c", points: series("rss") }],
      { width: w, fmt: OX.fmtBytes });
    OX.lineChart(charts.fds.body, [{ name: "fds", colour: "#9467bd", points: series("fds") }],
      { width: w, fmt: (v) => v.toFixed(0) });
    OX.lineChart(charts.bw.body, [
      { name: "read", colour: "#1f77b4", points: rates("read_bytes") },
      { name: "write", colour: "#ff7f0e", points: rates("write_bytes") },
    ], { width: w, fmt: (v) => OX.fmtBytes(v) + "/s" });
  });
};

// ---------- layered DAG layout (graph and groups) ----------

// Longest-path layering: a node sits one layer right of its deepest dependency. Cycles (which a
// task graph has none of) fall back to layer 0.
OX.layers = function (n, edges) {
  const indeg = new Array(n).fill(0);
  const out = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    if (a < 0 || b < 0 || a >= n || b >= n) continue;
    out[a].push(b);
    indeg[b]++;
  }
  const layer = new Array(n).fill(0);
  const queue = [];
  indeg.forEach((d, i) => d === 0 && queue.push(i));
  for (let q = 0; q < queue.length; q++) {
    const a = queue[q];
    for (const b of out[a]) {
      layer[b] = Math.max(layer[b], layer[a] + 1);
      if (--indeg[b] === 0) queue.push(b);
    }
  }
  return layer;
};

function layout(n, edges, width, rowGap, maxH) {
  const layer = OX.layers(n, edges);
  const nl = Math.max(...layer, 0) + 1;
  const counts = new Array(nl).fill(0);
  const slot = layer.map((l) => counts[l]++);
  const tallest = Math.max(...counts, 1);
  const gap = Math.max(4, Math.min(rowGap, maxH / tallest));
  const colW = nl > 1 ? (width - 80) / (nl - 1) : 0;
  const pos = layer.map((l, i) => [40 + l * colW, 14 + (slot[i] + (tallest - counts[l]) / 2) * gap]);
  return { pos, height: tallest * gap + 28, gap };
}

OX.pages.graph = function (main) {
  const panel = OX.panel(main, "Task Graph", { wide: true, id: "graph" });
  const limit = Number(new URLSearchParams(location.search).get("limit")) || 1000;
  OX.poll(panel, `/json/graph?limit=${limit}`, (g) => {
    OX.clear(panel.body);
    if (g.too_large) {
      OX.el("p", { className: "note too-large",
        text: `${g.count} tasks: too many to draw; the limit is ${g.limit}.` }, panel.body);
      return;
    }
    const nodes = g.nodes || [];
    if (!nodes.length) {
      OX.el("p", { className: "note", text: "No tasks." }, panel.body);
      return;
    }
    const width = OX.widthOf(panel);
    const { pos, height, gap } = layout(nodes.length, g.edges || [], width, 22, 900);
    const svg = OX.svg("svg", { class: "task-graph", width, height }, panel.body);
    const eg = OX.svg("g", { class: "edges", stroke: "#b5bfc9" }, svg);
    for (const [a, b] of g.edges || []) {
      if (!pos[a] || !pos[b]) continue;
      OX.svg("line", { class: "graph-edge", x1: pos[a][0], y1: pos[a][1], x2: pos[b][0], y2: pos[b][1] }, eg);
    }
    const r = Math.max(2, Math.min(7, gap / 2 - 1));
    nodes.forEach((nd, i) => {
      const a = OX.svg("a", { href: OX.taskHref(nd.key) }, svg);
      const c = OX.svg("circle", { class: "graph-node", "data-key": nd.key, "data-state": nd.state,
        cx: pos[i][0], cy: pos[i][1], r, fill: OX.STATE_COLOURS[nd.state] || "#ccc",
        stroke: OX.colour(nd.prefix), "stroke-width": 1.5 }, a);
      OX.tip(c, `${nd.key}\n${nd.state}`);
    });
    stateLegend(panel.body);
  });
};

function stateLegend(node) {
  const legend = OX.el("div", { className: "legend" }, node);
  for (const [state, colour] of Object.entries(OX.STATE_COLOURS)) {
    const item = OX.el("span", {}, legend);
    OX.el("span", { className: "swatch", style: `background:${colour}` }, item);
    item.appendChild(document.createTextNode(state));
  }
}

OX.pages.groups = function (main) {
  const panel = OX.panel(main, "Task Groups", { wide: true, id: "groups" });
  OX.poll(panel, "/json/groups", (data) => {
    OX.clear(panel.body);
    const groups = data.groups || [];
    if (!groups.length) {
      OX.el("p", { className: "note", text: "No task groups." }, panel.body);
      return;
    }
    const index = new Map(groups.map((g, i) => [g.name, i]));
    const edges = [];
    groups.forEach((g, i) => {
      for (const d of g.dependencies || []) if (index.has(d)) edges.push([index.get(d), i]);
    });
    const width = OX.widthOf(panel);
    const { pos, height } = layout(groups.length, edges, width - 100, 40, 1200);
    const svg = OX.svg("svg", { class: "task-groups", width, height: height + 10 }, panel.body);
    const eg = OX.svg("g", { class: "edges", stroke: "#b5bfc9" }, svg);
    for (const [a, b] of edges) {
      OX.svg("line", { class: "group-edge", x1: pos[a][0] + 100, y1: pos[a][1] + 8,
        x2: pos[b][0], y2: pos[b][1] + 8 }, eg);
    }
    groups.forEach((g, i) => {
      const [x, y] = pos[i];
      const total = g.total || 0;
      const done = (g.released || 0) + (g.memory || 0);
      const nd = OX.svg("g", { class: "group-node", "data-group": g.name, "data-total": total,
        "data-done": done, "data-erred": g.erred || 0 }, svg);
      OX.svg("rect", { x, y, width: 100, height: 16, fill: "#f3f5f7", stroke: OX.colour(g.name) }, nd);
      const frac = total ? done / total : 0;
      OX.svg("rect", { class: "group-done", x, y, width: (100 * frac).toFixed(2), height: 16,
        fill: OX.colour(g.name), "fill-opacity": 0.7 }, nd);
      if (g.erred) {
        OX.svg("rect", { x: x + 100 * frac, y, width: (100 * g.erred) / total, height: 16, fill: "#111" }, nd);
      }
      OX.svg("text", { x: x + 3, y: y + 12, text: String(g.name).slice(0, 15) }, nd);
      OX.tip(nd, `${g.name}: ${done}/${total} done, ${g.processing || 0} processing, ${g.erred || 0} erred`);
    });
  });
};

// ---------- profile (icicle chart) ----------

OX.drawIcicle = function (node, root, width, onClick) {
  OX.clear(node);
  if (!root || !root.value) {
    OX.el("p", { className: "note", text: "No samples yet." }, node);
    return;
  }
  const rowH = 18;
  let depth = 0;
  const boxes = [];
  const walk = (n, x, w, d) => {
    depth = Math.max(depth, d);
    boxes.push([n, x, w, d]);
    let cx = x;
    for (const c of n.children || []) {
      const cw = (w * (c.value || 0)) / (n.value || 1);
      if (cw >= 0.5) walk(c, cx, cw, d + 1);
      cx += cw;
    }
  };
  walk(root, 0, width, 0);
  const svg = OX.svg("svg", { class: "profile", width, height: (depth + 1) * rowH + 2 }, node);
  for (const [n, x, w, d] of boxes) {
    const g = OX.svg("g", { class: "profile-node", "data-name": n.name, "data-value": n.value }, svg);
    const name = String(n.name);
    const fn = name.split(":").pop();
    OX.svg("rect", { x: x.toFixed(2), y: d * rowH, width: Math.max(w - 0.5, 0.5).toFixed(2),
      height: rowH - 1, fill: d === 0 ? "#888" : OX.colour(fn), "fill-opacity": 0.75 }, g);
    if (w > 40) {
      OX.svg("text", { x: x + 3, y: d * rowH + 13, text: fn.slice(0, Math.floor(w / 7)) }, g);
    }
    const share = ((100 * n.value) / root.value).toFixed(1);
    OX.tip(g, `${name}\n${n.value} samples (${share} %)`);
    g.addEventListener("click", () => onClick(n));
  }
};

OX.pages.profile = function (main) {
  const panel = OX.panel(main, "Profile", { wide: true, id: "profile" });
  const controls = OX.el("div", { className: "controls" }, panel.body);
  OX.el("label", { text: "Task prefix:", for: "profile-prefix" }, controls);
  const select = OX.el("select", { id: "profile-prefix" }, controls);
  OX.el("option", { value: "", text: "All" }, select);
  const reset = OX.el("button", { type: "button", text: "Whole profile" }, controls);
  const info = OX.el("span", { className: "note" }, controls);
  const drawing = OX.el("div", {}, panel.body);
  let focus = []; // names from the root down to the zoomed node
  let last = null;
  const find = (root) => {
    let n = root;
    for (const name of focus) {
      const next = (n.children || []).find((c) => c.name === name);
      if (!next) return root;
      n = next;
    }
    return n;
  };
  const draw = () => {
    if (!last) return;
    const shown = find(last);
    info.textContent = `${last.value || 0} samples` + (shown !== last ? `; zoomed on ${shown.name}` : "");
    OX.drawIcicle(drawing, shown, OX.widthOf(panel), (n) => {
      const path = [];
      const search = (node, trail) => {
        if (node === n) return path.push(...trail), true;
        return (node.children || []).some((c) => search(c, [...trail, c.name]));
      };
      search(last, []);
      focus = path;
      draw();
    });
  };
  reset.addEventListener("click", () => {
    focus = [];
    draw();
  });
  select.addEventListener("change", () => {
    focus = [];
    prof.now();
  });
  const prefixes = OX.panel(main, null, { id: "profile-prefixes" });
  prefixes.root.style.display = "none";
  OX.poll(prefixes, "/json/progress", (data) => {
    const have = new Set([...select.options].map((o) => o.value));
    for (const p of data.prefixes || []) {
      if (!have.has(p.name)) OX.el("option", { value: p.name, text: p.name }, select);
    }
  }, 5000);
  const prof = OX.poll(panel, () => {
    const p = select.value;
    return "/json/ext/profile" + (p ? `?prefix=${encodeURIComponent(p)}` : "");
  }, (data) => {
    last = data;
    draw();
  }, 2000);
};

// ---------- exceptions and one task ----------

OX.pages.exceptions = function (main) {
  const panel = OX.panel(main, "Exceptions", { wide: true, id: "exceptions" });
  OX.poll(panel, "/json/exceptions", (data) => {
    OX.clear(panel.body);
    const excs = (data.exceptions || []).slice(-200).reverse();
    if (!excs.length) {
      OX.el("p", { className: "note", text: "No exceptions." }, panel.body);
      return;
    }
    for (const e of excs) {
      const div = OX.el("div", { className: "exception", "data-key": e.key }, panel.body);
      const meta = OX.el("div", { className: "meta" }, div);
      meta.appendChild(document.createTextNode(`${OX.fmtSeconds(e.time)} · `));
      OX.el("a", { href: OX.taskHref(e.key), text: e.key }, meta);
      meta.appendChild(document.createTextNode(` · ${e.prefix} · ${e.worker}`));
      OX.el("pre", { text: e.text }, div);
    }
  });
};

OX.pages.task = function (main, key) {
  const panel = OX.panel(main, `Task ${key}`, { wide: true, id: "task" });
  OX.poll(panel, `/json/task/${encodeURIComponent(key)}`, (t) => {
    OX.clear(panel.body);
    const dl = OX.el("dl", { className: "kv" }, panel.body);
    OX.el("dt", { text: "Key" }, dl);
    OX.el("dd", { text: t.key, className: "task-key" }, dl);
    OX.el("dt", { text: "State" }, dl);
    OX.el("dd", { text: t.state === null || t.state === undefined ? "unknown to the scheduler" : t.state,
      className: "task-state" }, dl);
    OX.el("h3", { text: "Why", style: "font-size:13px;margin:10px 0 4px" }, panel.body);
    OX.el("pre", { className: "why", text: t.why || "" }, panel.body);
  });
};
