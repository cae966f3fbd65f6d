// The npm package in Node (no WebGPU, no Cache Storage): the CPU path end to end against a
// real registry — load by alias, classify rendered clips right, the same answer as the
// native CLI (top 5 and probabilities within 1e-3), a rolling stream that settles,
// telemetry and feedback stored by the server, clear errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { paths, startRegistry, renderClips, nativeAnswer, readWav, storedEvents } from "./harness.mjs";

const { default: init, RagaSense } = await import(join(paths.npm, "ragasense.js"));
await init({ module_or_path: readFileSync(join(paths.npm, "ragasense_bg.wasm")) });

let registry, clips;
before(async () => {
  registry = await startRegistry();
  clips = renderClips();
});
after(() => registry?.stop());

test("classifies rendered clips on the CPU like the native build, and reports telemetry", async () => {
  const model = await RagaSense.load({ registry: registry.url, ref: "@production", backend: "auto", cache: false,
    telemetry: { flushMs: 600000 } }); // flushed by hand below
  const info = model.info();
  assert.equal(info.name, "raga-detector");
  assert.equal(info.version, "1");
  assert.equal(info.labels.length, 20);
  assert.equal(info.webgpuAvailable, false, "Node has no WebGPU");
  assert.match(info.webgpuNote, /navigator\.gpu|CPU-only build/);
  for (const clip of clips) {
    const { samples, rate } = readWav(clip.bytes);
    const r = await model.classify(samples, rate, { tradition: clip.tradition });
    const native = nativeAnswer(clip.wav, clip.tradition);
    assert.equal(native.raga, clip.raga, `native answer for ${clip.raga}`);
    assert.equal(r.raga, clip.raga, `${clip.raga}: got ${r.raga} (${JSON.stringify(r.topK)})`);
    // Parity with the native build: the same top 5, each probability within 1e-3 (measured:
    // within 1e-7), and the same tonic.
    assert.deepEqual(r.topK.map((t) => t.raga), native.top_k.map((t) => t.raga));
    for (const [i, t] of r.topK.entries()) {
      assert.ok(Math.abs(t.p - native.top_k[i].p) < 1e-3, `p(${t.raga}) ${t.p} vs native ${native.top_k[i].p}`);
    }
    assert.ok(Math.abs(r.tonicHz - native.tonic_hz) < 0.01, `tonic ${r.tonicHz} vs native ${native.tonic_hz}`);
    assert.equal(r.backend, "cpu");
    assert.equal(r.topK.length, 5);
    assert.equal(r.pitchClassHistogram.length, 120);
    assert.equal(r.pitch.f0Hz.length, r.pitch.timesS.length);
    assert.ok(r.timingsMs.features > 0 && r.timingsMs.inference > 0 && r.timingsMs.total >= r.timingsMs.inference);
    assert.deepEqual(r.model, { name: "raga-detector", version: "1" });
  }
  assert.equal(info.telemetryEnabled, true);
  // Switched off at run time: what was queued is dropped and nothing more is recorded.
  const { samples, rate } = readWav(clips[0].bytes);
  await model.classify(samples, rate);
  model.setTelemetry(false);
  assert.equal(model.info().telemetryEnabled, false);
  await model.classify(samples, rate);
  assert.equal(await model.flushTelemetry(), 0, "nothing queued while off");
  model.setTelemetry(true);
  for (const clip of clips) {
    const { samples, rate } = readWav(clip.bytes);
    await model.classify(samples, rate, { tradition: clip.tradition });
  }
  assert.equal(await model.flushTelemetry(), clips.length);
  const events = await storedEvents(registry.url);
  assert.equal(events.length, clips.length);
  for (const e of events) {
    assert.equal(e.backend, "cpu");
    assert.equal(e.version, "1");
    assert.equal(e.input.log_mel.length, 128);
    assert.ok(clips.some((c) => c.raga === e.top_label));
  }
  // Feedback on the last answer: the registry counts it towards the version's online accuracy.
  const { samples: s0, rate: r0 } = readWav(clips[0].bytes);
  const answer = await model.classify(s0, r0, { tradition: clips[0].tradition });
  assert.equal(model.info().feedbackUrl, `${registry.url}/v1/feedback`);
  assert.deepEqual(await model.feedback(answer.predictionId, clips[0].raga), { correct: answer.raga === clips[0].raga });
  const wrong = info.labels.find((l) => l !== answer.raga);
  assert.deepEqual(await model.feedback(answer.predictionId, wrong), { correct: false }, "a second answer replaces the first");
  const summary = await (await fetch(`${registry.url}/v1/monitoring/summary?model=raga-detector&version=1`)).json();
  assert.deepEqual(summary.versions[0].feedback, { answers: 1, correct: 0, online_accuracy: 0 });
  await assert.rejects(model.feedback(answer.predictionId, "western"), /not a raga of this model/);
  await assert.rejects(model.feedback("nope", clips[0].raga), /no answer 'nope'/);
  model.dispose();
  await assert.rejects(model.classify(new Float32Array(22050), 22050), /disposed/);
});

test("with auth on, telemetry and feedback carry a publishable key; without one they are refused", async () => {
  const secured = await startRegistry({ auth: true });
  try {
    const key = execFileSync(paths.ragasense, ["token", "create", "--name", "site", "--scope", "telemetry",
      "--model", "raga-detector", "--tracking-uri", secured.url],
    { env: { ...process.env, RAGASENSE_TRACKING_TOKEN: secured.admin } }).toString().trim();
    assert.match(key, /^rsp_/);
    const { samples, rate } = readWav(clips[0].bytes);
    // Published models stay public: loading needs no token.
    const model = await RagaSense.load({ registry: secured.url, backend: "cpu", cache: false,
      telemetry: { key, flushMs: 600000 } });
    const answer = await model.classify(samples, rate, { tradition: clips[0].tradition });
    assert.equal(await model.flushTelemetry(), 1);
    const events = await storedEvents(secured.url, secured.admin);
    assert.deepEqual(events.map((e) => e.event_id), [answer.predictionId]);
    assert.deepEqual(await model.feedback(answer.predictionId, clips[0].raga), { correct: answer.raga === clips[0].raga });
    await assert.rejects(storedEvents(secured.url, key), /403/, "a telemetry key reads nothing");
    model.dispose();

    const keyless = await RagaSense.load({ registry: secured.url, backend: "cpu", cache: false,
      telemetry: { flushMs: 600000 } });
    await keyless.classify(samples, rate, { tradition: clips[0].tradition });
    await assert.rejects(keyless.flushTelemetry(), /401.*token/);
    keyless.dispose();
    await assert.rejects(RagaSense.load({ registry: secured.url, backend: "cpu", cache: false,
      telemetry: { key: "rsp x" } }), /not a telemetry key/);
  } finally {
    secured.stop();
  }
});

test("a stream of chunks settles on the clip's raga", async () => {
  const model = await RagaSense.load({ registry: registry.url, backend: "cpu", telemetry: false, cache: false });
  const clip = clips[0];
  const { samples, rate } = readWav(clip.bytes);
  const live = model.stream(rate, { windowS: 8, hopS: 2, minS: 4, tradition: clip.tradition });
  let last = null;
  const chunk = Math.round(rate / 4); // 250 ms, like an AudioWorklet batch
  for (let at = 0; at < samples.length; at += chunk) {
    const update = await live.push(samples.subarray(at, at + chunk));
    if (update) last = update;
  }
  assert.ok(last, "no update");
  assert.ok(last.updates >= 5, `${last.updates} updates`);
  assert.equal(last.raga, clip.raga, JSON.stringify(last.topK));
  assert.equal(last.stable, true);
  assert.equal(last.latest.backend, "cpu");
  model.dispose();
});

test("bad input gets a clear error", async () => {
  await assert.rejects(RagaSense.load({}), /registry.*manifestUrl/);
  await assert.rejects(RagaSense.load({ registry: registry.url, backend: "tpu" }), /backend 'tpu'/);
  await assert.rejects(RagaSense.load({ registry: registry.url, model: "nope" }), /answered 404/);
  await assert.rejects(RagaSense.load({ registry: registry.url, backend: "webgpu" }), /WebGPU is not available/);
  await assert.rejects(RagaSense.load({ registry: registry.url, colour: "red" }), /unknown option `colour`/);
  const model = await RagaSense.load({ registry: registry.url, backend: "cpu", telemetry: false, cache: false });
  await assert.rejects(model.classify(new Float32Array(100), 22050), /audio/);
  await assert.rejects(model.classify(new Float32Array(44100), 44100.5), /sampleRate/);
  await assert.rejects(model.classify(new Float32Array(44100), 22050, { tradition: "western" }), /tradition 'western'/);
  assert.throws(() => model.stream(22050, { smoothing: 2 }), /smoothing/);
  assert.throws(() => model.setTelemetry(true), /telemetry was turned off when the model was loaded/);
  model.setTelemetry(false); // already off: fine
  model.dispose();
});
