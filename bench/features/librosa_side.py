"""librosa's side of bench/features: times log-mel and pyin on the WAVs `features ours` wrote.

Usage: $REF_PY bench/features/librosa_side.py [--dir DIR] [--reps R] [--pyin-clips M] [--pyin-reps P]

Writes DIR/librosa.jsonl: a first line with the run's environment, then one line per clip in
the shape the Rust side writes (ms per repetition by measure, accuracy counts by measure).
Every timed call comes after a warm-up call, so numba's JIT and librosa's caches are warm.
BLAS is limited to one thread (threadpoolctl) so both sides run single-threaded; the mel
timing is repeated with the BLAS threads as installed, for information. The OPENBLAS_*
environment is left exactly as the machine sets it, and recorded.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_info, threadpool_limits

SR = 22050
MEL = dict(sr=SR, n_fft=2048, hop_length=512, n_mels=128)
PYIN = dict(fmin=60, fmax=1000, sr=SR, frame_length=2048, hop_length=512)


def log_mel(y):
    s = librosa.feature.melspectrogram(y=y, **MEL)
    return librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80)


def timed(fn, reps):
    """Milliseconds of each of `reps` calls."""
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def accuracy(truth, est):
    """Counts over truth-voiced frames; NaN or <= 0 (librosa's unvoiced) is wrong."""
    truth = np.asarray(truth, dtype=np.float64)
    est = np.asarray(est, dtype=np.float64)
    n = min(len(truth), len(est))
    truth, est = truth[:n], est[:n]
    voiced = truth > 0
    ok = voiced & np.isfinite(est) & (est > 0)
    cents = np.zeros(n)
    cents[ok] = 1200 * np.log2(est[ok] / truth[ok])
    folded = np.mod(cents, 1200)
    return {
        "voiced": int(voiced.sum()),
        "correct": int((ok & (np.abs(cents) <= 50)).sum()),
        "chroma_correct": int((ok & ((folded <= 50) | (folded >= 1150))).sum()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="target/bench/features")
    ap.add_argument("--reps", type=int, default=5, help="log-mel repetitions per clip")
    ap.add_argument("--pyin-clips", type=int, default=None, help="clips to run pyin on (default all)")
    ap.add_argument("--pyin-reps", type=int, default=1, help="pyin repetitions per clip")
    args = ap.parse_args()
    work = Path(args.dir)
    clips = json.loads((work / "clips.json").read_text())
    pyin_clips = len(clips) if args.pyin_clips is None else args.pyin_clips

    env = {
        "side": "librosa",
        "python": platform.python_version(),
        "librosa_version": librosa.__version__,
        "numpy_version": np.__version__,
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")} or "none set",
        "blas": [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in threadpool_info()
        ],
        "mel_blas_threads": 1,
        "reps": args.reps,
        "pyin_clips": pyin_clips,
        "pyin_reps": args.pyin_reps,
    }

    # Warm-up on the first clip: numba compiles, FFT plans and filter caches fill.
    y0, _ = sf.read(work / clips[0]["wav"], dtype="float32")
    with threadpool_limits(limits=1):
        first_mel = timed(lambda: log_mel(y0), 1)[0]
        first_pyin = timed(lambda: librosa.pyin(y0[: 3 * SR], **PYIN), 1)[0]
    env["first_call_ms"] = {"log_mel_30s": round(first_mel, 1), "pyin_3s": round(first_pyin, 1)}

    env["loadavg_start"] = os.getloadavg()[0]
    lines = []
    for i, clip in enumerate(clips):
        y, sr = sf.read(work / clip["wav"], dtype="float32")
        if sr != SR or y.ndim != 1:
            sys.exit(f"{clip['wav']}: expected mono {SR} Hz, got {sr} Hz shape {y.shape}")
        truth = json.loads((work / clip["truth"]).read_text())
        ms, acc = {}, {}
        with threadpool_limits(limits=1):
            log_mel(y)  # warm on this very clip
            ms["mel"] = timed(lambda: log_mel(y), args.reps)
            if i < pyin_clips:
                f0 = None

                def run_pyin():
                    nonlocal f0
                    f0, _, _ = librosa.pyin(y, **PYIN)

                ms["pyin"] = timed(run_pyin, args.pyin_reps)
                if len(f0) != len(truth):
                    sys.exit(f"{clip['id']}: pyin gave {len(f0)} frames, truth has {len(truth)}")
                acc["pyin"] = accuracy(truth, f0)
        ms["mel_default_threads"] = timed(lambda: log_mel(y), args.reps)
        line = {
            "side": "librosa",
            "clip": clip["id"],
            "samples": int(len(y)),
            "sample_sum": float(np.sum(y, dtype=np.float64)),
            "ms": ms,
            "acc": acc,
        }
        lines.append(line)
        print(json.dumps(line), flush=True)
    env["loadavg_end"] = os.getloadavg()[0]
    print(json.dumps(env), flush=True)
    lines.insert(0, env)
    (work / "librosa.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))


if __name__ == "__main__":
    main()
