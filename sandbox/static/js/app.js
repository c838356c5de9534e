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

  window.BankDrill = { api: api, el: el, csrfToken: csrfToken, every: every };
})();
