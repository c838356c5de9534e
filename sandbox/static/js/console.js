// 坐席工作台: queue, conversation, countdown, system status and the tool tabs.
// The server keeps the clock and the log; this page polls and never trusts its own timer.
(function () {
  "use strict";
  const BD = window.BankDrill;
  const el = BD.el;
  const root = document.getElementById("console");
  if (!root) return;
  const drillId = root.dataset.drillId;
  const practice = root.dataset.mode === "practice";
  const watching = root.dataset.watching === "true";
  const serverSpeech = root.dataset.serverSpeech === "true";  // espeak-ng on the server
  const COMPONENT_LABELS = { bot: "智能识别", kb: "知识库检索", lookup: "客户信息查询" };

  const state = {
    drill: null,
    selected: null,        // conversation id
    lastSeq: {},           // conversation id -> last message seq rendered/seen
    messages: {},          // conversation id -> [message]
    assistTurn: {},        // conversation id -> customer seq the suggestions are for
    deadlineAt: 0,         // local ms timestamp of the deadline (from remaining_seconds)
    roundEndsAt: 0,        // exam: local ms timestamp when the round's time for this candidate runs out
    finished: false,
    handoff: {},           // conversation id -> handoff id
    intent: {},            // conversation id -> intent recognised by 智能识别
    identity: {},          // conversation id -> {verified, customerId} from the 客户信息 panel
    botDown: false,        // 智能识别 is in an injected outage
  };

  const $ = (id) => document.getElementById(id);

  function fmtSeconds(s) {
    s = Math.max(0, Math.round(s));
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function toast(text, bad) {
    const hints = $("hints");
    hints.replaceChildren(el("p", { class: bad ? "hint bad" : "hint", text: text }));
  }

  // ---------------------------------------------------------------- drill state

  async function loadDrill() {
    const drill = await BD.api("GET", "/api/v1/drills/" + drillId);
    state.drill = drill;
    state.deadlineAt = Date.now() + drill.remaining_seconds * 1000;
    if (drill.progress) state.roundEndsAt = Date.now() + drill.progress.remaining_seconds * 1000;
    renderStatus(drill);
    renderQueue(drill);
    if (!state.selected && drill.conversations.length) select(drill.conversations[0].id);
    if (drill.status === "finished" && !state.finished) {
      state.finished = true;
      onFinished(drill);
    }
    return drill;
  }

  function renderStatus(drill) {
    const box = $("system-status");
    const botDown = drill.status !== "paused" && drill.faults.some((f) => f.component === "bot");
    if (botDown !== state.botDown) {
      state.botDown = botDown;
      if (botDown) {
        $("assist").replaceChildren(el("p", { class: "bad", text: "智能识别服务异常，暂不提供意图识别和知识推荐；请直接到“知识库”检索。" }));
      } else {
        state.assistTurn = {};  // back up: recompute suggestions for the latest customer turn
        if (state.selected) loadMessages(state.selected, false).catch(() => {});
      }
    }
    if (drill.status === "paused") {
      box.replaceChildren(el("span", { class: "badge warn", text: "考试已暂停" }));
    } else if (drill.faults.length) {
      box.replaceChildren(...drill.faults.map((f) => el("span", { class: "badge bad", text: (COMPONENT_LABELS[f.component] || f.component) + "异常：" + f.message })));
    } else {
      box.replaceChildren(el("span", { class: "badge ok", text: "系统正常" }));
    }
  }

  function renderQueue(drill) {
    const list = $("queue-list");
    const items = drill.conversations.map((c) => {
      const unread = (c.last_seq || 0) > (state.lastSeq[c.id] || 0) && c.id !== state.selected;
      const waiting = c.waiting_seconds != null ? "已等待 " + fmtSeconds(c.waiting_seconds) : (c.closed ? "已结束" : "");
      const li = el("li", { class: "queue-item" + (c.id === state.selected ? " active" : "") + (c.closed ? " closed" : ""),
        tabindex: "0", "data-conversation": String(c.id) }, [
        el("div", { class: "q-name" }, [el("strong", { text: c.customer.label }), " ",
          el("span", { class: "badge" + (c.channel === "语音" ? " warn" : ""), text: c.channel }),
          unread ? el("span", { class: "badge bad", text: "新消息" }) : ""]),
        el("div", { class: "q-meta muted small", text: [c.customer.segment, "情绪：" + c.mood, waiting].filter(Boolean).join(" · ") }),
      ]);
      li.addEventListener("click", () => select(c.id));
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") select(c.id); });
      return li;
    });
    list.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "暂无客户接入" })]));
  }

  function currentContact() {
    return state.drill ? state.drill.conversations.find((c) => c.id === state.selected) : null;
  }

  // ---------------------------------------------------------------- conversation

  function messageNode(m) {
    const who = { customer: "客户", agent: "我", human: "人工坐席", system: "系统" }[m.speaker] || m.speaker;
    const children = [el("div", { class: "m-who small muted", text: who })];
    const voiceTurn = m.kind === "audio" && m.speaker === "customer";
    if (m.kind === "audio" && m.recognized === false) {
      const btn = el("button", { type: "button", class: "recognize", text: "识别语音" });
      btn.addEventListener("click", () => { playTurn(m.seq); recognize(); });
      children.push(el("div", { class: "m-audio" }, ["［语音 " + (m.audio_seconds || 3) + " 秒］ ",
        voiceTurn ? playButton(m.seq) : "", " ", watching ? "" : btn]));
    } else {
      children.push(el("div", { class: "m-text", text: m.text || "" }));
      if (m.kind === "audio") {
        const low = (m.confidence || 0) < 0.8;
        children.push(el("div", { class: "m-asr small " + (low ? "bad" : "muted") }, [
          "语音识别置信度 " + Number(m.confidence || 0).toFixed(2) + (low ? "，识别可能有误，请向客户复述确认" : "") + " ",
          voiceTurn ? playButton(m.seq) : ""]));
      }
    }
    return el("li", { class: "msg msg-" + m.speaker, "data-seq": String(m.seq) }, children);
  }

  // ---------------------------------------------------------------- voice turns heard
  // A voice customer turn plays through the browser's own Chinese voice when one is installed,
  // else as the server's espeak-ng clip in an <audio> element, else not at all (the transcript
  // still comes only from 识别语音, as before).

  let voicePromise = null;
  if ("speechSynthesis" in window) {
    window.speechSynthesis.addEventListener("voiceschanged", () => { voicePromise = null; });
  }

  function chineseVoice() {
    if (!("speechSynthesis" in window)) return Promise.resolve(null);
    const synth = window.speechSynthesis;
    const pick = () => {
      const zh = synth.getVoices().filter((v) => /^zh/i.test(v.lang || ""));
      return zh.find((v) => /^zh[-_]CN/i.test(v.lang)) || zh[0] || null;
    };
    if (synth.getVoices().length) return Promise.resolve(pick());
    return new Promise((resolve) => {  // the voice list loads after the page: wait for voiceschanged
      let timer = null;
      const done = () => { synth.removeEventListener("voiceschanged", done); clearTimeout(timer); resolve(pick()); };
      timer = setTimeout(done, 1500);
      synth.addEventListener("voiceschanged", done);
    });
  }

  function browserVoice() {
    if (!voicePromise) voicePromise = chineseVoice();
    return voicePromise;
  }

  function voiceLabel(v, server, engine) {
    if (v) return "语音播放：浏览器中文语音 " + v.name;
    if (server) return "语音播放：服务器合成（" + (engine || "espeak-ng") + "）";
    return "本机没有可用的中文语音，客户语音以文字显示";
  }

  function showVoice(text, bad) {
    $("voice-bar").hidden = false;
    const label = $("voice-status");
    label.textContent = text;
    label.className = "small " + (bad ? "bad" : "muted");
  }

  async function showVoiceMode(cid) {
    const c = state.drill && state.drill.conversations.find((x) => x.id === cid);
    if (!c || c.channel !== "语音") { $("voice-bar").hidden = true; return; }
    const v = await browserVoice();
    if (cid === state.selected) showVoice(voiceLabel(v, serverSpeech));
  }

  function playButton(seq) {
    const btn = el("button", { type: "button", class: "small-btn play-voice", text: "播放", "aria-label": "播放客户语音" });
    btn.addEventListener("click", () => playTurn(seq));
    return btn;
  }

  function stopVoice() {
    if ("speechSynthesis" in window) window.speechSynthesis.cancel();
    $("voice-player").pause();
  }

  async function playTurn(seq) {
    const cid = state.selected;
    let info;
    try {
      info = await BD.api("GET", "/api/v1/conversations/" + cid + "/messages/" + seq + "/speech");
    } catch (err) { showVoice("无法播放客户语音：" + err.message, true); return; }
    const v = await browserVoice();
    stopVoice();
    if (v) {
      const u = new SpeechSynthesisUtterance(info.text);
      u.voice = v;
      u.lang = v.lang || info.lang;
      u.rate = 0.9;
      window.speechSynthesis.speak(u);
    } else if (info.server_audio && info.audio_url) {
      const player = $("voice-player");
      player.hidden = false;
      player.dataset.seq = String(seq);
      player.src = info.audio_url;
      player.play().catch(() => { /* no audio device or autoplay refused: the controls still play it */ });
    }
    showVoice(voiceLabel(v, info.server_audio, info.engine));
  }

  function renderMessages() {
    const list = $("messages");
    const msgs = state.messages[state.selected] || [];
    list.replaceChildren(...msgs.map(messageNode));
    list.scrollTop = list.scrollHeight;
  }

  function mergeMessages(cid, incoming) {
    const known = state.messages[cid] || [];
    const bySeq = new Map(known.map((m) => [m.seq, m]));
    incoming.forEach((m) => bySeq.set(m.seq, m));
    const merged = Array.from(bySeq.values()).sort((a, b) => a.seq - b.seq);
    state.messages[cid] = merged;
    state.lastSeq[cid] = merged.length ? merged[merged.length - 1].seq : 0;
  }

  async function loadMessages(cid, full) {
    const after = full ? 0 : (state.lastSeq[cid] || 0);
    const data = await BD.api("GET", "/api/v1/conversations/" + cid + "/messages?after=" + after);
    const before = state.lastSeq[cid] || 0;
    if (full) state.messages[cid] = [];
    mergeMessages(cid, data.messages);
    if (cid === state.selected) {
      if (full || state.lastSeq[cid] !== before) renderMessages();
      if (data.mood) $("chat-mood").textContent = "情绪：" + data.mood;
      const last = (state.messages[cid] || []).filter((m) => m.speaker === "customer").pop();
      if (last && state.assistTurn[cid] !== last.seq + ":" + (last.recognized !== false)) loadAssist(cid, last);
    }
  }

  async function select(cid) {
    state.selected = cid;
    const c = currentContact();
    $("chat-title").textContent = c ? c.customer.label + "（" + c.channel + "）" : "";
    showCustomerPanel(cid);
    stopVoice();
    showVoiceMode(cid);
    const woPanel = document.querySelector(".wo-panel");
    if (woPanel && BD.workorders) BD.workorders.setConversation(woPanel, cid);
    renderQueue(state.drill);
    await loadMessages(cid, true);
    renderHandoff(cid);
  }

  async function send(text) {
    const cid = state.selected;
    if (!cid || !text.trim()) return;
    try {
      const res = await BD.api("POST", "/api/v1/conversations/" + cid + "/messages", { text: text });
      mergeMessages(cid, [res.message].concat(res.replies));
      renderMessages();
      showHints(res.hints);
      $("reply").value = "";
    } catch (err) {
      toast(err.message, true);
      if (err.code === "drill_expired") loadDrill();
    }
  }

  async function recognize() {
    try {
      await BD.api("POST", "/api/v1/conversations/" + state.selected + "/recognize");
      await loadMessages(state.selected, true);
    } catch (err) { toast(err.message, true); }
  }

  function showHints(hints) {
    const box = $("hints");
    if (!hints || !hints.length) { box.replaceChildren(); return; }
    // Each hint names the clause it rests on and what that clause was read as (the rubric's reading).
    box.replaceChildren(...hints.map((h) => el("p", { class: "hint", text: "提示：" + h.message
      + (h.suggestion ? "（" + h.suggestion + "）" : "")
      + (h.clause ? " —— “" + h.clause + "”" + (h.read_as ? " 被识别为：" + h.read_as : "") : "") })));
  }

  let hintTimer = null;
  function hintWhileTyping() {
    if (!practice) return;
    clearTimeout(hintTimer);
    hintTimer = setTimeout(async () => {
      const text = $("reply").value;
      if (!text.trim()) { showHints([]); return; }
      try {
        const res = await BD.api("POST", "/api/v1/drills/" + drillId + "/compliance", { text: text });
        showHints(res.findings);
      } catch (err) { /* hints are a convenience */ }
    }, 500);
  }

  // ---------------------------------------------------------------- 智能识别

  async function loadAssist(cid, last) {
    if (state.botDown) return;
    state.assistTurn[cid] = last.seq + ":" + (last.recognized !== false);
    const box = $("assist");
    try {
      const data = await BD.api("GET", "/api/v1/conversations/" + cid + "/assist");
      if (data.pending_audio) {
        box.replaceChildren(el("p", { class: "muted", text: "客户发来语音，请先点击“识别语音”。" }));
        return;
      }
      if (cid !== state.selected) return;
      if (data.intent) { state.intent[cid] = data.intent; prefillForms(cid); }
      const items = (data.suggestions || []).map((s) => suggestionNode(s, true));
      box.replaceChildren(
        el("p", {}, ["识别意图：", el("strong", { text: data.intent || "未识别" })]),
        data.text ? el("p", { class: "muted small", text: "依据：" + data.text }) : "",
        el("ul", { class: "suggestions" }, items.length ? items : [el("li", { class: "muted", text: "没有推荐的知识" })]));
    } catch (err) {
      if (err.code === "service_unavailable") state.assistTurn[cid] = null;  // retry once it is back
      box.replaceChildren(el("p", { class: "bad", text: err.message }));
    }
  }

  function snippetNode(html) {
    // Snippets are escaped text with <mark> only; rebuild them without innerHTML.
    const node = el("span", { class: "snippet" });
    const parts = String(html || "").split(/(<mark>|<\/mark>)/);
    let marked = false;
    const decode = (s) => { const t = document.createElement("textarea"); t.innerHTML = s; return t.value; };
    parts.forEach((p) => {
      if (p === "<mark>") { marked = true; return; }
      if (p === "</mark>") { marked = false; return; }
      if (!p) return;
      node.append(marked ? el("mark", { text: decode(p) }) : document.createTextNode(decode(p)));
    });
    return node;
  }

  function suggestionNode(s, fromAssist) {
    const insert = el("button", { type: "button", class: "small-btn", text: "插入话术" });
    insert.addEventListener("click", () => useArticle(s.id, fromAssist));
    const open = el("button", { type: "button", class: "small-btn", text: "查看" });
    open.addEventListener("click", () => openArticle(s.id));
    return el("li", { class: "suggestion" }, [
      el("div", {}, [el("strong", { text: s.title }), " ", el("span", { class: "badge", text: s.category })]),
      el("div", { class: "small" }, [snippetNode(s.snippet)]),
      el("div", { class: "actions" }, watching ? [open] : [open, insert]),
    ]);
  }

  async function useArticle(articleId, fromAssist) {
    try {
      let draft;
      if (fromAssist) {
        const res = await BD.api("POST", "/api/v1/conversations/" + state.selected + "/suggestions/use", { article: articleId });
        draft = res.draft;
      } else {
        const res = await BD.api("GET", "/api/v1/kb/articles/" + encodeURIComponent(articleId) + "?conversation=" + state.selected);
        draft = res.plain_answer || res.answer;
      }
      const box = $("reply");
      box.value = (box.value ? box.value + "\n" : "") + draft;
      box.focus();
      hintWhileTyping();
    } catch (err) { toast(err.message, true); }
  }

  // ---------------------------------------------------------------- 知识库

  async function searchKb(ev) {
    if (ev) ev.preventDefault();
    const form = $("kb-form");
    const q = form.q.value.trim();
    const params = new URLSearchParams({ q: q, limit: "8" });
    if (form.category.value) params.set("category", form.category.value);
    if (state.selected) params.set("conversation", String(state.selected));
    const box = $("kb-results");
    closeArticle();
    try {
      const data = await BD.api("GET", "/api/v1/kb/search?" + params.toString());
      box.replaceChildren(
        el("p", { class: "muted small", text: "共 " + data.total + " 条，用时 " + data.took_ms + " 毫秒" }),
        el("ul", { class: "suggestions" }, data.results.length ? data.results.map((r) => suggestionNode(r, false))
          : [el("li", { class: "muted", text: "没有找到相关知识，换个说法试试。" })]));
    } catch (err) {
      box.replaceChildren(el("p", { class: "bad", text: err.message }));
    }
  }

  // Sanitised HTML from the server (python-markdown + nh3, as on the article page) as nodes.
  function htmlNodes(html) {
    const doc = new DOMParser().parseFromString("<div>" + (html || "") + "</div>", "text/html");
    return Array.from(doc.body.firstChild.childNodes).map((n) => document.importNode(n, true));
  }

  let drawerReturnFocus = null;

  async function openArticle(articleId) {
    const drawer = $("kb-article");
    const body = $("kb-article-body");
    try {
      const a = await BD.api("GET", "/api/v1/kb/articles/" + encodeURIComponent(articleId) + "?conversation=" + (state.selected || ""));
      const actions = el("div", { class: "kb-drawer-actions" });
      if (!watching) {
        const insert = el("button", { type: "button", class: "small-btn", text: "插入通俗版" });
        insert.addEventListener("click", () => { const r = $("reply"); if (r) { r.value = (r.value ? r.value + "\n" : "") + a.plain_answer; r.focus(); hintWhileTyping(); } });
        actions.append(insert);
      }
      $("kb-article-title").textContent = a.title;
      body.replaceChildren(
        el("p", { class: "muted small" }, [el("span", { class: "badge", text: a.category }), " 第 " + (a.version || 1) + " 版 ",
          el("code", { class: "id", text: a.id })]),
        el("h4", { text: "规范话术" }), el("div", { class: "kb-body", "data-part": "answer" }, htmlNodes(a.answer_html)),
        el("h4", { text: "通俗版" }), a.plain_answer ? el("div", { class: "kb-body", "data-part": "plain" }, htmlNodes(a.plain_answer_html))
          : el("p", { class: "muted", text: "暂无通俗版。" }),
        actions);
      body.scrollTop = 0;
      drawer.style.top = root.querySelector(".tools .tabs").offsetHeight + "px";  // the tabs stay usable
      if (drawer.hidden) drawerReturnFocus = document.activeElement;
      drawer.hidden = false;
      $("kb-article-close").focus();
    } catch (err) { toast(err.message, true); }
  }

  function closeArticle() {
    const drawer = $("kb-article");
    if (drawer.hidden) return;
    drawer.hidden = true;
    if (drawerReturnFocus && document.body.contains(drawerReturnFocus)) drawerReturnFocus.focus();
    drawerReturnFocus = null;
  }

  // ---------------------------------------------------------------- 客户信息

  function showCustomerPanel(cid) {
    const holder = $("customer-panels");
    let panel = holder.querySelector('[data-for="' + cid + '"]');
    if (!panel) {
      const tpl = $("bank-panel-template").content.firstElementChild.cloneNode(true);
      tpl.setAttribute("data-for", String(cid));
      tpl.dataset.conversationId = String(cid);
      holder.append(tpl);
      if (window.BankPanel) window.BankPanel.mount(tpl, cid, { readOnly: watching });
      panel = tpl;
    }
    holder.querySelectorAll("[data-for]").forEach((p) => { p.hidden = p !== panel; });
  }

  // ---------------------------------------------------------------- 转人工

  // Fill a field with a value the page worked out, unless the person typed something else there.
  function autoFill(field, value) {
    if (!field || !value) return;
    if (!field.value || field.value === field.dataset.auto) {
      field.value = value;
      field.dataset.auto = value;
    }
  }

  function clearAuto(field) {
    if (field && field.dataset.auto && field.value === field.dataset.auto) field.value = "";
    if (field) delete field.dataset.auto;
  }

  // 转人工: intent from 智能识别, verification status from the 客户信息 panel, mood from the queue;
  // 工单: the customer number once the customer is verified.
  function prefillForms(cid) {
    if (cid !== state.selected) return;
    const form = $("handoff-form");
    const ident = state.identity[cid] || {};
    if (form) {
      autoFill(form.intent, state.intent[cid]);
      if (ident.verified) form.verification_status.value = "已核验";
      const c = currentContact();
      if (c) form.mood.value = c.mood;
    }
    const wo = document.querySelector(".wo-panel .wo-create");
    if (wo && ident.verified) autoFill(wo.elements.customer_id, ident.customerId);
  }

  function renderHandoff(cid) {
    const form = $("handoff-form");
    const status = $("handoff-status");
    const wo = document.querySelector(".wo-panel .wo-create");
    if (form) clearAuto(form.intent);  // another customer: forget what was filled for the last one
    if (wo) clearAuto(wo.elements.customer_id);
    prefillForms(cid);
    status.replaceChildren();
    if (state.handoff[cid]) pollHandoff(cid);
  }

  async function submitHandoff(ev) {
    ev.preventDefault();
    const form = $("handoff-form");
    const summary = {};
    ["intent", "request", "actions_taken", "verification_status", "mood"].forEach((k) => { summary[k] = form[k].value.trim(); });
    try {
      const res = await BD.api("POST", "/api/v1/conversations/" + state.selected + "/handoff", { queue: form.queue.value, summary: summary });
      state.handoff[state.selected] = res.id;
      pollHandoff(state.selected);
    } catch (err) {
      $("handoff-status").replaceChildren(el("p", { class: "bad", text: err.message }));
    }
  }

  async function pollHandoff(cid) {
    const id = state.handoff[cid];
    if (!id || cid !== state.selected) return;
    const status = $("handoff-status");
    try {
      const h = await BD.api("GET", "/api/v1/handoffs/" + id);
      const lines = [el("p", {}, ["已转入", el("strong", { text: h.queue }), "，状态：", el("strong", { text: h.status_label || h.status })])];
      if (h.waiting_seconds != null && h.status === "waiting") lines.push(el("p", { class: "muted small", text: "已等待 " + fmtSeconds(h.waiting_seconds) }));
      if (h.callback_offer) {
        const btn = el("button", { type: "button", class: "primary", text: "无人接听，登记留言回电工单" });
        btn.addEventListener("click", async () => {
          try {
            const order = await BD.api("POST", "/api/v1/handoffs/" + id + "/callback", {});
            status.append(el("p", { text: "已创建回电工单 " + (order.number || "") }));
            btn.disabled = true;
          } catch (err) { status.append(el("p", { class: "bad", text: err.message })); }
        });
        lines.push(btn);
      }
      status.replaceChildren(...lines);
    } catch (err) { status.replaceChildren(el("p", { class: "bad", text: err.message })); }
  }

  // ---------------------------------------------------------------- tabs, timer, finish

  function switchTab(name) {
    closeArticle();
    document.querySelectorAll(".tools .tab").forEach((t) => {
      const on = t.dataset.tab === name;
      t.classList.toggle("active", on);
      t.setAttribute("aria-selected", on ? "true" : "false");
    });
    document.querySelectorAll(".tools .tab-panel").forEach((p) => { p.hidden = p.dataset.panel !== name; });
  }

  function onFinished(drill) {
    $("countdown").textContent = "00:00";
    const form = $("send-form");
    if (form) form.querySelectorAll("textarea,button").forEach((n) => { n.disabled = true; });
    const link = el("a", { href: root.dataset.reportUrl, class: "button primary", text: drill.round_id ? "交卷结果与下一题" : "查看评分报告" });
    $("hints").replaceChildren(el("p", { class: "hint" }, [drill.ended_by === "deadline" ? "时间到，演练已自动结束。" : "演练已结束。", " ", link]));
  }

  async function finish() {
    if (!window.confirm("确定交卷吗？交卷后不能再操作。")) return;
    try {
      await BD.api("POST", "/api/v1/drills/" + drillId + "/finish");
      window.location.assign(root.dataset.reportUrl);
    } catch (err) { toast(err.message, true); }
  }

  function tickClock() {
    if (!state.drill) return;
    if (state.drill.status === "paused") return;
    const left = state.finished ? 0 : (state.deadlineAt - Date.now()) / 1000;
    const node = $("countdown");
    node.textContent = fmtSeconds(left);
    node.classList.toggle("bad", left < 60);
    const roundLeft = $("round-left");
    const progress = state.drill.progress;
    if (roundLeft && progress) {
      roundLeft.textContent = fmtSeconds(progress.ticking && !state.finished ? (state.roundEndsAt - Date.now()) / 1000 : progress.remaining_seconds);
    }
  }

  async function poll() {
    try {
      await loadDrill();
      if (state.selected) await loadMessages(state.selected, false);
      if (state.selected && state.handoff[state.selected]) pollHandoff(state.selected);
    } catch (err) {
      $("system-status").replaceChildren(el("span", { class: "badge warn", text: "网络波动，正在重连…" }));
    }
  }

  // ---------------------------------------------------------------- wiring

  document.querySelectorAll(".tools .tab").forEach((t) => t.addEventListener("click", () => switchTab(t.dataset.tab)));
  $("kb-article-close").addEventListener("click", closeArticle);
  root.addEventListener("bankpanel:identity", (ev) => {
    const d = ev.detail || {};
    state.identity[Number(d.conversationId)] = { verified: d.verified, customerId: d.customerId };
    prefillForms(Number(d.conversationId));
  });

  // 任务说明: a panel under the header with a close button (Esc closes it too).
  const briefToggle = $("brief-toggle");
  const briefPanel = $("brief-panel");
  function showBrief(open) {
    briefPanel.hidden = !open;
    briefToggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) briefToggle.focus();
  }
  briefToggle.addEventListener("click", () => showBrief(briefPanel.hidden));
  $("brief-close").addEventListener("click", () => showBrief(false));

  // The splitter between the chat and the tools: drag (or arrow keys) to resize; kept per browser.
  const WIDTH_KEY = "bankdrill.console.toolsWidth";
  const splitter = $("tools-splitter");
  const MIN_TOOLS = 380, MIN_CHAT = 320;
  function maxTools() {
    const queue = root.querySelector(".queue");
    return Math.max(MIN_TOOLS, root.clientWidth - queue.offsetWidth - 8 - splitter.offsetWidth - MIN_CHAT);
  }
  function setToolsWidth(px, save) {
    if (px === null) { root.style.removeProperty("--tools-w"); if (save) localStorage.removeItem(WIDTH_KEY); return; }
    const w = Math.round(Math.min(Math.max(px, MIN_TOOLS), maxTools()));
    root.style.setProperty("--tools-w", w + "px");
    splitter.setAttribute("aria-valuenow", String(w));
    if (save) { try { localStorage.setItem(WIDTH_KEY, String(w)); } catch (e) { /* private mode */ } }
  }
  function storedWidth() {
    try { const v = Number(localStorage.getItem(WIDTH_KEY)); return v > 0 ? v : null; } catch (e) { return null; }
  }
  splitter.setAttribute("aria-valuemin", String(MIN_TOOLS));
  if (storedWidth()) setToolsWidth(storedWidth(), false);
  window.addEventListener("resize", () => { if (storedWidth()) setToolsWidth(storedWidth(), false); });
  splitter.addEventListener("pointerdown", (ev) => {
    ev.preventDefault();
    splitter.setPointerCapture(ev.pointerId);
    splitter.classList.add("dragging");
    document.body.classList.add("resizing");
    const right = root.querySelector(".tools").getBoundingClientRect().right;
    const move = (e) => setToolsWidth(right - e.clientX - splitter.offsetWidth / 2, false);
    const up = (e) => {
      splitter.releasePointerCapture(ev.pointerId);
      splitter.classList.remove("dragging");
      document.body.classList.remove("resizing");
      splitter.removeEventListener("pointermove", move);
      splitter.removeEventListener("pointerup", up);
      setToolsWidth(root.querySelector(".tools").offsetWidth, true);
    };
    splitter.addEventListener("pointermove", move);
    splitter.addEventListener("pointerup", up);
  });
  splitter.addEventListener("keydown", (ev) => {
    const now = root.querySelector(".tools").offsetWidth;
    if (ev.key === "ArrowLeft") { ev.preventDefault(); setToolsWidth(now + 20, true); }
    if (ev.key === "ArrowRight") { ev.preventDefault(); setToolsWidth(now - 20, true); }
  });
  splitter.addEventListener("dblclick", () => setToolsWidth(null, true));
  $("kb-form").addEventListener("submit", searchKb);
  $("voice-player").addEventListener("error", () => {
    if ($("voice-player").getAttribute("src")) showVoice("服务器语音合成失败，客户语音以文字显示", true);
  });
  const handoffForm = $("handoff-form");
  if (handoffForm) handoffForm.addEventListener("submit", submitHandoff);
  const sendForm = $("send-form");
  if (sendForm) {
    sendForm.addEventListener("submit", (ev) => { ev.preventDefault(); send($("reply").value); });
    $("reply").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send($("reply").value); }
    });
    $("reply").addEventListener("input", hintWhileTyping);
  }
  if (watching) document.querySelectorAll(".tools form button, .tools form input, .tools form select, .tools form textarea").forEach((n) => { n.disabled = true; });
  const finishBtn = $("finish-btn");
  if (finishBtn) finishBtn.addEventListener("click", finish);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      if (!$("kb-article").hidden) { closeArticle(); return; }
      if (!briefPanel.hidden) { showBrief(false); return; }
    }
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "k") { ev.preventDefault(); switchTab("kb"); $("kb-q").focus(); }
    if (ev.altKey && /^[1-5]$/.test(ev.key)) { ev.preventDefault(); switchTab(["assist", "kb", "customer", "orders", "handoff"][Number(ev.key) - 1]); }
  });

  loadDrill().then(() => { window.setTimeout(() => BD.every(poll, 2000), 2000); setInterval(tickClock, 250); }).catch((err) => toast(err.message, true));
})();
