// Trainer tools: live Markdown preview in the article editor, confirmations for deletions.
(function () {
  "use strict";
  const BD = window.BankDrill;

  function setupPreview(textarea) {
    const target = document.querySelector(textarea.getAttribute("data-preview"));
    const status = document.getElementById("preview-status");
    if (!target) return;
    let timer = null;
    let seq = 0;

    async function render() {
      const mine = ++seq;
      try {
        const data = await BD.api("POST", "/api/v1/trainer/preview", { markdown: textarea.value });
        if (mine !== seq) return;  // a newer keystroke already asked again
        // Safe to insert as HTML: data.html is produced by the server with the same
        // renderer the article page uses (knowledge_base/render.py: python-markdown, then
        // nh3 with a short allow-list, so no <script>, no event-handler attributes, no
        // javascript: URLs survive), and the page's CSP (script-src 'self') would block
        // any inline script anyway. DOMParser builds the nodes without running anything.
        const doc = new DOMParser().parseFromString(data.html, "text/html");
        target.replaceChildren(...Array.from(doc.body.childNodes));
        if (status) status.textContent = "";
      } catch (err) {
        if (mine !== seq) return;
        if (status) status.textContent = "预览失败：" + err.message;
      }
    }

    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 250);
    });
    render();
  }

  document.querySelectorAll("textarea[data-preview]").forEach(setupPreview);

  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
