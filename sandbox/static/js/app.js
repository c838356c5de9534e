// Shared helpers for every page: JSON calls that carry the CSRF token.
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = meta ? meta.getAttribute("content") : "";

  async function api(method, url, body) {
    const opts = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      opts.headers["X-CSRFToken"] = csrfToken;
    }
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(url, opts);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      const err = new Error((data && data.error && data.error.message) || ("请求失败（" + resp.status + "）"));
      err.status = resp.status;
      err.code = data && data.error ? data.error.code : "http_" + resp.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return node;
  }

  // Run fn now and then again and again, each time `ms` (±15 %) after the last run finished:
  // a slow server never gets a second poll from the same page before answering the first, and
  // pages opened at the same moment (a whole exam room at the start signal) drift apart instead
  // of polling on one beat, which the load benchmark showed to be the worst case for the server.
  function every(fn, ms) {
    async function run() {
      try { await fn(); } finally { window.setTimeout(run, ms * (0.85 + Math.random() * 0.3)); }
    }
    run();
  }

  // The one time formatter of the pages (the server's ``dt`` filter prints the same):
  // "YYYY-MM-DD HH:MM" in the instance's display zone (<meta name="display-timezone">).
  const zoneMeta = document.querySelector('meta[name="display-timezone"]');
  const timeZone = (zoneMeta && zoneMeta.getAttribute("content")) || "Asia/Shanghai";
  const timeLabel = (zoneMeta && zoneMeta.dataset.label) || "北京时间";
  const formatters = {};
  function formatter(seconds) {
    const key = seconds ? "s" : "m";
    if (!formatters[key]) {
      const opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
      if (seconds) opts.second = "2-digit";
      try { formatters[key] = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: timeZone }, opts)); }
      catch (e) { formatters[key] = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: "Asia/Shanghai" }, opts)); }
    }
    return formatters[key];
  }
  function fmtTime(value, seconds) {
    if (value === null || value === undefined || value === "") return "—";
    const when = value instanceof Date ? value : new Date(value);
    if (isNaN(when.getTime())) return String(value);
    const p = {};
    formatter(seconds).formatToParts(when).forEach((part) => { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + (seconds ? ":" + p.second : "");
  }

  window.BankDrill = { api: api, el: el, csrfToken: csrfToken, every: every, fmtTime: fmtTime,
    timeZone: timeZone, timeLabel: timeLabel };
})();
