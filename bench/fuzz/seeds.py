#!/usr/bin/env python3
"""Writes the starting corpus of each fuzz target into fuzz/corpus/<target>/ (the corpus is
committed; run this only to start one afresh). Needs sox and lame for the compressed seeds
and cargo for the package seeds.

audio_decode: short clips in every container and sample format the decoder reads (WAV PCM
8/16/24/32-bit, float 32/64, extensible, IMA and MS ADPCM, FLAC, MP3, OGG/Vorbis), mono and
stereo, odd rates, plus truncated and header-only files.
package_load: packages framed as the target reads them (manifest length, manifest,
weights): tiny ones of every quantization (crates/raga-model/examples/fuzz_package_seeds.rs),
the committed int8 test package and pieces of it.
telemetry_parse: valid batches with every optional field, and near misses.
"""
import json, math, os, struct, subprocess, sys, tempfile, wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def tone(rate, seconds, channels, freq=220.0):
    n = int(rate * seconds)
    frames = []
    for i in range(n):
        x = 0.5 * math.sin(2 * math.pi * freq * i / rate) + 0.2 * math.sin(2 * math.pi * 2.01 * freq * i / rate)
        frames.append([x * (1 - 0.3 * c) for c in range(channels)])
    return frames


def wav_pcm(frames, rate, bits):
    channels = len(frames[0])
    if bits == 8:
        data = bytes(int((x + 1) * 127.5) for f in frames for x in f)
    else:
        scale = 2 ** (bits - 1) - 1
        data = b"".join(int(x * scale).to_bytes(bits // 8, "little", signed=True) for f in frames for x in f)
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        with wave.open(tmp.name, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(bits // 8)
            w.setframerate(rate)
            w.writeframes(data)
        return Path(tmp.name).read_bytes()


def wav_float(frames, rate, fmt, extensible=False):
    channels = len(frames[0])
    size = struct.calcsize("<" + fmt)
    data = b"".join(struct.pack("<" + fmt, x) for f in frames for x in f)
    bits = size * 8
    if extensible:
        guid = struct.pack("<IHH8s", 3, 0x0000, 0x0010, bytes.fromhex("800000aa00389b71"))
        fmt_chunk = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * channels * size,
                                channels * size, bits, 22, bits, (1 << channels) - 1) + guid
    else:
        fmt_chunk = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * size, channels * size, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sox(src, *args, suffix):
    with tempfile.TemporaryDirectory() as d:
        a, b = Path(d) / "in.wav", Path(d) / ("out" + suffix)
        a.write_bytes(src)
        subprocess.run(["sox", str(a), *args, str(b)], check=True, capture_output=True)
        return b.read_bytes()


def audio():
    t = "audio_decode"
    mono, stereo = tone(8000, 0.25, 1), tone(11025, 0.2, 2)
    seeds = {
        "pcm8-mono.wav": wav_pcm(mono, 8000, 8),
        "pcm16-mono.wav": wav_pcm(mono, 8000, 16),
        "pcm16-stereo-11025.wav": wav_pcm(stereo, 11025, 16),
        "pcm24-mono.wav": wav_pcm(mono, 8000, 24),
        "pcm32-stereo.wav": wav_pcm(stereo, 11025, 32),
        "f32-mono.wav": wav_float(mono, 8000, "f"),
        "f64-stereo.wav": wav_float(stereo, 11025, "d"),
        "f32-extensible.wav": wav_float(stereo, 11025, "f", extensible=True),
        "pcm16-22050.wav": wav_pcm(tone(22050, 0.3, 1), 22050, 16),
        "pcm16-48000-stereo.wav": wav_pcm(tone(48000, 0.1, 2), 48000, 16),
    }
    base = seeds["pcm16-mono.wav"]
    seeds["ima-adpcm.wav"] = sox(base, "-e", "ima-adpcm", suffix=".wav")
    seeds["ms-adpcm.wav"] = sox(base, "-e", "ms-adpcm", suffix=".wav")
    seeds["flac16.flac"] = sox(base, suffix=".flac")
    seeds["flac24-stereo.flac"] = sox(seeds["pcm32-stereo.wav"], "-b", "24", suffix=".flac")
    seeds["vorbis.ogg"] = sox(seeds["pcm16-22050.wav"], suffix=".ogg")
    with tempfile.TemporaryDirectory() as d:
        src, mp3 = Path(d) / "in.wav", Path(d) / "out.mp3"
        src.write_bytes(seeds["pcm16-22050.wav"])
        subprocess.run(["lame", "--quiet", "-b", "64", str(src), str(mp3)], check=True)
        seeds["mp3-64k.mp3"] = mp3.read_bytes()
    # Broken ones: header only, truncated in the middle of the data.
    seeds["header-only.wav"] = base[:44]
    seeds["truncated.flac"] = seeds["flac16.flac"][: len(seeds["flac16.flac"]) // 2]
    seeds["truncated.mp3"] = seeds["mp3-64k.mp3"][: len(seeds["mp3-64k.mp3"]) // 3]
    for name, data in seeds.items():
        write(t, name, data)


def package():
    t = "package_load"
    fixture = ROOT / "tests" / "fixtures" / "model-small-int8"
    manifest = (fixture / "manifest.json").read_bytes()
    weights = (fixture / "model.bpk").read_bytes()
    framed = lambda m, w: struct.pack("<I", len(m)) + m + w
    # One real package, and pieces of it; the fuzzer works mostly from the tiny ones below.
    write(t, "int8-package", framed(manifest, weights))
    write(t, "manifest-only", framed(manifest, b""))
    write(t, "truncated-weights", framed(manifest, weights[: len(weights) // 7]))
    m = json.loads(manifest)
    del m["model"]["tonic_check"]
    write(t, "old-manifest", framed(json.dumps(m).encode(), weights[:4096]))
    # Packages of a 4-wide network (25-35 KiB), every quantization, with and without the
    # tonic check.
    subprocess.run(["cargo", "run", "-q", "-p", "raga-model", "--example", "fuzz_package_seeds", "--",
                    str(CORPUS / t)], check=True, cwd=ROOT)


def telemetry():
    t = "telemetry_parse"
    event = {
        "event_id": "e-1", "model": "raga-detector", "version": "3", "backend": "webgpu",
        "client_time_ms": 1764000000000, "timings_ms": {"features": 81.2, "inference": 23.0, "total": 110.0},
        "top_label": "yaman", "confidence": 0.93,
    }
    stats = {
        "clips": 1, "frames": 10, "log_mel": [{"mean": -40.0, "std": 3.0}] * 128,
        "level_db": {"mean": -30.0, "std": 0.0}, "voiced_fraction": {"mean": 0.8, "std": 0.0},
        "tonic_hz": {"mean": 146.8, "std": 0.0}, "seconds": {"mean": 10.0, "std": 0.0},
        "pitch_class_hist": [1.0 / 120] * 120,
    }
    full = dict(event, tradition="hindustani", tonic_hz=146.8, input=stats,
                runtime={"package_version": "0.1.0", "user_agent": "Mozilla/5.0"})
    failed = {k: v for k, v in event.items() if k not in ("top_label", "confidence")}
    failed["error"] = "no audio"
    seeds = {
        "minimal": {"events": [event]},
        "full": {"events": [full]},
        "error-event": {"events": [failed]},
        "three-events": {"events": [event, dict(event, event_id="e-2", backend="cpu", version=4), failed]},
        "version-number": {"events": [dict(event, version=2)]},
        "bad-backend": {"events": [dict(event, backend="tpu")]},
        "bad-confidence": {"events": [dict(event, confidence=1.5)]},
        "empty": {"events": []},
        "no-events": {},
        "short-stats": {"events": [dict(event, input=dict(stats, log_mel=[{"mean": 1, "std": 0}] * 3))]},
    }
    for name, body in seeds.items():
        write(t, name + ".json", json.dumps(body).encode())
    write(t, "not-json.txt", b"{\"events\": [")
    write(t, "unicode.json", json.dumps({"events": [dict(event, top_label="\u092f\u092e\u0928")]}, ensure_ascii=False).encode())


if __name__ == "__main__":
    which = set(sys.argv[1:]) or {"audio_decode", "package_load", "telemetry_parse"}
    for name, make in [("audio_decode", audio), ("package_load", package), ("telemetry_parse", telemetry)]:
        if name in which:
            make()
            print(f"{name}: {len(list((CORPUS / name).iterdir()))} seeds in {CORPUS / name}")
