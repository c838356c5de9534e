// 工单 panel (create with defaults, list the conversation's orders, quick update)
// and the human-agent queue's waiting-time ticker. No innerHTML with data.
(function () {
  "use strict";
  const BD = window.BankDrill;
  const PRIORITIES = ["紧急", "高", "中", "低"];

  function formData(form) {
    const out = {};
    new FormData(form).forEach((value, key) => {
      const v = String(value).trim();
      if (v !== "") out[key] = v;
    });
    return out;
  }

  function say(panel, text, bad) {
    const p = panel.querySelector(".wo-message");
    if (!p) return;
    p.textContent = text;
    p.classList.toggle("wo-bad", !!bad);
  }

  function listUrl(panel) {
    const base = panel.dataset.api;
    const cid = panel.dataset.conversationId;
    return cid ? base + "?conversation_id=" + encodeURIComponent(cid) : base + "?limit=5";
  }

  function orderItem(panel, o) {
    const link = BD.el("a", { href: panel.dataset.detailBase + "/" + encodeURIComponent(o.number), text: o.number });
    const badges = [BD.el("span", { class: "badge", text: o.status })];
    if (o.overdue) badges.push(BD.el("span", { class: "badge bad", text: "已超时" }));
    if (o.waiting_on_customer) badges.push(BD.el("span", { class: "badge warn", text: "等待客户" }));
    const select = BD.el("select", { name: "priority", "aria-label": "优先级" },
      PRIORITIES.map((p) => BD.el("option", { value: p, text: p, selected: p === o.priority ? "selected" : null })));
    const note = BD.el("input", { name: "note", placeholder: "变更说明（可选）", maxlength: "1000" });
    const button = BD.el("button", { type: "submit", text: "更新" });
    const form = BD.el("form", { class: "wo-update" }, [select, note, button]);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      try {
        const body = { priority: select.value };
        if (note.value.trim()) body.note = note.value.trim();
        const updated = await BD.api("PATCH", panel.dataset.api + "/" + encodeURIComponent(o.number), body);
        say(panel, "已更新 " + updated.number + "，办结时限 " + BD.fmtTime(updated.due_at));
        refresh(panel);
      } catch (err) {
        say(panel, err.message, true);
      } finally {
        button.disabled = false;
      }
    });
    return BD.el("li", { class: "wo-item" }, [
      BD.el("div", {}, [link, " ", o.title, " "].concat(badges)),
      BD.el("div", { class: "muted small", text: o.type + " · " + o.queue + " · 时限 " + BD.fmtTime(o.due_at) + "（" + BD.timeLabel + "）" }),
      form,
    ]);
  }

  async function refresh(panel) {
    const list = panel.querySelector(".wo-list");
    try {
      const data = await BD.api("GET", listUrl(panel));
      const items = data.items.map((o) => orderItem(panel, o));
      list.replaceChildren(...(items.length ? items : [BD.el("li", { class: "muted", text: "暂无工单。" })]));
    } catch (err) {
      list.replaceChildren(BD.el("li", { class: "wo-bad", text: err.message }));
    }
  }

  function init(panel) {
    const form = panel.querySelector(".wo-create");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = formData(form);
      if (panel.dataset.conversationId) body.conversation_id = Number(panel.dataset.conversationId);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const o = await BD.api("POST", panel.dataset.api, body);
        say(panel, "已创建工单 " + o.number + "（" + o.status + "）");
        if (panel.dataset.openCreated) {
          window.location.assign(panel.dataset.detailBase + "/" + encodeURIComponent(o.number));
          return;
        }
        form.querySelector("[name=title]").value = "";
        form.querySelector("[name=description]").value = "";
        refresh(panel);
      } catch (err) {
        say(panel, err.message, true);
      } finally {
        button.disabled = false;
      }
    });
    refresh(panel);
  }

  // The console switches conversations: point the panel at another one.
  function setConversation(panel, conversationId) {
    panel.dataset.conversationId = conversationId ? String(conversationId) : "";
    refresh(panel);
  }

  function tickQueue() {
    document.querySelectorAll(".wo-wait[data-seconds]").forEach((cell) => {
      const s = Number(cell.dataset.seconds) + 1;
      cell.dataset.seconds = String(s);
      const first = cell.firstChild;
      if (first && first.nodeType === Node.TEXT_NODE) {
        const m = Math.floor(s / 60), r = s % 60;
        first.textContent = (m ? m + "分" : "") + r + "秒";
      }
    });
  }

  document.querySelectorAll(".wo-panel").forEach(init);
  if (document.querySelector(".wo-wait")) setInterval(tickQueue, 1000);
  BD.workorders = { init: init, refresh: refresh, setConversation: setConversation };
})();
