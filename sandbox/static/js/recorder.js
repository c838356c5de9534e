// The recorder widget: record a spoken answer in the browser, measure its length and pauses,
// upload it and play it back. Vanilla JS, offline, no library.
//
//   const rec = Recorder.mount(container, {
//     drillId: 12,            // or practiceId: 34, or neither (a practice recording of `item`,
//                             //   linked to the attempt when the answer is submitted)
//     item: "followup:3",     // what is answered: "followup:<id>" or a practice question id
//     limitSeconds: 180,      // recording stops by itself at the limit (or a function giving the
//                             //   seconds left, read when recording starts)
//     countdown: true,        // show the time left instead of the time recorded
//     onStart: () => {},      // optional: called when recording starts
//     onSaved: (recording) => {},   // called with the API's recording after the upload
//   });
//   rec.stop(); rec.recording  // the saved recording (or null); rec.supported
//
// Pauses: the microphone's level (RMS of an AnalyserNode) is sampled every 100 ms; a stretch of
// at least 1 s below the threshold between speech counts as one pause (silence before the first
// word and after the last one does not).
(function () {
  "use strict";

  const SAMPLE_MS = 100;
  const PAUSE_MS = 1000;
  const SILENCE_RMS = 0.015;
  const TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/ogg", "audio/mp4"];
  const EXTENSIONS = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/wav": "wav", "audio/mpeg": "mp3" };

  function csrfToken() {
    if (window.BankDrill && window.BankDrill.csrfToken) return window.BankDrill.csrfToken;
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function supported() {
    return !!(window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  function pickType() {
    if (!window.MediaRecorder || !MediaRecorder.isTypeSupported) return "";
    for (const t of TYPES) { if (MediaRecorder.isTypeSupported(t)) return t; }
    return "";
  }

  function node(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function seconds(ms) { return Math.round(ms / 1000); }

  function micMessage(err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "浏览器没有得到麦克风权限，无法录音。请在地址栏允许使用麦克风后重试；您也可以直接在文本框中输入回答。";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "没有找到可用的麦克风，无法录音。您可以直接在文本框中输入回答。";
    }
    return "无法打开麦克风（" + (name || "未知原因") + "），您可以直接在文本框中输入回答。";
  }

  // WebM files written by MediaRecorder carry no duration: the player reports Infinity until it
  // has read to the end. Seeking far ahead once makes it find the real length.
  function settleDuration(audio) {
    audio.addEventListener("loadedmetadata", function () {
      if (audio.duration === Infinity || isNaN(audio.duration)) {
        const back = function () {
          audio.removeEventListener("durationchange", back);
          audio.currentTime = 0;
        };
        audio.addEventListener("durationchange", back);
        try { audio.currentTime = 1e101; } catch (e) { /* the player refuses: it plays as it is */ }
      }
    }, { once: true });
  }

  function playback(recording) {
    const box = node("div", "recording-playback");
    const audio = node("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.setAttribute("data-recording", String(recording.id));
    settleDuration(audio);
    audio.src = recording.url;
    box.append(audio, node("p", "small muted recording-stats",
      "时长 " + Math.round(recording.duration_s) + " 秒，停顿 " + recording.pause_count + " 次" +
      (recording.pause_count ? "（最长 " + recording.longest_pause_s + " 秒）" : "")));
    return box;
  }

  function mount(container, options) {
    const opts = Object.assign({ limitSeconds: 180, countdown: false }, options || {});
    function currentLimit() {
      const raw = typeof opts.limitSeconds === "function" ? opts.limitSeconds() : opts.limitSeconds;
      return Math.max(1, Number(raw) || 180) * 1000;
    }
    let limitMs = currentLimit();
    const root = node("div", "recorder");
    const controls = node("div", "recorder-controls");
    const button = node("button", "recorder-toggle", "录音");
    button.type = "button";
    const clock = node("span", "recorder-clock");
    clock.setAttribute("aria-live", "polite");
    const status = node("p", "recorder-status small");
    status.setAttribute("role", "status");
    const result = node("div", "recorder-result");
    controls.append(button, clock);
    root.append(controls, status, result);
    container.append(root);

    const state = { recorder: null, stream: null, audioCtx: null, timer: null, startedAt: 0, chunks: [],
      busy: false, stopping: false, pauses: 0, longest: 0, silentSince: null, heard: false };
    let settle = null;  // resolves when the recording being stopped has been saved (or failed)
    let saved = Promise.resolve(null);
    const api = { element: root, recording: null, supported: supported(), stop: stop, start: start,
      busy: function () { return state.busy || !!state.recorder; }, disable: disable,
      // Stop a running recording and wait for its upload; resolves to the saved recording (or null).
      finish: function () { stop(); return saved; } };

    function showClock(elapsed) {
      if (opts.countdown) {
        clock.textContent = "剩余 " + Math.max(0, Math.ceil((limitMs - elapsed) / 1000)) + " 秒";
      } else {
        clock.textContent = "已录 " + Math.floor(elapsed / 1000) + " 秒 / 上限 " + seconds(limitMs) + " 秒";
      }
    }
    showClock(0);

    if (!api.supported) {
      button.disabled = true;
      status.textContent = "当前浏览器不支持录音（没有 MediaRecorder 或麦克风接口），请直接在文本框中输入回答。";
      status.classList.add("recorder-error");
      return api;
    }

    function setStatus(text, bad) {
      status.textContent = text || "";
      status.classList.toggle("recorder-error", !!bad);
    }

    function disable(reason) {
      if (state.recorder) stop();
      button.disabled = true;
      if (reason) setStatus(reason);
    }

    function sample(analyser, buffer) {
      analyser.getFloatTimeDomainData(buffer);
      let sum = 0;
      for (let i = 0; i < buffer.length; i++) sum += buffer[i] * buffer[i];
      const rms = Math.sqrt(sum / buffer.length);
      const now = performance.now();
      if (rms < (opts.silenceThreshold || SILENCE_RMS)) {
        if (state.silentSince === null) state.silentSince = now;
      } else {
        if (state.silentSince !== null && state.heard) {
          const gap = now - state.silentSince;
          if (gap >= PAUSE_MS) {
            state.pauses += 1;
            state.longest = Math.max(state.longest, gap);
          }
        }
        state.silentSince = null;
        state.heard = true;
      }
    }

    async function start() {
      if (state.busy || state.recorder) return;
      setStatus("");
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        setStatus(micMessage(err), true);
        return;
      }
      const type = pickType();
      let recorder;
      try {
        recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
      } catch (err) {
        stream.getTracks().forEach((t) => t.stop());
        setStatus("浏览器无法开始录音（" + (err.name || "未知原因") + "），请直接在文本框中输入回答。", true);
        return;
      }
      limitMs = currentLimit();
      Object.assign(state, { recorder: recorder, stream: stream, chunks: [], pauses: 0, longest: 0,
        silentSince: null, heard: false, stopping: false });
      try {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        state.audioCtx = new Ctx();
        const analyser = state.audioCtx.createAnalyser();
        analyser.fftSize = 2048;
        state.audioCtx.createMediaStreamSource(stream).connect(analyser);
        const buffer = new Float32Array(analyser.fftSize);
        state.analyse = function () { sample(analyser, buffer); };
      } catch (err) {
        state.audioCtx = null;
        state.analyse = null;  // no Web Audio: length is still measured, pauses are not
      }
      recorder.addEventListener("dataavailable", function (e) { if (e.data && e.data.size) state.chunks.push(e.data); });
      recorder.addEventListener("stop", finish);
      recorder.start(1000);
      state.startedAt = performance.now();
      button.textContent = "停止";
      button.classList.add("recording");
      root.classList.add("is-recording");
      setStatus("正在录音……");
      showClock(0);
      state.timer = window.setInterval(function () {
        const elapsed = performance.now() - state.startedAt;
        if (state.analyse) state.analyse();
        showClock(elapsed);
        if (elapsed >= limitMs) {
          setStatus("已到时间上限，录音自动停止。");
          stop();
        }
      }, SAMPLE_MS);
      if (typeof opts.onStart === "function") opts.onStart(api);
    }

    function stop() {
      if (!state.recorder || state.stopping) return;
      state.stopping = true;
      saved = new Promise(function (resolve) { settle = resolve; });
      state.durationMs = Math.min(limitMs, Math.round(performance.now() - state.startedAt));
      window.clearInterval(state.timer);
      state.timer = null;
      if (state.recorder.state !== "inactive") state.recorder.stop();
      state.stream.getTracks().forEach((t) => t.stop());
      if (state.audioCtx) { state.audioCtx.close().catch(function () {}); state.audioCtx = null; }
      button.textContent = "录音";
      button.classList.remove("recording");
      root.classList.remove("is-recording");
    }

    async function finish() {
      const recorder = state.recorder;
      state.recorder = null;
      const type = (recorder.mimeType || state.chunks[0] && state.chunks[0].type || "audio/webm");
      const blob = new Blob(state.chunks, { type: type });
      state.chunks = [];
      const duration = Math.max(1, state.durationMs || 0);
      const longest = Math.min(Math.round(state.longest), duration);
      showClock(duration);
      const form = new FormData();
      const base = type.split(";")[0];
      form.append("file", blob, "answer." + (EXTENSIONS[base] || "webm"));
      form.append("duration_ms", String(duration));
      form.append("pause_count", String(state.pauses));
      form.append("longest_pause_ms", String(state.pauses ? longest : 0));
      form.append("item", opts.item || "");
      if (opts.drillId) form.append("drill_id", String(opts.drillId));
      if (opts.practiceId) form.append("practice_id", String(opts.practiceId));
      state.busy = true;
      button.disabled = true;
      setStatus("正在保存录音……");
      try {
        const resp = await fetch(opts.url || "/api/v1/recordings", {
          method: "POST", body: form, credentials: "same-origin",
          headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
        });
        let data = null;
        try { data = await resp.json(); } catch (e) { data = null; }
        if (!resp.ok) {
          throw new Error((data && data.error && data.error.message) || ("保存失败（" + resp.status + "）"));
        }
        api.recording = data.recording;
        result.replaceChildren(playback(data.recording));
        setStatus("录音已保存，可以回放；如不满意可以重新录音。");
        if (typeof opts.onSaved === "function") opts.onSaved(data.recording);
      } catch (err) {
        setStatus("录音没有保存：" + err.message, true);
      } finally {
        state.busy = false;
        if (settle) { settle(api.recording); settle = null; }
        if (!root.classList.contains("recorder-locked")) button.disabled = false;
      }
    }

    button.addEventListener("click", function () {
      if (state.recorder) stop(); else start();
    });

    const lock = api.disable;
    api.disable = function (reason) { root.classList.add("recorder-locked"); lock(reason); };
    return api;
  }

  window.Recorder = { mount: mount, supported: supported, playback: playback };
})();
