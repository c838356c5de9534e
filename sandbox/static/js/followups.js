// 追问 on the report page: time each answer from the first keystroke, and for the examiner keep
// the candidate's answers current while they type them (the marking forms stay as they are).
(function () {
  "use strict";
  const BD = window.BankDrill;
  const root = document.getElementById("followups");
  if (!root) return;

  root.querySelectorAll(".followup-form").forEach((form) => {
    const box = form.querySelector("textarea");
    const elapsed = form.querySelector(".followup-elapsed");
    let started = null;
    box.addEventListener("input", () => { if (started === null) started = Date.now(); });
    form.addEventListener("submit", () => {
      if (started !== null) elapsed.value = ((Date.now() - started) / 1000).toFixed(1);
    });
  });

  // Spoken answers: the recorder widget on each answer form (sandbox/static/js/recorder.js).
  if (window.Recorder) {
    root.querySelectorAll(".recorder-slot").forEach((slot) => {
      const saved = slot.dataset.recording ? JSON.parse(slot.dataset.recording) : null;
      if (saved) slot.appendChild(window.Recorder.playback(saved));
      window.Recorder.mount(slot, { drillId: Number(slot.dataset.drill), item: slot.dataset.item, limitSeconds: 180 });
    });
  }

  if (root.dataset.live !== "true") return;
  async function refresh() {
    let data;
    try { data = await BD.api("GET", root.dataset.url); } catch (e) { return; }
    (data.items || []).forEach((item) => {
      const card = root.querySelector('[data-item="' + item.id + '"]');
      if (!card) return;
      const text = card.querySelector(".answer-text");
      if (!text) return;
      const shown = text.textContent;
      const now = item.answer || (item.recording ? "口头作答，请听录音" : "尚未作答");
      if (shown !== now) {
        text.textContent = now;
        card.classList.toggle("answered", Boolean(item.answer));
        if (!card.querySelector(".fresh-note")) {
          card.querySelector("h3").appendChild(BD.el("span", { class: "badge warn fresh-note", text: "有新回答，刷新页面可看要点对照" }));
        }
      }
    });
  }
  BD.every(refresh, 5000);
})();
