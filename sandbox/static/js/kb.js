// 知识库: live results while typing (the form still works without JavaScript).
(function () {
  "use strict";
  const form = document.getElementById("kb-search-form");
  const box = document.getElementById("kb-results");
  if (!form || !box || !window.BankDrill) return;
  const el = window.BankDrill.el;
  const input = form.querySelector('input[name="q"]');
  const select = form.querySelector('select[name="category"]');
  const all = form.querySelector('input[name="status"]');
  let timer = null;
  let seq = 0;

  const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
  function unescapeText(s) {
    return s.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (m) => ENTITIES[m] || m);
  }

  // Snippets are escaped text with <mark> around hits: rebuild them as DOM nodes.
  function snippetNodes(html) {
    const nodes = [];
    html.split(/(<mark>|<\/mark>)/).reduce((marked, part) => {
      if (part === "<mark>") return true;
      if (part === "</mark>") return false;
      if (part) nodes.push(marked ? el("mark", { text: unescapeText(part) }) : document.createTextNode(unescapeText(part)));
      return marked;
    }, false);
    return nodes;
  }

  function render(data, query) {
    box.replaceChildren();
    box.append(el("p", { class: "muted small kb-meta", text: "共 " + data.total + " 条结果，用时 " + data.took_ms.toFixed(1) + " 毫秒" }));
    if (!data.results.length) {
      box.append(el("div", { class: "card kb-empty", text: "没有找到相关文章。可以换个说法，或减少字数后再试。" }));
      return;
    }
    const list = el("ol", { class: "kb-hits" });
    data.results.forEach((hit) => {
      const href = "/kb/articles/" + encodeURIComponent(hit.id) + "?q=" + encodeURIComponent(query.slice(0, 200));
      list.append(el("li", { class: "card kb-hit" }, [
        el("h2", {}, [el("a", { href: href, text: hit.title })]),
        el("p", { class: "kb-snippet" }, snippetNodes(hit.snippet)),
        el("p", { class: "small muted" }, [el("span", { class: "badge", text: hit.category }),
                                           el("span", { class: "kb-id", text: hit.id })]),
      ]));
    });
    box.append(list);
    if (data.total > data.results.length) {
      const params = new URLSearchParams(new FormData(form));
      params.set("page", "2");
      box.append(el("nav", { class: "kb-pager" }, [el("a", { class: "button", href: "?" + params.toString(), text: "下一页" })]));
    }
  }

  async function run() {
    const query = input.value;
    if (!query.trim()) return;
    const params = new URLSearchParams({ q: query, limit: "10", page: "1" });
    if (select.value) params.set("category", select.value);
    if (all && all.checked) params.set("status", "all");
    const mine = ++seq;
    try {
      const data = await window.BankDrill.api("GET", "/api/v1/kb/search?" + params.toString());
      if (mine !== seq) return;
      render(data, query);
      const pageParams = new URLSearchParams(new FormData(form));
      history.replaceState(null, "", "?" + pageParams.toString());
    } catch (err) {
      if (mine !== seq) return;
      box.replaceChildren(el("div", { class: "flash flash-error", text: err.message }));
    }
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  }
  input.addEventListener("input", later);
  select.addEventListener("change", run);
  if (all) all.addEventListener("change", run);
})();
