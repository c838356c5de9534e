// A plain two-sided chat for free practice conversations (people play both sides).
// Mount on .chat-box[data-conversation-id][data-as="agent"|"customer"].
(function () {
  "use strict";
  const BD = window.BankDrill;
  const el = BD.el;

  function mount(root) {
    const cid = root.dataset.conversationId;
    const side = root.dataset.as === "customer" ? "customer" : "agent";
    const list = root.querySelector(".chat-messages");
    const form = root.querySelector(".chat-form");
    const status = root.querySelector(".chat-status");
    let last = 0;
    const names = side === "customer" ? { customer: "我（客户）", agent: "坐席", human: "人工坐席", system: "系统" }
      : { customer: "客户", agent: "我（坐席）", human: "人工坐席", system: "系统" };

    function add(m) {
      if (m.seq <= last) return;
      last = m.seq;
      const mine = m.speaker === side;
      list.append(el("li", { class: "msg " + (mine ? "msg-agent" : "msg-customer") }, [
        el("div", { class: "m-who small muted", text: names[m.speaker] || m.speaker }),
        el("div", { class: "m-text", text: m.text || "［语音］" })]));
      list.scrollTop = list.scrollHeight;
    }

    async function poll() {
      try {
        const q = side === "customer" ? "&as=customer" : "";
        const data = await BD.api("GET", "/api/v1/conversations/" + cid + "/messages?after=" + last + q);
        data.messages.forEach(add);
        status.textContent = "";
      } catch (err) { status.textContent = err.message; }
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const box = form.querySelector("textarea");
      const text = box.value.trim();
      if (!text) return;
      try {
        const body = { text: text };
        if (side === "customer") body.as = "customer";
        const res = await BD.api("POST", "/api/v1/conversations/" + cid + "/messages", body);
        add(res.message);
        box.value = "";
      } catch (err) { status.textContent = err.message; }
    });
    form.querySelector("textarea").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
    });
    BD.every(poll, 2000);
  }

  document.querySelectorAll(".chat-box[data-conversation-id]").forEach(mount);
})();
