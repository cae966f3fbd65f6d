// The page: reads config.json (where the model comes from, where telemetry goes), hands the
// model to a worker, decodes dropped or picked files with the browser's decoder, wires the
// microphone through an AudioWorklet to the worker's streaming classifier, and draws the
// answer. The numbers all come from the npm package `ragasense` (see worker.js).
import { CARNATIC, HINDUSTANI, drawContour, drawSwaras } from "./draw.js";

const $ = (id) => document.getElementById(id);
const TELEMETRY_KEY = "ragasense.telemetry";
/** Longer files are cut to their start: enough to tell a raga, and a phone stays responsive. */
const MAX_SECONDS = 300;

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const state = {
  config: null,
  info: null,
  labels: new Map(), // raga -> tradition
  pending: new Map(), // classify id -> {resolve, reject}
  nextId: 1,
  live: null, // {context, media, node, seconds}
  last: null, // the last result shown, redrawn on resize
};

// ---- the worker ---------------------------------------------------------------------------

worker.onmessage = ({ data }) => {
  switch (data.type) {
    case "loaded":
      onLoaded(data.info);
      break;
    case "telemetry":
      state.info = data.info;
      showModel(data.info);
      break;
    case "result":
      state.pending.get(data.id)?.resolve(data);
      state.pending.delete(data.id);
      break;
    case "rolling":
      if (state.live) showLive(data.rolling, data.info);
      break;
    case "error":
      if (data.id !== undefined) {
        state.pending.get(data.id)?.reject(new Error(data.message));
        state.pending.delete(data.id);
      } else if (data.during === "load") {
        document.body.dataset.model = "error";
        setModelStatus(`The model could not be loaded: ${data.message}`, true);
      } else {
        setStatus(`Live classification failed: ${data.message}`, true);
      }
      break;
  }
};
worker.onerror = (e) => setModelStatus(`The model's worker failed: ${e.message}`, true);

/** Sends `message` (plus an id) to the worker; resolves with its {result, info}. */
function ask(message, transfer = []) {
  const id = state.nextId++;
  return new Promise((resolve, reject) => {
    state.pending.set(id, { resolve, reject });
    worker.postMessage({ ...message, id }, transfer);
  });
}

function classifyInWorker(samples, sampleRate, tradition) {
  return ask({ type: "classify", samples, sampleRate, tradition }, [samples.buffer]);
}

// ---- configuration and the model ----------------------------------------------------------

/** config.json next to the page: the options of RagaSense.load, URLs relative to the page. */
async function loadConfig() {
  const url = new URL("config.json", document.baseURI);
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json: ${response.status} ${response.statusText}`);
  const config = await response.json();
  const resolve = (u) => new URL(u, url).href;
  const options = { backend: config.backend ?? "auto" };
  if (config.manifestUrl) options.manifestUrl = resolve(config.manifestUrl);
  else {
    options.registry = resolve(config.registry ?? "/");
    if (config.model) options.model = config.model;
    if (config.ref) options.ref = config.ref;
  }
  const telemetry = config.telemetry ?? true;
  return {
    options,
    // false: this site sends none, whatever the visitor chooses.
    // `key`: a publishable telemetry key, for a registry that checks tokens.
    telemetry: telemetry === false ? false
      : telemetry?.url || telemetry?.key
        ? { ...(telemetry.url ? { url: resolve(telemetry.url) } : {}), ...(telemetry.key ? { key: telemetry.key } : {}) }
        : true,
  };
}

function telemetryWanted() {
  return localStorage.getItem(TELEMETRY_KEY) !== "off";
}

function loadModel() {
  const { options, telemetry } = state.config;
  document.body.dataset.model = "loading";
  setModelStatus("Loading the model…");
  $("mic").disabled = true;
  // Loaded with the site's telemetry; the visitor's choice is switched on it at run time.
  worker.postMessage({ type: "load", options: { ...options, telemetry }, telemetry: telemetryWanted() });
}

function onLoaded(info) {
  state.info = info;
  state.labels = new Map(info.labels.map((raga, i) => [raga, info.traditions[i]]));
  document.body.dataset.model = "ready";
  document.body.dataset.offlineModel = String(info.offline);
  $("mic").disabled = !navigator.mediaDevices?.getUserMedia;
  const choices = [...state.labels].sort(([a], [b]) => pretty(a).localeCompare(pretty(b)));
  $("true-raga").replaceChildren(
    ...choices.map(([raga, tradition]) => new Option(`${pretty(raga)} (${tradition})`, raga)),
  );
  showModel(info);
}

/** The model line under the title, and whether telemetry is on. */
function showModel(info) {
  const version = info.version ? ` version ${info.version}` : "";
  const where = info.offline ? " (offline: the copy saved on this device)" : "";
  const telemetry = info.telemetryEnabled
    ? `usage statistics to ${new URL(info.telemetryUrl).host}`
    : "no usage statistics";
  setModelStatus(`Model ${info.name}${version}, ${info.labels.length} ragas${where}; ${telemetry}.`);
  document.body.dataset.telemetry = info.telemetryEnabled ? "on" : "off";
}

// ---- files --------------------------------------------------------------------------------

async function classifyFile(file) {
  if (document.body.dataset.model !== "ready") {
    setStatus("The model is not loaded yet.", true);
    return;
  }
  stopLive();
  try {
    setStatus(`Decoding ${file.name}…`);
    const t0 = performance.now();
    // Decoded straight to the model's rate (22050 Hz): the browser resamples once.
    const audio = await new OfflineAudioContext(1, 1, 22050).decodeAudioData(await file.arrayBuffer());
    const samples = downmix(audio, MAX_SECONDS);
    const decodeMs = performance.now() - t0;
    const cut = audio.duration > MAX_SECONDS ? ` (the first ${MAX_SECONDS / 60} minutes of ${formatTime(audio.duration)})` : "";
    setStatus(`Listening to ${formatTime(samples.length / audio.sampleRate)} of ${file.name}${cut}…`);
    const { result, info } = await classifyInWorker(samples, audio.sampleRate, $("tradition").value);
    show(result, info, { kind: "file", source: `${file.name}, ${formatTime(result.durationS)}${cut}`, decodeMs });
    setStatus(`Done: ${pretty(result.raga)}.`);
  } catch (e) {
    const why = e?.name === "EncodingError" ? "the browser cannot decode this file" : e.message;
    setStatus(`Could not classify ${file.name}: ${why}`, true);
  }
}

/** Mono samples: the mean of the channels, at most `maxSeconds`. */
function downmix(audio, maxSeconds) {
  const n = Math.min(audio.length, Math.round(maxSeconds * audio.sampleRate));
  const out = new Float32Array(n);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const channel = audio.getChannelData(c);
    for (let i = 0; i < n; i++) out[i] += channel[i] / audio.numberOfChannels;
  }
  return out;
}

// ---- the microphone -----------------------------------------------------------------------

async function startLive() {
  if (state.live) return;
  const mic = $("mic");
  mic.disabled = true;
  try {
    setStatus("Asking for the microphone…");
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const context = new AudioContext();
    await context.audioWorklet.addModule(new URL("./worklet.js", import.meta.url));
    const node = new AudioWorkletNode(context, "ragasense-capture", {
      processorOptions: { chunk: Math.round(context.sampleRate / 4) },
    });
    // Chunks go from the worklet straight to the worker; the page only sees the level.
    const channel = new MessageChannel();
    node.port.postMessage({ port: channel.port1 }, [channel.port1]);
    worker.postMessage(
      { type: "live", port: channel.port2, sampleRate: context.sampleRate, tradition: $("tradition").value },
      [channel.port2],
    );
    state.live = { context, media, node, seconds: 0 };
    node.port.onmessage = ({ data }) => {
      state.live.seconds += data.seconds;
      $("level").value = Math.min(1, data.rms * 4);
      $("heard").textContent = `Listening: ${formatTime(state.live.seconds)}`;
    };
    context.createMediaStreamSource(media).connect(node);
    node.connect(context.destination); // silent: keeps the node pulled on every browser
    mic.setAttribute("aria-pressed", "true");
    mic.textContent = "Stop listening";
    $("live").hidden = false;
    document.body.dataset.live = "on";
    setStatus("Listening. The first answer comes after a few seconds and settles as it hears more.");
  } catch (e) {
    stopLive();
    setStatus(`The microphone is not available: ${e.message}`, true);
  } finally {
    mic.disabled = document.body.dataset.model !== "ready";
  }
}

function stopLive() {
  const live = state.live;
  if (!live) return;
  state.live = null;
  worker.postMessage({ type: "stop" });
  live.node.port.postMessage({ stop: true });
  live.media.getTracks().forEach((t) => t.stop());
  live.context.close();
  $("mic").setAttribute("aria-pressed", "false");
  $("mic").textContent = "Use the microphone";
  $("live").hidden = true;
  document.body.dataset.live = "off";
  setStatus("Stopped listening.");
}

function showLive(rolling, info) {
  const answer = { ...rolling.latest, raga: rolling.raga, confidence: rolling.confidence, topK: rolling.topK };
  show(answer, info, {
    kind: "live",
    source: `Live: the last ${formatTime(rolling.heardS)}, ${rolling.updates} update${rolling.updates === 1 ? "" : "s"}`,
    settled: rolling.stable,
  });
}

// ---- showing an answer --------------------------------------------------------------------

function show(result, info, context) {
  state.last = { result, context };
  const section = $("result");
  section.hidden = false;
  section.dataset.kind = context.kind;
  section.dataset.settled = String(Boolean(context.settled));
  const raga = $("raga");
  raga.textContent = pretty(result.raga);
  raga.dataset.raga = result.raga;
  const tradition = state.labels.get(result.raga);
  raga.title = tradition ? `${pretty(result.raga)} (${tradition})` : "";
  $("confidence").textContent = `${Math.round(result.confidence * 100)}%`;
  $("settled").hidden = !context.settled;
  $("source").textContent = context.source;
  // Feedback on a file's answer (a live answer keeps changing): preset to the answer, so a
  // right one is confirmed with one click and a wrong one corrected with two.
  const form = $("feedback");
  form.hidden = !(context.kind === "file" && result.predictionId && info.feedbackUrl);
  form.dataset.predictionId = result.predictionId ?? "";
  form.dataset.state = "";
  $("true-raga").value = result.raga;
  $("send-feedback").disabled = false;
  $("feedback-status").textContent = "";

  $("topk").replaceChildren(
    ...result.topK.map(({ raga: name, p }) => {
      const li = document.createElement("li");
      li.innerHTML = `<span class="name"></span><span class="track" aria-hidden="true"><span class="fill"></span></span><span class="p"></span>`;
      li.querySelector(".name").textContent = pretty(name);
      li.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
      li.querySelector(".p").textContent = `${Math.round(p * 100)}%`;
      li.dataset.raga = name;
      return li;
    }),
  );

  const sure = result.tonicConfidence == null ? "" : `, ${Math.round(result.tonicConfidence * 100)}% sure`;
  $("tonic").textContent = `${result.tonicHz.toFixed(1)} Hz (${noteName(result.tonicHz)}${sure})`;
  $("backend").textContent = result.backend === "webgpu" ? "WebGPU" : "CPU (WebAssembly)";
  $("backend").title = info.webgpuNote ?? "";
  const t = result.timingsMs;
  const decode = context.decodeMs === undefined ? "" : `decoding ${ms(context.decodeMs)} · `;
  $("timings").textContent = `${decode}features ${ms(t.features)} · model ${ms(t.inference)} · total ${ms(t.total)}`;
  const { name, version } = result.model; // the version that answered
  $("model").textContent = `${name}${version ? ` v${version}` : ""} (${info.quantization})${info.offline ? ", offline copy" : ""}`;

  const names = tradition === "carnatic" ? CARNATIC : HINDUSTANI;
  drawSwaras($("swaras"), result.pitchClassHistogram, names);
  drawContour($("contour"), result.pitch, result.tonicHz, names);
}

new ResizeObserver(() => {
  if (!state.last) return;
  const { result } = state.last;
  const names = state.labels.get(result.raga) === "carnatic" ? CARNATIC : HINDUSTANI;
  drawContour($("contour"), result.pitch, result.tonicHz, names);
}).observe($("contour"));

// ---- small helpers ------------------------------------------------------------------------

/** "miyan_ki_todi" -> "Miyan ki Todi". */
function pretty(raga) {
  return raga
    .split("_")
    .map((w, i) => (i > 0 && w === "ki" ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join(" ");
}

const NOTES = ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"];
/** "D3 +12¢" for a frequency. */
function noteName(hz) {
  const midi = 69 + 12 * Math.log2(hz / 440);
  const nearest = Math.round(midi);
  const off = Math.round((midi - nearest) * 100);
  const sign = off === 0 ? "" : off > 0 ? ` +${off}¢` : ` −${-off}¢`;
  return `${NOTES[((nearest % 12) + 12) % 12]}${Math.floor(nearest / 12) - 1}${sign}`;
}

const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
function formatTime(s) {
  const whole = Math.round(s);
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}
function setModelStatus(text, error = false) {
  $("model-status").textContent = text;
  $("model-status").classList.toggle("error", error);
}

// ---- wiring -------------------------------------------------------------------------------

$("file").addEventListener("change", (e) => {
  const file = e.target.files?.[0];
  if (file) classifyFile(file);
  e.target.value = ""; // the same file again is a new choice
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files?.[0];
  if (file) classifyFile(file);
});
$("mic").addEventListener("click", () => (state.live ? stopLive() : startLive()));
$("tradition").addEventListener("change", () => {
  if (!state.live) return;
  stopLive();
  startLive();
});
$("telemetry").addEventListener("change", (e) => {
  localStorage.setItem(TELEMETRY_KEY, e.target.checked ? "on" : "off");
  worker.postMessage({ type: "telemetry", enabled: e.target.checked });
});
$("feedback").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const trueRaga = $("true-raga").value;
  $("send-feedback").disabled = true;
  $("feedback-status").textContent = "Sending…";
  try {
    const { result } = await ask({ type: "feedback", predictionId: form.dataset.predictionId, trueRaga });
    $("feedback-status").textContent = result.correct
      ? "Thanks: confirmed."
      : `Thanks: recorded as ${pretty(trueRaga)}.`;
    form.dataset.state = "sent";
  } catch (err) {
    $("feedback-status").textContent = `Could not send: ${err.message}`;
    form.dataset.state = "error";
  } finally {
    $("send-feedback").disabled = false;
  }
});
// The worker has no page events: send what is queued when the page goes away.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") worker.postMessage({ type: "flush" });
});

async function start() {
  try {
    state.config = await loadConfig();
  } catch (e) {
    document.body.dataset.model = "error";
    setModelStatus(`This site is misconfigured: ${e.message}`, true);
    return;
  }
  const box = $("telemetry");
  if (state.config.telemetry === false) {
    box.checked = false;
    box.disabled = true;
    $("telemetry-note").textContent = "this site sends none";
  } else {
    box.checked = telemetryWanted();
  }
  loadModel();
  if ("serviceWorker" in navigator) {
    try {
      await navigator.serviceWorker.register("sw.js");
      await navigator.serviceWorker.ready;
      document.body.dataset.offlineReady = "true";
      $("offline").textContent = "This app works offline once the model has loaded.";
    } catch (e) {
      $("offline").textContent = `Offline use is not available: ${e.message}`;
    }
  }
}
start();
