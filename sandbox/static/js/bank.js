// 客户信息 panel, practice page, customer phone and examiner reveal (mock bank).
// BankPanel.mount(element, conversationId) can be called by other pages (agent console).
(function () {
  "use strict";
  const BD = window.BankDrill;
  const el = BD.el;

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function table(headers, rows) {
    const thead = el("thead", {}, [el("tr", {}, headers.map((h) => el("th", { text: h })))]);
    const tbody = el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) =>
      c instanceof Node ? el("td", {}, [c]) : el("td", { text: c === null || c === undefined ? "—" : String(c) })))));
    return el("table", { class: "table bp-table" }, [thead, tbody]);
  }

  function statusBadge(status) {
    const cls = status === "正常" ? "badge ok" : (status === "挂失" || status === "冻结" || status === "逾期" ? "badge bad" : "badge warn");
    return el("span", { class: cls, text: status });
  }

  function mount(root, conversationId) {
    const base = "/api/v1/conversations/" + encodeURIComponent(conversationId);
    const $ = (role) => root.querySelector('[data-role="' + role + '"]');
    let pending = null; // action awaiting confirmation
    let detail = null;  // {kind, ref} shown in the detail section

    function say(role, text, bad) {
      const node = $(role);
      node.textContent = text || "";
      node.classList.toggle("bad", !!bad);
    }

    function showVerified(identity) {
      const verified = identity && identity.verified;
      $("identity").hidden = !!verified;
      $("data").hidden = !verified;
      if (verified && identity.expires_at) {
        $("expires").textContent = "无操作 15 分钟后需重新核验";
      }
      if (identity && identity.locked) {
        say("identity-message", identity.lock === "agent_customer"
          ? "您对该客户的身份核验在 15 分钟内已失败 3 次（含其他会话），核验已暂停，请稍后再试。"
          : "本会话的身份核验已锁定，不能查询或办理业务。", true);
        root.querySelectorAll(".bp-form button, .bp-form input").forEach((n) => { n.disabled = true; });
      }
    }

    function handle(err) {
      if (err.code === "identity_not_verified") {
        showVerified({ verified: false });
        say("identity-message", err.message, true);
      } else {
        say("status", err.message, true);
      }
    }

    async function loadState() {
      try {
        const conv = await BD.api("GET", base);
        say("status", "客户：" + conv.customer.salutation + "（" + conv.customer.id + "） · 渠道 " + conv.channel
          + (conv.status === "open" ? "" : " · 会话已结束"));
        showVerified(conv.identity);
        if (conv.identity.verified) await loadData();
      } catch (err) { say("status", err.message, true); }
    }

    async function loadData() {
      try {
        const [profile, accounts, cards] = await Promise.all([
          BD.api("GET", base + "/customer"), BD.api("GET", base + "/accounts"), BD.api("GET", base + "/cards")]);
        renderProfile(profile);
        renderAccounts(accounts.accounts);
        renderCards(cards.cards);
        if (detail) await showDetail(detail.kind, detail.ref);
      } catch (err) { handle(err); }
    }

    function renderProfile(p) {
      const dl = $("profile");
      clear(dl);
      const rows = [["称呼", p.salutation], ["姓名", p.name], ["性别 / 年龄", p.gender + " / " + p.age + " 岁"],
        ["证件号", p.id_number], ["手机号", p.phone], ["客群", p.segment],
        ["风险等级", p.risk_level + "（有效期至 " + p.risk_expires + (p.risk_expired ? "，已过期" : "") + "）"],
        ["地址", p.address]];
      if (p.company) rows.push(["单位", p.company]);
      if (p.holdings.length) rows.push(["理财持仓", p.holdings.map((h) => h.product_name + "（" + h.product_risk + "）"
        + h.amount + " 元 " + h.status).join("；")]);
      rows.forEach(([k, v]) => { dl.append(el("dt", { text: k }), el("dd", { text: v === null ? "—" : v })); });
    }

    function actionButtons(kind, item) {
      const box = el("span", { class: "bp-actions" });
      if (kind === "account") {
        box.append(el("button", { type: "button", text: "交易明细", onclick: () => showDetail("account", item.ref) }));
      } else {
        box.append(el("button", { type: "button", text: "账单/分期", onclick: () => showDetail("bill", item.ref) }),
          el("button", { type: "button", text: "卡片状态", onclick: () => showDetail("card", item.ref) }));
      }
      box.append(el("button", { type: "button", class: "danger", text: "临时挂失",
        onclick: () => askConfirm(kind, item) }));
      return box;
    }

    function renderAccounts(items) {
      const box = $("accounts");
      clear(box);
      if (!items.length) { box.append(el("p", { class: "muted", text: "该客户在本行没有借记账户。" })); return; }
      box.append(table(["引用", "账号", "类型", "状态", "余额", "开户行", "操作"], items.map((a) =>
        [a.ref, a.number, a.kind, statusBadge(a.status), a.balance + " " + a.currency, a.branch, actionButtons("account", a)])));
      items.filter((a) => a.status_memo).forEach((a) => box.append(el("p", { class: "muted small", text: a.ref + "：" + a.status_memo })));
    }

    function renderCards(items) {
      const box = $("cards");
      clear(box);
      if (!items.length) { box.append(el("p", { class: "muted", text: "该客户没有信用卡。" })); return; }
      box.append(table(["引用", "卡号", "产品", "状态", "额度", "可用额度", "账单日", "到期还款日", "操作"], items.map((k) =>
        [k.ref, k.number, k.product, statusBadge(k.status), k.limit, k.available, "每月 " + k.statement_day + " 日",
          k.due_date, actionButtons("card", k)])));
      items.filter((k) => k.status_memo).forEach((k) => box.append(el("p", { class: "muted small", text: k.ref + "：" + k.status_memo })));
    }

    async function showDetail(kind, ref, range) {
      detail = { kind: kind, ref: ref };
      const box = $("detail");
      $("detail-section").hidden = false;
      $("range").hidden = kind !== "account";
      try {
        if (kind === "account") {
          let url = base + "/accounts/" + encodeURIComponent(ref) + "/transactions";
          const q = new URLSearchParams();
          if (range && range.from) q.set("from", range.from);
          if (range && range.to) q.set("to", range.to);
          if (q.toString()) url += "?" + q.toString();
          const data = await BD.api("GET", url);
          $("detail-title").textContent = "交易明细 " + ref + "（" + data.account.number + "）";
          clear(box);
          if (data.risk_events.length) {
            box.append(el("p", { class: "bad", text: "风险事件：" }),
              table(["时间", "事件", "金额", "对方", "渠道", "结果"], data.risk_events.map((e) =>
                [e.at, e.event, e.amount, e.counterparty, e.channel, e.result])));
          }
          box.append(table(["时间", "金额", "余额", "类型", "对方", "渠道", "摘要"], data.transactions.map((t) =>
            [t.at.replace("T", " ").slice(0, 16), t.amount, t.balance_after, t.type, t.counterparty, t.channel, t.memo])));
          if (!data.transactions.length) box.append(el("p", { class: "muted", text: "所选期间没有交易。" }));
        } else if (kind === "bill") {
          const data = await BD.api("GET", base + "/cards/" + encodeURIComponent(ref) + "/bill");
          $("detail-title").textContent = "本期账单 " + ref + "（" + data.card.number + "）";
          clear(box);
          const b = data.bill;
          if (b) {
            box.append(table(["账单日", "账单周期", "账单金额", "最低还款", "已还", "到期还款日", "状态"],
              [[b.statement_date, b.period_start + " 至 " + b.period_end, b.amount, b.minimum, b.paid, b.due_date, b.status]]));
          }
          box.append(el("h4", { text: "分期" }));
          if (data.instalments.length) {
            box.append(table(["类型", "总额", "期数", "已还期数", "当前期", "每期本金", "每期手续费", "剩余本金"],
              data.instalments.map((i) => [i.kind, i.total, i.periods, i.paid_periods, i.current_period, i.per_period,
                i.fee_per_period, i.remaining_principal])));
          } else { box.append(el("p", { class: "muted", text: "无分期。" })); }
        } else {
          const data = await BD.api("GET", base + "/cards/" + encodeURIComponent(ref));
          $("detail-title").textContent = "卡片状态 " + ref + "（" + data.number + "）";
          clear(box);
          box.append(table(["状态", "说明", "开卡日期", "年费", "免年费条件", "逾期天数"],
            [[statusBadge(data.status), data.status_memo, data.opened, data.annual_fee.amount, data.annual_fee.waiver_rule, data.overdue_days]]));
          box.append(el("h4", { text: "近期交易" }), table(["时间", "金额", "类型", "商户/对方", "渠道", "摘要"],
            data.recent_transactions.map((t) => [t.at.replace("T", " ").slice(0, 16), t.amount, t.type, t.counterparty, t.channel, t.memo])));
        }
      } catch (err) { handle(err); }
    }

    function askConfirm(kind, item) {
      pending = { kind: kind, ref: item.ref };
      const what = kind === "account" ? "账户" : "信用卡";
      $("confirm-text").textContent = "确认为客户办理" + what + " " + item.ref + "（" + item.number + "）的临时挂失吗？挂失后该"
        + what + "将暂停交易，解除须客户本人到网点办理。";
      $("confirm").hidden = false;
    }

    async function doFreeze() {
      const p = pending;
      pending = null;
      $("confirm").hidden = true;
      if (!p) return;
      const path = (p.kind === "account" ? "/accounts/" : "/cards/") + encodeURIComponent(p.ref) + "/freeze";
      try {
        const res = await BD.api("POST", base + path, {});
        say("status", res.message);
        await loadData();
      } catch (err) { handle(err); }
    }

    root.querySelectorAll(".bp-tab").forEach((tab) => tab.addEventListener("click", () => {
      root.querySelectorAll(".bp-tab").forEach((t) => {
        const on = t === tab;
        t.classList.toggle("active", on);
        t.setAttribute("aria-selected", on ? "true" : "false");
      });
      root.querySelectorAll(".bp-form").forEach((f) => { f.hidden = f.dataset.method !== tab.dataset.method; });
    }));

    root.querySelectorAll(".bp-form").forEach((form) => form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { method: form.dataset.method };
      new FormData(form).forEach((v, k) => { body[k] = String(v).trim(); });
      try {
        const res = await BD.api("POST", base + "/identity/verify", body);
        say("identity-message", res.message, !res.verified);
        if (res.verified) { form.reset(); await loadState(); }
      } catch (err) {
        if (err.code === "verification_locked" || err.code === "verification_throttled") {
          showVerified({ verified: false, locked: true,
                         lock: err.code === "verification_throttled" ? "agent_customer" : "conversation" });
        }
        say("identity-message", err.message, true);
      }
    }));

    root.querySelector('[data-action="send-sms"]').addEventListener("click", async () => {
      try {
        const res = await BD.api("POST", base + "/identity/sms", {});
        say("identity-message", "验证码已发送至客户手机 " + res.phone + "，5 分钟内有效。请客户报出验证码。");
      } catch (err) { say("identity-message", err.message, true); }
    });
    root.querySelector('[data-action="refresh"]').addEventListener("click", loadData);
    root.querySelector('[data-action="confirm-yes"]').addEventListener("click", doFreeze);
    root.querySelector('[data-action="confirm-no"]').addEventListener("click", () => { pending = null; $("confirm").hidden = true; });
    $("range").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = new FormData($("range"));
      if (detail) showDetail("account", detail.ref, { from: f.get("from"), to: f.get("to") });
    });
    loadState();
    return { reload: loadState };
  }

  function initPractice() {
    const form = document.querySelector('[data-role="open-form"]');
    if (!form) return;
    document.querySelectorAll('[data-action="open"]').forEach((btn) => btn.addEventListener("click", async () => {
      const msg = form.querySelector('[data-role="open-message"]');
      try {
        const conv = await BD.api("POST", "/api/v1/conversations",
          { customer_id: btn.dataset.customer, channel: form.elements.channel.value });
        window.location.assign("/practice/" + conv.id);
      } catch (err) { msg.textContent = err.message; }
    }));
  }

  function initPhone() {
    const phone = document.querySelector('[data-role="phone"]');
    if (!phone) return;
    const inbox = phone.querySelector('[data-role="inbox"]');
    async function refresh() {
      try {
        const data = await BD.api("GET", "/api/v1/conversations/" + encodeURIComponent(phone.dataset.conversationId) + "/phone");
        clear(inbox);
        if (!data.messages.length) inbox.append(el("li", { class: "muted", text: "暂无短信。" }));
        data.messages.forEach((m) => inbox.append(el("li", { class: "sms" }, [
          el("div", { class: "sms-from", text: m.sender }), el("div", { class: "sms-body", text: m.body }),
          el("div", { class: "sms-at muted small", text: m.at })])));
      } catch (err) { /* keep the last inbox on a network blip */ }
    }
    phone.querySelector('[data-action="phone-refresh"]').addEventListener("click", refresh);
    window.setInterval(refresh, 5000);
  }

  function initReveal() {
    document.querySelectorAll('[data-action="reveal"]').forEach((btn) => btn.addEventListener("click", async () => {
      const body = { field: btn.dataset.field };
      if (btn.dataset.ref) body.ref = btn.dataset.ref;
      try {
        const res = await BD.api("POST", "/api/v1/bank/customers/" + encodeURIComponent(btn.dataset.customer) + "/reveal", body);
        const target = btn.previousElementSibling && btn.previousElementSibling.classList.contains("reveal-value")
          ? btn.previousElementSibling : btn.parentNode.querySelector(".reveal-value");
        target.textContent = res.value;
        target.classList.add("revealed");
        btn.disabled = true;
      } catch (err) { btn.textContent = err.message; }
    }));
  }

  window.BankPanel = { mount: mount };
  document.querySelectorAll(".bank-panel[data-conversation-id]").forEach((node) => mount(node, node.dataset.conversationId));
  initPractice();
  initPhone();
  initReveal();
})();
