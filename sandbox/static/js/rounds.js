// Examiner pages: the live board (polled), the replay stepper and the print button.
(function () {
  "use strict";
  const BD = window.BankDrill;
  const el = BD.el;

  function fmt(s) {
    s = Math.max(0, Math.round(s || 0));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  const board = document.getElementById("live-board");
  if (board) {
    const LABELS = { lookup_before_verification: "核验前查询", pii: "泄露完整信息", asks_secret: "索要密码/验证码" };
    async function refresh() {
      try {
        const data = await BD.api("GET", board.dataset.url);
        const status = document.getElementById("round-status");
        if (status) status.textContent = data.round.status_label;
        const rows = data.candidates.map((c) => el("tr", { "data-user": c.username }, [
          el("td", { text: c.display_name + "（" + c.username + "）" + (c.joined ? "" : " 未加入") }),
          el("td", { text: c.finished + " / " + c.total }),
          el("td", { text: c.current ? (c.current.scenario_title || c.current.scenario) : "—" }),
          el("td", { text: c.current ? fmt(c.current.elapsed_seconds) + " / 剩余 " + fmt(c.current.remaining_seconds) : "—" }),
          el("td", { text: c.current ? String(c.current.operations) : "—" }),
          el("td", {}, c.hard_fails.length ? c.hard_fails.map((f) => el("span", { class: "badge bad", text: (LABELS[f.kind] || f.kind) + " " + fmt(f.t) })) : ["—"]),
          el("td", {}, c.current ? [el("a", { href: "/drills/" + c.current.drill, text: "旁观" })] : []),
        ]));
        board.replaceChildren(el("table", { class: "table" }, [
          el("thead", {}, [el("tr", {}, ["考生", "已完成", "当前场景", "用时", "操作数", "硬性违规", ""].map((h) => el("th", { text: h })))]),
          el("tbody", {}, rows.length ? rows : [el("tr", {}, [el("td", { colspan: "7", class: "muted", text: "名单为空。" })])]),
        ]));
      } catch (err) {
        board.replaceChildren(el("p", { class: "bad", text: err.message }));
      }
    }
    BD.every(refresh, 3000);
  }

  const replay = document.getElementById("replay");
  if (replay) {
    const LABELS = JSON.parse(replay.dataset.labels || "{}");  // from sandbox/web/charts.py EVENT_LABELS
    let events = [];
    let pos = 0;
    const list = document.getElementById("replay-events");
    function detail(e) {
      const d = e.data || {};
      if (d.allowed === false) return "（被拒绝：" + (d.reason || "") + "）";
      return d.text || d.query || d.article || d.phrase || d.message || d.number || d.transcript || "";
    }
    function render() {
      list.replaceChildren(...events.slice(0, pos).map((e, i) => el("li", { class: i === pos - 1 ? "current" : "" }, [
        el("span", { class: "muted small", text: fmt(e.t) + " " }),
        el("strong", { text: (LABELS[e.type] || e.type) + (e.contact ? "·" + e.contact : "") }), " ", detail(e)])));
      document.getElementById("replay-pos").textContent = pos + " / " + events.length;
      const cur = list.lastElementChild;
      if (cur) cur.scrollIntoView({ block: "nearest" });
    }
    replay.querySelectorAll("[data-step]").forEach((b) => b.addEventListener("click", () => {
      const step = b.dataset.step;
      pos = step === "all" ? events.length : Math.min(events.length, Math.max(0, pos + Number(step)));
      render();
    }));
    BD.api("GET", replay.dataset.url).then((data) => { events = data.events; pos = Math.min(1, events.length); render(); })
      .catch((err) => list.replaceChildren(el("li", { class: "bad", text: err.message })));
  }

  // A candidate's round (its page and the hand-in page): the round's time left counts down while
  // a question runs, and the page reloads when the examiner starts, pauses or ends the round.
  const examState = document.getElementById("exam-state");
  if (examState) {
    const left = examState.querySelector(".round-left");
    let endsAt = left ? Date.now() + Number(left.dataset.seconds) * 1000 : 0;
    let ticking = left ? left.dataset.ticking === "true" : false;
    const two = (n) => String(n).padStart(2, "0");
    function show(seconds) {
      if (!left) return;
      seconds = Math.max(0, Math.round(seconds));
      left.textContent = two(Math.floor(seconds / 60)) + ":" + two(seconds % 60);
    }
    if (left) setInterval(() => { if (ticking) show((endsAt - Date.now()) / 1000); }, 1000);
    BD.every(async () => {
      try {
        const me = await BD.api("GET", examState.dataset.url);
        if (me.step !== examState.dataset.step) { window.location.reload(); return; }
        endsAt = Date.now() + me.progress.remaining_seconds * 1000;
        ticking = me.progress.ticking;
        if (!ticking) show(me.progress.remaining_seconds);
      } catch (err) { /* the next poll tries again */ }
    }, 5000);
  }

  // New round: the order the examiner ticks the scenarios in is the order they are set in;
  // each row's number can be edited, and the preview shows the order that will be stored.
  const pick = document.getElementById("scenario-pick");
  if (pick) {
    const rows = Array.from(pick.querySelectorAll("li"));
    const box = (li) => li.querySelector("input[type=checkbox]");
    const num = (li) => li.querySelector("input.order-input");
    const ticked = () => rows.filter((li) => box(li).checked && num(li).value)
      .sort((a, b) => Number(num(a).value) - Number(num(b).value));
    function preview() {
      const names = ticked().map((li, i) => (i + 1) + ". " + li.querySelector("label").textContent.trim());
      document.getElementById("order-preview").textContent = names.length ? "出题顺序：" + names.join("　") : "";
    }
    rows.forEach((li) => {
      box(li).addEventListener("change", () => {
        if (box(li).checked) {
          const max = rows.reduce((m, r) => Math.max(m, box(r).checked ? Number(num(r).value) || 0 : 0), 0);
          if (!num(li).value) num(li).value = String(max + 1);
        } else {
          num(li).value = "";
          ticked().forEach((r, i) => { num(r).value = String(i + 1); });
        }
        preview();
      });
      num(li).addEventListener("input", () => {
        if (num(li).value && !box(li).checked) box(li).checked = true;
        preview();
      });
    });
    preview();
  }

  const printBtn = document.getElementById("print-btn");
  if (printBtn) printBtn.addEventListener("click", () => window.print());
})();
