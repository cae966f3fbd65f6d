#!/usr/bin/env python3
"""Sanity checks of render.py: every timbre and drone renders finite, non-silent audio whose
pitch (harmonic-sum tracker) lands on the raga's swaras.  python check.py [raga ...]"""
import sys
import zlib

import numpy as np
from scipy import signal

import render
from ragas import RAGAS


def track(x, sr, fmin=70, fmax=1100):
    """Frame-wise f0 by harmonic summation over an STFT (coarse but independent)."""
    nper = 4096 if sr > 30000 else 2048
    f, t, Z = signal.stft(x, sr, nperseg=nper, noverlap=nper * 3 // 4)
    mag = np.abs(Z) ** 0.5
    cands = fmin * 2 ** (np.arange(0, np.log2(fmax / fmin) * 240) / 240)
    score = np.zeros((len(cands), mag.shape[1]))
    for h, w in zip(range(1, 6), (1.0, 0.8, 0.6, 0.5, 0.4)):
        idx = np.clip(np.round(cands * h / (f[1] - f[0])).astype(int), 0, len(f) - 1)
        score += w * mag[idx]
    best = cands[np.argmax(score, axis=0)]
    energy = np.sum(mag ** 4, axis=0)
    return best[energy > np.percentile(energy, 40)]


def main():
    ragas = sys.argv[1:] or ["yaman", "darbari_kanada", "hindolam", "kambhoji"]
    ok = True
    for raga in ragas:
        allowed = {render.SWARA_CENTS[s] for s in RAGAS[raga]["notes"].split()}
        for timbre in render.TIMBRES:
            rng = np.random.default_rng([7, zlib.crc32(raga.encode()), render.TIMBRES.index(timbre)])
            x, sr, meta = render.render_clip(raga, rng, 12.0, force=dict(timbre=timbre, drone="none", clean=True))
            f0 = track(x, sr)
            pc = (1200 * np.log2(f0 / meta["tonic_hz"])) % 1200
            near = np.array([min(min(abs(p - a), 1200 - abs(p - a)) for a in allowed) for p in pc])
            inscale = np.mean(near < 50)
            hist = np.bincount(np.round(pc / 100).astype(int) % 12, minlength=12) / len(pc)
            top = ",".join(f"{i*100}" for i in np.argsort(-hist)[:5])
            flag = "" if inscale > 0.7 and np.max(np.abs(x)) > 0.1 else "  <-- CHECK"
            ok &= not flag
            print(f"{raga:16s} {timbre:9s} sr={sr} Sa={meta['tonic_hz']:6.1f} in-scale={inscale:4.2f} "
                  f"top pcs={top}{flag}")
        for drone in ("tanpura", "shrutibox", "etanpura"):
            rng = np.random.default_rng([8, len(raga)])
            g = render.Grammar(raga, rng)
            d = render.render_drone(drone, g, 150.0, 22050, 8.0, rng)
            bad = not np.all(np.isfinite(d)) or np.std(d) == 0
            ok &= not bad
            f, p = signal.welch(d, 22050, nperseg=8192)
            pk = f[np.argsort(-p)[:4]]
            print(f"{raga:16s} drone {drone:9s} finite={not bad} strongest bins Hz={np.round(np.sort(pk))}")
    print("OK" if ok else "SOME CHECKS FAILED")


if __name__ == "__main__":
    main()
