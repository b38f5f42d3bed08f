// oxdask dashboard: shared helpers (fetching, SVG, colours, panels, polling) and the router.
// The other scripts (taskstream.js, panels.js, workers.js, pages.js) register pages in OX.pages;
// every script is loaded with `defer`, so they all ran before DOMContentLoaded starts the router.
"use strict";

const OX = (window.OX = window.OX || {});
OX.pages = OX.pages || {};
// The token of a scheduler that has one: taken from ?token= once, then kept in this tab's
// sessionStorage and removed from the address bar (out of history, bookmarks and links), or typed
// into the login form a 401 brings up.
const TOKEN_KEY = "oxdask-dashboard-token";
OX.tokenInLinks = false;
OX.token = (() => {
  const params = new URLSearchParams(location.search);
  let token = params.get("token");
  try {
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
    } else {
      token = sessionStorage.getItem(TOKEN_KEY);
    }
  } catch (e) {
    OX.tokenInLinks = true; // no storage: links carry the token instead
  }
  return token;
})();
OX.POLL_MS = 1000;

// ---------- fetching ----------

// GET a JSON route with the page's token as a Bearer header; a non-2xx answer throws an Error
// whose message names the route, the status and the body's text.
OX.getJSON = async function (path) {
  const headers = { Accept: "application/json" };
  if (OX.token) headers.Authorization = "Bearer " + OX.token;
  let resp;
  try {
    resp = await fetch(path, { headers, cache: "no-store" });
  } catch (e) {
    throw new Error(`${path}: ${e.message || e}`);
  }
  if (!resp.ok) {
    let text = "";
    try {
      text = (await resp.text()).trim();
    } catch (e) {
      text = "";
    }
    const err = new Error(`${path}: HTTP ${resp.status} ${resp.statusText}${text ? "\n" + text : ""}`);
    err.status = resp.status;
    throw err;
  }
  const data = await resp.json();
  // a route that could not answer (a Python extension route failing) says {"error": text}
  if (data && typeof data.error === "string") throw new Error(`${path}: ${data.error}`);
  return data;
};

// A link to another dashboard page, keeping the page's token.
OX.href = function (path) {
  return OX.tokenInLinks && OX.token ? `${path}?token=${encodeURIComponent(OX.token)}` : path;
};

// The login form a 401 brings up (once per page): the token is kept in this tab only.
OX.askToken = function () {
  if (document.getElementById("login")) return;
  const main = document.getElementById("main");
  const form = OX.el("form", { id: "login", className: "panel login" });
  main.insertBefore(form, main.firstChild);
  OX.el("h2", { text: OX.token ? "The token was refused" : "This scheduler wants its token" }, form);
  const input = OX.el("input", { type: "password", name: "token", autocomplete: "current-password",
    placeholder: "token", "aria-label": "token" }, form);
  OX.el("button", { type: "submit", text: "Log in" }, form);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    try {
      sessionStorage.setItem(TOKEN_KEY, input.value);
    } catch (e) {
      OX.tokenInLinks = true;
    }
    OX.token = input.value;
    location.reload();
  });
};
OX.taskHref = (key) => OX.href(`/info/task/${encodeURIComponent(key)}.html`);
OX.workerHref = (addr) => OX.href(`/info/worker/${encodeURIComponent(addr)}.html`);

// ---------- DOM and SVG ----------

const SVGNS = "http://www.w3.org/2000/svg";

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "style") node.style.cssText = String(v); // CSSOM: allowed by the page's CSP
    else if (k === "className") node.className = v;
    else node.setAttribute(k, String(v));
  }
  return node;
}

OX.el = function (tag, attrs, parent) {
  const node = setAttrs(document.createElement(tag), attrs);
  if (parent) parent.appendChild(node);
  return node;
};

OX.svg = function (tag, attrs, parent) {
  const node = setAttrs(document.createElementNS(SVGNS, tag), attrs);
  if (parent) parent.appendChild(node);
  return node;
};

// Hover tooltips: the texts live in a WeakMap (no extra DOM nodes per shape: the task stream
// draws thousands) and one floating box shows the text of the element under the pointer. A text
// may be a function of the mouse event (a canvas finds the task under the pointer).
const tips = new WeakMap();
OX.tip = function (node, text) {
  tips.set(node, text);
  return node;
};
let tipNode = null;
const showTip = (ev) => {
  let box = document.getElementById("ox-tip");
  const v = tipNode ? tips.get(tipNode) : null;
  const text = typeof v === "function" ? v(ev) : v;
  if (!text) {
    if (box) box.style.display = "none";
    return;
  }
  if (!box) box = OX.el("div", { id: "ox-tip" }, document.body);
  box.textContent = text;
  box.style.display = "block";
  const x = Math.min(ev.clientX + 14, window.innerWidth - box.offsetWidth - 4);
  const y = Math.min(ev.clientY + 14, window.innerHeight - box.offsetHeight - 4);
  box.style.left = `${Math.max(x, 0)}px`;
  box.style.top = `${Math.max(y, 0)}px`;
};
document.addEventListener("mouseover", (ev) => {
  let node = ev.target;
  while (node && !tips.has(node)) node = node.parentNode;
  tipNode = node;
  showTip(ev);
});
document.addEventListener("mousemove", (ev) => {
  if (tipNode) showTip(ev);
});

// Click-through links on SVG shapes (a task opens its task page), also without DOM nodes; an
// href may be a function of the click.
const links = new WeakMap();
OX.link = function (node, href) {
  links.set(node, href);
  return node;
};
document.addEventListener("click", (ev) => {
  const v = links.get(ev.target);
  const href = typeof v === "function" ? v(ev) : v;
  if (href) location.href = href;
});

OX.clear = function (node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
};

// ---------- formatting ----------

OX.fmtBytes = function (n) {
  if (n === undefined || n === null || !isFinite(n)) return "—";
  const units = ["B", "kiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : 1);
  return (n < 0 ? "-" : "") + s + " " + units[i];
};

OX.fmtSeconds = function (s) {
  if (s === undefined || s === null || !isFinite(s)) return "—";
  if (s < 1e-3) return (s * 1e6).toFixed(0) + " µs";
  if (s < 1) return (s * 1e3).toFixed(1) + " ms";
  if (s < 120) return s.toFixed(2) + " s";
  if (s < 7200) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
};

OX.fmtNum = (n) => (n === undefined || n === null ? "—" : Number(n).toLocaleString("en-US"));

// ---------- colours ----------

// A stable colour per task prefix (FNV-1a hash of the name onto a palette); transfers are red and
// spilling (disk-read/disk-write) grey-brown, as distinct from computations as in Dask.
const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
  "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#6baed6", "#fd8d3c", "#74c476",
  "#9e9ac8", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3", "#ad494a", "#a55194",
];
OX.hash = function (s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
};
OX.kindOf = function (prefix) {
  const p = String(prefix || "");
  if (p.startsWith("transfer")) return "transfer";
  if (p.startsWith("disk-")) return "spill";
  return "compute";
};
OX.colour = function (prefix) {
  const kind = OX.kindOf(prefix);
  if (kind === "transfer") return "#d62728";
  if (kind === "spill") return "#a0a0a0";
  const h = OX.hash(String(prefix));
  if (h % 3 === 0) return PALETTE[(h >>> 2) % PALETTE.length];
  return `hsl(${(h >>> 3) % 360}, ${50 + ((h >>> 12) % 30)}%, ${38 + ((h >>> 20) % 20)}%)`;
};

// Colours of the task states (progress bars, graph nodes).
OX.STATE_COLOURS = {
  released: "#b8c7d6",
  waiting: "#e8ecf0",
  queued: "#c9c9c9",
  "no-worker": "#f4c27a",
  processing: "#7aa6d2",
  memory: "#2b6cb0",
  erred: "#111111",
};

// ---------- panels and polling ----------

// A titled panel: {root, body, error}. fail(err) shows the error text (the last good drawing
// stays below it); ok() hides it again.
OX.panel = function (parent, title, opts = {}) {
  const root = OX.el("section", { className: "panel" + (opts.wide ? " wide" : "") }, parent);
  if (opts.id) root.id = opts.id;
  if (title) OX.el("h2", { text: title }, root);
  const error = OX.el("div", { className: "error" }, root);
  const body = OX.el("div", { className: "body" }, root);
  return {
    root,
    body,
    error,
    fail(err) {
      root.classList.add("failed");
      error.textContent = String((err && err.message) || err);
    },
    ok() {
      root.classList.remove("failed");
      error.textContent = "";
    },
  };
};

// Polls `url()` every `ms` and calls render(data); a failing route (or render) shows its error in
// the panel and polling goes on. Stops when the panel left the document.
// `panel` may be a list of panels sharing one route (the /json/state panels of /status).
OX.poll = function (panel, url, render, ms = OX.POLL_MS) {
  const panels = Array.isArray(panel) ? panel : [panel];
  let stopped = false;
  let timer = null;
  let chain = 0; // now() starts a new chain of ticks; an older one ends at its next step
  const tick = async (mine) => {
    if (mine !== chain || stopped || !panels.some((p) => p.root.isConnected)) return;
    const u = typeof url === "function" ? url() : url;
    // a tab in the background asks nothing (it catches up when shown)
    if (u !== null && !document.hidden) {
      try {
        const data = await OX.getJSON(u);
        if (mine !== chain) return;
        const began = performance.now();
        render(data);
        const took = (performance.now() - began).toFixed(1);
        panels.forEach((p) => {
          p.ok();
          p.root.dataset.renderMs = took; // how long the last drawing took (responsiveness)
        });
      } catch (err) {
        if (mine !== chain) return;
        panels.forEach((p) => p.fail(err));
        if (err.status === 401) OX.askToken();
        console.warn(String(err && err.message ? err.message : err));
      }
    }
    if (mine === chain) timer = setTimeout(() => tick(mine), ms);
  };
  const now = () => {
    clearTimeout(timer);
    chain++;
    tick(chain);
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) now();
  });
  tick(chain);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    now,
  };
};

// Keeps a bounded history: appends and drops from the front past `cap`.
OX.pushCapped = function (arr, item, cap) {
  arr.push(item);
  if (arr.length > cap) arr.splice(0, arr.length - cap);
  return arr;
};

// Width available to a panel's drawing.
OX.widthOf = function (panel, fallback = 600) {
  const w = panel.body.clientWidth || panel.root.clientWidth;
  return Math.max(240, (w || fallback) - 4);
};

// A histogram of `values` (used instead of one bar per worker above 100 workers, as Dask does).
OX.histogram = function (parent, values, opts) {
  const width = opts.width;
  const height = opts.height || 160;
  const bins = opts.bins || 20;
  const max = Math.max(opts.max || 0, ...values, 1e-9);
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v / max) * bins))]++;
  const top = Math.max(...counts, 1);
  const svg = OX.svg("svg", { width, height: height + 20, class: "histogram" }, parent);
  const bw = width / bins;
  counts.forEach((c, i) => {
    const h = (c / top) * height;
    const lo = (i / bins) * max;
    const hi = ((i + 1) / bins) * max;
    const r = OX.svg(
      "rect",
      { class: "hist-bin", x: i * bw + 1, y: height - h, width: Math.max(bw - 2, 1), height: h,
        fill: opts.colour || "#2b6cb0", "data-count": c },
      svg,
    );
    OX.tip(r, `${c} workers: ${opts.fmt(lo)} – ${opts.fmt(hi)}`);
  });
  OX.svg("text", { x: 0, y: height + 14, text: opts.fmt(0) }, svg);
  OX.svg("text", { x: width, y: height + 14, "text-anchor": "end", text: opts.fmt(max) }, svg);
  OX.svg("text", { x: width / 2, y: height + 14, "text-anchor": "middle",
    text: `${values.length} workers (histogram)` }, svg);
  return svg;
};

// ---------- navigation and routing ----------

OX.NAV = [
  ["Status", "/status"],
  ["Workers", "/workers"],
  ["Tasks", "/tasks"],
  ["System", "/system"],
  ["Profile", "/profile"],
  ["Graph", "/graph"],
  ["Groups", "/groups"],
  ["Exceptions", "/exceptions"],
];

OX.drawNav = function (path) {
  const nav = document.getElementById("nav");
  if (!nav) return;
  OX.clear(nav);
  OX.el("div", { className: "brand", text: "oxdask" }, nav);
  for (const [name, href] of OX.NAV) {
    const a = OX.el("a", { href: OX.href(href), text: name }, nav);
    if (path === href || (href === "/workers" && path.startsWith("/info/worker/"))) {
      a.className = "active";
    }
  }
};

// Which page a path shows: [pageName, argument].
OX.route = function (path) {
  let m = path.match(/^\/info\/task\/(.+)\.html$/);
  if (m) return ["task", decodeURIComponent(m[1])];
  m = path.match(/^\/info\/worker\/(.+)\.html$/);
  if (m) return ["worker", decodeURIComponent(m[1])];
  if (path === "/info/main/workers.html") return ["workers", null];
  m = path.match(/^\/individual-([a-z-]+)$/);
  if (m) return ["individual", m[1]];
  const name = path.replace(/^\/+|\/+$/g, "") || "status";
  return [name, null];
};

OX.start = function () {
  const path = location.pathname;
  const [name, arg] = OX.route(path);
  const main = OX.clear(document.getElementById("main"));
  if (name === "individual") document.body.classList.add("individual");
  OX.drawNav(path);
  const page = OX.pages[name];
  if (!page) {
    const p = OX.panel(main, "Not found");
    OX.el("p", { text: `No dashboard page at ${path}.` }, p.body);
    return;
  }
  document.title = `oxdask: ${name === "individual" ? arg : name}`;
  page(main, arg);
};

document.addEventListener("DOMContentLoaded", OX.start);
