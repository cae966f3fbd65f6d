// The model, off the page's thread: loads the npm package `ragasense`, classifies the clips
// the page sends, and runs the streaming classifier on microphone chunks that arrive from the
// AudioWorklet over their own MessagePort (live audio never passes through the page).
//
// Messages in:  {type: "load", options, telemetry} · {type: "telemetry", enabled}
//               {type: "classify", id, samples, sampleRate, tradition}
//               {type: "live", port, sampleRate, tradition} · {type: "stop"} · {type: "flush"}
//               {type: "feedback", id, predictionId, trueRaga}
// Messages out: {type: "loaded", info} · {type: "telemetry", info}
//               {type: "result", id, result, info} (also the verdict of feedback)
//               {type: "rolling", rolling, info} · {type: "error", id?, during, message}
import init, { RagaSense } from "ragasense";

const wasm = init({ module_or_path: new URL("./ragasense_bg.wasm", import.meta.url) });
let model = null;
let live = null; // { stream, port }
// One job at a time, in order: a reload must not overtake a classification.
let queue = Promise.resolve();

const post = (message) => self.postMessage(message);
const fail = (during, error, id) => post({ type: "error", id, during, message: String(error?.message ?? error) });

self.onmessage = ({ data }) => {
  if (data.type === "stop") return stopLive();
  queue = queue.then(() => handle(data)).catch((e) => fail(data.type, e, data.id));
};

async function handle(msg) {
  switch (msg.type) {
    case "load": {
      await wasm;
      stopLive();
      model?.dispose();
      model = null;
      model = await RagaSense.load(msg.options);
      setTelemetry(msg.telemetry);
      post({ type: "loaded", info: model.info() });
      break;
    }
    case "telemetry":
      // The visitor's choice, switched without reloading; off drops what is still queued.
      setTelemetry(msg.enabled);
      post({ type: "telemetry", info: requireModel().info() });
      break;
    case "classify": {
      const result = await requireModel().classify(msg.samples, msg.sampleRate, { tradition: msg.tradition });
      post({ type: "result", id: msg.id, result, info: model.info() });
      break;
    }
    case "live": {
      stopLive();
      const stream = requireModel().stream(msg.sampleRate, { tradition: msg.tradition });
      live = { stream, port: msg.port };
      msg.port.onmessage = ({ data: chunk }) => push(stream, chunk);
      break;
    }
    case "flush":
      if (model) await model.flushTelemetry();
      break;
    case "feedback": {
      const verdict = await requireModel().feedback(msg.predictionId, msg.trueRaga);
      post({ type: "result", id: msg.id, result: verdict, info: model.info() });
      break;
    }
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

/** Telemetry on or off as the visitor chose (a site configured without any stays off). */
function setTelemetry(enabled) {
  if (model?.info().telemetryUrl) model.setTelemetry(enabled);
}

function requireModel() {
  if (!model) throw new Error("the model is not loaded");
  return model;
}

function push(stream, chunk) {
  // push() keeps the samples and answers null while the previous update still runs.
  stream.push(chunk).then(
    (rolling) => rolling && live?.stream === stream && post({ type: "rolling", rolling, info: model.info() }),
    (e) => fail("live", e),
  );
}

function stopLive() {
  if (!live) return;
  live.port.onmessage = null;
  live.port.close();
  live.stream.free();
  live = null;
}
