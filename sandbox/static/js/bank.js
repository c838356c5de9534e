// 客户信息 panel, practice page, customer phone and examiner reveal (mock bank).
// BankPanel.mount(element, conversationId) can be called by other pages (agent console).
(function () {
  "use strict";
  const BD = window.BankDrill;
  const el = BD.el;

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function statusBadge(status) {
    const cls = status === "正常" ? "badge ok" : (status === "挂失" || status === "冻结" || status === "逾期" ? "badge bad" : "badge warn");
    return el("span", { class: cls, text: status });
  }

  // options.readOnly: an examiner watching a candidate's drill sees the same panel without the
  // identity forms and the 临时挂失 buttons; the state is polled until the candidate has verified.
  function mount(root, conversationId, options) {
    const base = "/api/v1/conversations/" + encodeURIComponent(conversationId);
    const $ = (role) => root.querySelector('[data-role="' + role + '"]');
    const readOnly = !!(options && options.readOnly);
    let pending = null; // action awaiting confirmation
    let detail = null;  // {kind, ref} shown in the detail section
    let shownVerified = false;
    if (readOnly) {
      root.classList.add("bp-readonly");
      root.querySelectorAll(".bp-tabs, .bp-form, .bp-identity > p.muted").forEach((n) => { n.hidden = true; });
      say("identity-message", "考生尚未完成客户身份核验；核验通过后这里显示考生看到的客户信息（只读，您的每次查询都会记入审计日志）。");
    }

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
        $("expires").textContent = readOnly ? "旁观（只读）" : "无操作 15 分钟后需重新核验";
      }
      if (identity && identity.locked && readOnly) {
        say("identity-message", "考生的身份核验已锁定，不能查询客户信息。", true);
      } else if (identity && identity.locked) {
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
        // Tell the page (the console pre-fills its 工单 and 转人工 forms from a verified customer).
        root.dispatchEvent(new CustomEvent("bankpanel:identity", { bubbles: true, detail: {
          conversationId: String(conversationId), verified: !!conv.identity.verified, customerId: conv.customer.id } }));
        if (conv.identity.verified && !(readOnly && shownVerified)) await loadData();
        shownVerified = conv.identity.verified;
        return conv;
      } catch (err) { say("status", err.message, true); return null; }
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
      const box = el("div", { class: "bp-actions" });
      if (kind === "account") {
        box.append(el("button", { type: "button", text: "交易明细", onclick: () => showDetail("account", item.ref) }));
      } else {
        box.append(el("button", { type: "button", text: "账单/分期", onclick: () => showDetail("bill", item.ref) }),
          el("button", { type: "button", text: "卡片状态", onclick: () => showDetail("card", item.ref) }));
      }
      if (!readOnly) {
        box.append(el("button", { type: "button", class: "danger", text: "临时挂失", onclick: () => askConfirm(kind, item) }));
      }
      return box;
    }

    // key/value pairs as a <dl> (null values shown as —)
    function kv(pairs) {
      const dl = el("dl", { class: "bp-kv" });
      pairs.forEach(([k, v]) => {
        const dd = v instanceof Node ? el("dd", {}, [v]) : el("dd", { text: v === null || v === undefined || v === "" ? "—" : String(v) });
        dl.append(el("dt", { text: k }), dd);
      });
      return dl;
    }

    function itemCard(kind, item, title, pairs) {
      return el("article", { class: "bp-item", "data-ref": item.ref, "data-kind": kind }, [
        el("div", { class: "bp-item-head" }, [el("span", { class: "bp-ref", text: item.ref }), el("span", { text: title }),
          el("span", { class: "bp-number", text: item.number }), statusBadge(item.status)]),
        kv(pairs),
        item.status_memo ? el("p", { class: "bp-memo", text: item.status_memo }) : "",
        actionButtons(kind, item),
      ]);
    }

    function renderAccounts(items) {
      const box = $("accounts");
      clear(box);
      if (!items.length) { box.append(el("p", { class: "muted", text: "该客户在本行没有借记账户。" })); return; }
      box.append(el("div", { class: "bp-items" }, items.map((a) => itemCard("account", a, a.kind,
        [["余额", a.balance + " " + (a.currency === "CNY" ? "元" : a.currency)], ["开户行", a.branch], ["开户日期", a.opened]]))));
      markSelected();
    }

    function renderCards(items) {
      const box = $("cards");
      clear(box);
      if (!items.length) { box.append(el("p", { class: "muted", text: "该客户没有信用卡。" })); return; }
      box.append(el("div", { class: "bp-items" }, items.map((k) => itemCard("card", k, k.product,
        [["额度", k.limit], ["可用额度", k.available], ["账单日", "每月 " + k.statement_day + " 日"], ["到期还款日", k.due_date]]
          .concat(k.overdue_days ? [["逾期天数", k.overdue_days + " 天"]] : [])))));
      markSelected();
    }

    function markSelected() {
      root.querySelectorAll(".bp-item").forEach((node) => {
        const kind = detail && (detail.kind === "account" ? "account" : "card");
        node.classList.toggle("selected", !!detail && node.dataset.ref === detail.ref && node.dataset.kind === kind);
      });
    }

    // One transaction as two short lines: when · type · channel … amount / counterparty · memo · balance.
    function txnList(rows, withBalance) {
      return el("ul", { class: "bp-txns" }, rows.map((t) => {
        const amount = String(t.amount || "");
        const more = [t.counterparty, t.memo].filter(Boolean).join(" · ") + (withBalance && t.balance_after ? "（余额 " + t.balance_after + "）" : "");
        return el("li", { class: "bp-txn" }, [
          el("div", { class: "bp-txn-line" }, [el("span", { class: "bp-txn-when", text: BD.fmtTime(t.at) }),
            el("span", { class: "bp-txn-what", text: [t.type || t.event, t.channel].filter(Boolean).join(" · ") + (t.result ? "（" + t.result + "）" : "") }),
            el("span", { class: "bp-amount " + (amount.startsWith("-") ? "out" : "in"), text: amount })]),
          more ? el("div", { class: "bp-txn-more", text: more }) : "",
        ]);
      }));
    }

    async function showDetail(kind, ref, range) {
      detail = { kind: kind, ref: ref };
      markSelected();
      const box = $("detail");
      const section = $("detail-section");
      section.hidden = false;
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
            box.append(el("h4", { class: "bad", text: "风险事件" }), txnList(data.risk_events, false));
            box.append(el("h4", { text: "交易" }));
          }
          box.append(txnList(data.transactions, true));
          if (!data.transactions.length) box.append(el("p", { class: "muted", text: "所选期间没有交易。" }));
        } else if (kind === "bill") {
          const data = await BD.api("GET", base + "/cards/" + encodeURIComponent(ref) + "/bill");
          $("detail-title").textContent = "本期账单 " + ref + "（" + data.card.number + "）";
          clear(box);
          const b = data.bill;
          if (b) {
            box.append(el("div", { class: "bp-item" }, [kv([["账单日", b.statement_date], ["账单周期", b.period_start + " 至 " + b.period_end],
              ["账单金额", b.amount], ["最低还款", b.minimum], ["已还", b.paid], ["到期还款日", b.due_date], ["状态", b.status]])]));
          } else { box.append(el("p", { class: "muted", text: "暂无账单。" })); }
          box.append(el("h4", { text: "分期" }));
          if (data.instalments.length) {
            box.append(el("div", { class: "bp-items" }, data.instalments.map((i) => el("div", { class: "bp-item" }, [
              el("div", { class: "bp-item-head" }, [el("strong", { text: i.kind }), el("span", { class: "muted small", text: "第 " + i.current_period + " / " + i.periods + " 期" })]),
              kv([["总额", i.total], ["已还期数", i.paid_periods], ["每期本金", i.per_period], ["每期手续费", i.fee_per_period],
                ["剩余本金", i.remaining_principal]])]))));
          } else { box.append(el("p", { class: "muted", text: "无分期。" })); }
        } else {
          const data = await BD.api("GET", base + "/cards/" + encodeURIComponent(ref));
          $("detail-title").textContent = "卡片状态 " + ref + "（" + data.number + "）";
          clear(box);
          box.append(el("div", { class: "bp-item" }, [kv([["状态", statusBadge(data.status)], ["说明", data.status_memo], ["开卡日期", data.opened],
            ["年费", data.annual_fee.amount], ["免年费条件", data.annual_fee.waiver_rule], ["逾期天数", data.overdue_days]])]));
          box.append(el("h4", { text: "近期交易" }));
          if (data.recent_transactions.length) box.append(txnList(data.recent_transactions, false));
          else box.append(el("p", { class: "muted", text: "近期没有交易。" }));
        }
        section.scrollIntoView({ block: "start", inline: "nearest", behavior: "smooth" });
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
        say("identity-message", "验证短信已发送至客户手机 " + res.phone + "，5 分钟内有效。请客户在手机上点击确认（不要让客户报出验证码）。");
        // The customer confirms on their own phone: watch for the verification to arrive.
        let waited = 0;
        const timer = window.setInterval(async () => {
          waited += 3;
          const state = await loadState();
          if ((state && state.identity && state.identity.verified) || waited >= 300) window.clearInterval(timer);
        }, 3000);
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
    if (readOnly) {
      // Watching: follow the candidate's identity check (cheap, not a lookup); the data itself is
      // read once when it becomes visible and again on 刷新.
      let first = true;
      BD.every(async () => {
        if (first || root.offsetParent !== null) { first = false; await loadState(); }
      }, 5000);
    } else {
      loadState();
    }
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
          el("div", { class: "sms-at muted small", text: BD.fmtTime(m.at, true) })])));
      } catch (err) { /* keep the last inbox on a network blip */ }
    }
    phone.querySelector('[data-action="phone-refresh"]').addEventListener("click", refresh);
    const confirm = phone.querySelector('[data-action="phone-confirm"]');
    if (confirm) confirm.addEventListener("click", async () => {
      const note = phone.querySelector('[data-role="confirm-message"]');
      try {
        const res = await BD.api("POST", "/api/v1/conversations/" + encodeURIComponent(phone.dataset.conversationId) + "/identity/confirm", {});
        note.textContent = res.verified ? "已确认，是本人操作。" : res.message;
      } catch (err) { note.textContent = err.message; }
    });
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
