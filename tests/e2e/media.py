"""Shared browser-side snippets for the tests that record and play audio."""

# ``locator.evaluate(AUDIO_DURATION)`` on an <audio>: its duration in seconds once the browser
# knows it (MediaRecorder's WebM clips report it late), or what it has after 8 s.
AUDIO_DURATION = """(audio) => new Promise((resolve) => {
  const ok = () => isFinite(audio.duration) && audio.duration > 0;
  if (ok()) return resolve(audio.duration);
  const check = () => { if (ok()) resolve(audio.duration); };
  audio.addEventListener("durationchange", check);
  audio.addEventListener("loadedmetadata", check);
  setTimeout(() => resolve(audio.duration), 8000);
})"""
