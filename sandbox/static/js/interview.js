// An interview practice question: the typed box, the recorder, the self-introduction's countdown
// (starts with 开始作答, stops input at 0 s), then 提交 → key points ✔/✘ with evidence, the model
// answer and the recording's playback.
(function () {
  "use strict";
  const page = document.getElementById("interview-question");
  if (!page) return;
  const B = window.BankDrill;
  const questionId = page.dataset.question;
  const limit = Number(page.dataset.timeLimit) || 60;
  const withCountdown = page.dataset.countdown === "true";
  const text = document.getElementById("answer-text");
  const submit = document.getElementById("submit-answer");
  const error = document.getElementById("answer-error");
  const startButton = document.getElementById("start-answer");
  const countdown = document.getElementById("answer-countdown");
  const elapsedLabel = document.getElementById("answer-elapsed");
  let startedAt = null;
  let ticker = null;

  const recorder = window.Recorder.mount(document.getElementById("recorder"), {
    item: questionId,
    // The self-introduction's recording ends with its countdown: the time left when recording starts.
    limitSeconds: function () {
      const most = Number(page.dataset.maxSeconds) || limit;
      if (!withCountdown || startedAt === null) return most;
      return Math.max(1, Math.min(most, Math.ceil(limit - (Date.now() - startedAt) / 1000)));
    },
    countdown: withCountdown,
    onStart: function () { begin(); },
    onSaved: function () { showError(""); },
  });

  function elapsed() {
    return startedAt === null ? null : Math.min((Date.now() - startedAt) / 1000, withCountdown ? limit : 3600);
  }

  function showError(message) {
    error.textContent = message || "";
    error.hidden = !message;
  }

  function timeUp() {
    window.clearInterval(ticker);
    countdown.textContent = "0 秒";
    countdown.classList.add("time-up");
    text.disabled = true;
    recorder.stop();
    recorder.disable("时间到，录音已停止。");
    if (startButton) startButton.disabled = true;
  }

  function begin() {
    if (startedAt !== null) return;
    startedAt = Date.now();
    text.disabled = false;
    if (withCountdown) {
      startButton.disabled = true;
      startButton.textContent = "作答中";
      countdown.classList.add("running");
      text.focus();
      ticker = window.setInterval(function () {
        const left = Math.max(0, Math.ceil(limit - (Date.now() - startedAt) / 1000));
        countdown.textContent = left + " 秒";
        if (left <= 10) countdown.classList.add("warn");
        if (left <= 0) timeUp();
      }, 200);
    } else if (elapsedLabel) {
      ticker = window.setInterval(function () {
        elapsedLabel.textContent = "已用 " + Math.floor(elapsed()) + " 秒";
      }, 500);
    }
  }

  if (startButton) startButton.addEventListener("click", begin);
  if (!withCountdown) text.addEventListener("input", begin, { once: true });

  function renderResult(attempt) {
    const points = document.getElementById("result-points");
    const list = B.el("ul", { class: "keypoints" }, attempt.coverage.map(function (p) {
      const children = [B.el("span", { class: "mark", text: p.covered ? "✔" : "✘" }), " " + p.text];
      if (p.evidence) children.push(B.el("div", { class: "evidence", text: "“" + p.evidence + "”" }));
      return B.el("li", { class: p.covered ? "covered" : "missed", "data-point": p.id }, children);
    }));
    points.replaceChildren(
      B.el("h2", {}, ["要点核对 ", B.el("span", { class: "muted small", "data-role": "score",
        text: attempt.covered + " / " + attempt.total })]),
      attempt.answer ? list : B.el("p", { class: "muted", text: "没有输入文字，要点无法核对；请对照下面的要点和参考回答听一听自己的录音。" }),
      attempt.answer ? "" : list);
    const rec = document.getElementById("result-recording");
    rec.replaceChildren();
    if (attempt.recording) {
      rec.append(B.el("h2", { text: "我的录音" }), window.Recorder.playback(attempt.recording));
    }
    document.getElementById("result-model").textContent = attempt.model_answer;
    const section = document.getElementById("answer-result");
    section.hidden = false;
    section.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  submit.addEventListener("click", async function () {
    showError("");
    submit.disabled = true;
    const recording = await recorder.finish();  // a running recording is stopped and saved first
    submit.disabled = false;
    const answer = text.value.trim();
    if (!answer && !recording) { showError("请先输入回答或录一段语音。"); return; }
    const spent = elapsed();
    submit.disabled = true;
    try {
      const data = await B.api("POST", page.dataset.submitUrl, {
        answer: answer, recording_id: recording ? recording.id : null,
        elapsed_seconds: spent === null ? null : Math.round(spent),
      });
      window.clearInterval(ticker);
      text.disabled = true;
      recorder.disable("");
      if (startButton) startButton.disabled = true;
      renderResult(data.attempt);
    } catch (err) {
      showError(err.message);
      submit.disabled = false;
    }
  });
})();
