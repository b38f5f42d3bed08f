// oxdask dashboard: /workers (a sortable table, one row per worker) and /info/worker/<addr>.html.
"use strict";

const pct = (v) => (typeof v === "number" ? v.toFixed(0) + " %" : "—");
const rate = (v) => (typeof v === "number" ? OX.fmtBytes(v) + "/s" : "—");
const ioCell = (a, b) => (w) => {
  if (typeof w[a] !== "number" && typeof w[b] !== "number") return [null, "—"];
  return [(w[a] || 0) + (w[b] || 0), `${rate(w[a])} / ${rate(w[b])}`];
};

// [key, title, value(worker) -> raw or [raw, text], format, is text]
OX.WORKER_COLUMNS = [
  ["address", "Address", (w) => w.address, null, true],
  ["name", "Name", (w) => (w.name === undefined || w.name === null ? "" : String(w.name)), null, true],
  ["status", "Status", (w) => w.status || "", null, true],
  ["nthreads", "Threads", (w) => w.nthreads, OX.fmtNum],
  ["cpu", "CPU", (w) => (typeof w.cpu === "number" ? w.cpu : null), pct],
  ["memory", "Memory", (w) => w.memory, OX.fmtBytes],
  ["memory_limit", "Limit", (w) => w.memory_limit || null, OX.fmtBytes],
  ["memory_frac", "Memory %", (w) => (w.memory_limit ? (100 * (w.memory || 0)) / w.memory_limit : null), pct],
  ["managed", "Managed", (w) => OX.memoryParts(w).managed, OX.fmtBytes],
  ["unmanaged", "Unmanaged", (w) => OX.memoryParts(w).unmanaged, OX.fmtBytes],
  ["spilled", "Spilled", (w) => OX.memoryParts(w).spilled, OX.fmtBytes],
  ["processing", "Processing", (w) => w.processing, OX.fmtNum],
  ["keys_held", "In memory", (w) => w.keys_held, OX.fmtNum],
  ["network", "Net read / write", ioCell("read_bytes", "write_bytes"), null],
  ["disk", "Disk read / write", ioCell("disk_read", "disk_write"), null],
  ["last_seen_s", "Last seen", (w) => w.last_seen_s, (v) => OX.fmtSeconds(v) + " ago"],
];

// Draws (or updates in place: 1,000 workers redrawn every second must stay cheap) the table.
OX.drawWorkerTable = function (node, workers, sort, onSort) {
  const cols = OX.WORKER_COLUMNS;
  const rows = workers.map((w) => {
    const cells = cols.map(([, , value, fmt]) => {
      let v = value(w);
      let text;
      if (Array.isArray(v)) [v, text] = v;
      else text = v === null || v === undefined ? "—" : fmt ? fmt(v) : String(v);
      return [v, text];
    });
    return { w, cells };
  });
  const ci = Math.max(cols.findIndex((c) => c[0] === sort.key), 0);
  rows.sort((a, b) => {
    const x = a.cells[ci][0];
    const y = b.cells[ci][0];
    let c;
    if (x === null || x === undefined) c = y === null || y === undefined ? 0 : 1;
    else if (y === null || y === undefined) c = -1;
    else if (typeof x === "number" && typeof y === "number") c = x - y;
    else c = String(x).localeCompare(String(y), "en", { numeric: true });
    return sort.desc ? -c : c;
  });
  let t = node._oxTable;
  if (!t) {
    OX.clear(node);
    const table = OX.el("table", { className: "data workers" }, node);
    const head = OX.el("tr", {}, OX.el("thead", {}, table));
    const ths = cols.map(([key, title, , , isText]) => {
      const th = OX.el("th", { text: title, "data-col": key, className: isText ? "text" : "" }, head);
      th.addEventListener("click", () => onSort(key));
      return th;
    });
    t = node._oxTable = { table, ths, tbody: OX.el("tbody", {}, table), rows: new Map() };
  }
  t.table.setAttribute("data-rows", rows.length);
  t.ths.forEach((th, i) => {
    th.classList.toggle("sorted-asc", i === ci && !sort.desc);
    th.classList.toggle("sorted-desc", i === ci && sort.desc);
  });
  const seen = new Set();
  rows.forEach(({ w, cells }, i) => {
    seen.add(w.address);
    let r = t.rows.get(w.address);
    if (!r) {
      const tr = OX.el("tr", { className: "worker-row", "data-worker": w.address });
      const tds = cols.map(([key, , , , isText]) =>
        OX.el("td", { "data-col": key, className: isText ? "text" : "" }, tr));
      const a = OX.el("a", { href: OX.workerHref(w.address) }, tds[0]);
      r = { tr, tds, a, texts: [], values: [] };
      t.rows.set(w.address, r);
    }
    r.tr.classList.toggle("worker-paused", w.status === "paused");
    cells.forEach(([v, text], j) => {
      const td = r.tds[j];
      if (r.texts[j] !== text) {
        r.texts[j] = text;
        if (j === 0) r.a.textContent = text;
        else td.textContent = text;
      }
      const value = v === null || v === undefined ? null : String(v);
      if (r.values[j] !== value) {
        r.values[j] = value;
        if (value === null) td.removeAttribute("data-value");
        else td.setAttribute("data-value", value);
      }
    });
    const statusTd = r.tds[cols.findIndex((c) => c[0] === "status")];
    if (w.pause_reason) statusTd.title = w.pause_reason;
    else statusTd.removeAttribute("title");
    if (t.tbody.children[i] !== r.tr) t.tbody.insertBefore(r.tr, t.tbody.children[i] || null);
  });
  for (const [addr, r] of t.rows) {
    if (!seen.has(addr)) {
      r.tr.remove();
      t.rows.delete(addr);
    }
  }
};

OX.pages.workers = function (main) {
  const panel = OX.panel(main, "Workers", { wide: true, id: "workers" });
  const summary = OX.el("div", { className: "note" }, panel.body);
  const tableNode = OX.el("div", {}, panel.body);
  const sort = { key: "address", desc: false };
  let last = null;
  const draw = () => {
    if (!last) return;
    const workers = last.workers || [];
    const threads = workers.reduce((s, w) => s + (w.nthreads || 0), 0);
    const mem = workers.reduce((s, w) => s + (w.memory || 0), 0);
    summary.textContent = `${workers.length} workers, ${threads} threads, ${OX.fmtBytes(mem)} memory`;
    OX.drawWorkerTable(tableNode, workers, sort, (key) => {
      if (sort.key === key) sort.desc = !sort.desc;
      else Object.assign(sort, { key, desc: false });
      draw();
    });
  };
  OX.poll(panel, "/json/state", (state) => {
    last = state;
    draw();
  });
};

// ---------- one worker ----------

function keyList(node, keys, withBytes) {
  OX.clear(node);
  if (!keys.length) {
    OX.el("p", { className: "note", text: "None." }, node);
    return;
  }
  const table = OX.el("table", { className: "data keys" }, node);
  const head = OX.el("tr", {}, OX.el("thead", {}, table));
  OX.el("th", { className: "text", text: "Key" }, head);
  if (withBytes) OX.el("th", { text: "Bytes" }, head);
  const tbody = OX.el("tbody", {}, table);
  for (const k of keys) {
    const key = withBytes ? k.key : k;
    const tr = OX.el("tr", { className: "key-row" }, tbody);
    OX.el("a", { href: OX.taskHref(key), text: key }, OX.el("td", { className: "text" }, tr));
    if (withBytes) OX.el("td", { text: OX.fmtBytes(k.nbytes), "data-value": k.nbytes }, tr);
  }
}

OX.pages.worker = function (main, address) {
  OX.el("h1", { text: `Worker ${address}`, style: "font-size:16px;margin:0 0 8px" }, main);
  const enc = encodeURIComponent(address);
  const grid = OX.el("div", { className: "grid" }, main);
  const info = OX.panel(grid, "Worker", { id: "worker-info" });
  const proc = OX.panel(grid, "Tasks processing", { id: "worker-processing" });
  const keys = OX.panel(grid, "Keys held", { wide: true, id: "worker-keys" });
  const stacks = OX.panel(grid, "Call stacks", { wide: true, id: "worker-stacks" });
  const logs = OX.panel(grid, "Logs", { wide: true, id: "worker-logs" });
  OX.poll([info, proc, keys], `/json/worker/${enc}`, (w) => {
    OX.clear(info.body);
    const dl = OX.el("dl", { className: "kv" }, info.body);
    const parts = OX.memoryParts(w);
    const items = [
      ["Address", w.address], ["Name", w.name], ["Status", w.status + (w.pause_reason ? ` (${w.pause_reason})` : "")],
      ["PID", w.pid], ["Threads", w.nthreads],
      ["Memory", `${OX.fmtBytes(w.memory)} of ${w.memory_limit ? OX.fmtBytes(w.memory_limit) : "no limit"}`],
      ["Managed", OX.fmtBytes(parts.managed)], ["Unmanaged", OX.fmtBytes(parts.unmanaged)],
      ["Spilled", OX.fmtBytes(parts.spilled)], ["Keys held", OX.fmtNum(w.keys_held)],
      ["Occupancy", OX.fmtSeconds(w.occupancy_s)], ["Last seen", OX.fmtSeconds(w.last_seen_s) + " ago"],
    ];
    for (const [k, v] of items) {
      OX.el("dt", { text: k }, dl);
      OX.el("dd", { text: v === undefined || v === null ? "—" : String(v) }, dl);
    }
    // the running keys (`processing` is their count in /json/state's entry)
    const processing = w.processing_keys || (Array.isArray(w.processing) ? w.processing : []);
    keyList(proc.body, processing, false);
    const held = w.keys || [];
    keyList(keys.body, held, true);
    if (held.length >= 1000) OX.el("p", { className: "note", text: "(the first 1000 keys)" }, keys.body);
  });
  OX.poll(stacks, `/json/ext/call_stacks?worker=${enc}`, (data) => {
    OX.clear(stacks.body);
    const entries = Object.entries(data.stacks || {});
    if (!entries.length) OX.el("p", { className: "note", text: "No task running." }, stacks.body);
    for (const [key, frames] of entries) {
      const div = OX.el("div", { className: "call-stack", "data-key": key }, stacks.body);
      OX.el("a", { href: OX.taskHref(key), text: key }, OX.el("div", { className: "meta" }, div));
      OX.el("pre", { text: (frames || []).join("\n") }, div);
    }
  }, 2000);
  OX.poll(logs, `/json/ext/logs?worker=${enc}`, (data) => {
    OX.clear(logs.body);
    const lines = (data.logs || []).slice(-500);
    if (!lines.length) OX.el("p", { className: "note", text: "No log records." }, logs.body);
    const pre = OX.el("pre", { className: "logs" }, logs.body);
    for (const [level, text] of lines) {
      const lv = String(level).toLowerCase();
      OX.el("div", { className: "log-line log-" + lv, text: `${String(level).toUpperCase()} ${text}` }, pre);
    }
  }, 2000);
};
