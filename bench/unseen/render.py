#!/usr/bin/env python3
"""Independent raga renderer, used only to test how a classifier generalises.

python render.py --out DIR --per-raga N --seconds S --seed K

Melody grammar comes from ragas.py; sound is made here with numpy/scipy only:
Karplus-Strong plucks read as cycle tables, FM flute, pulse-wave harmonium, glottal
voice through formants, bowed saw through body resonances, and a sine whistle; a
tanpura / shruti box / looped e-tanpura drone; a synthetic room, EQ, noise, clipping.
Nothing is shared with crates/raga-synth.
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
from scipy import signal
from scipy.io import wavfile

from ragas import RAGAS, SWARA_CENTS, parse_seq

CR = 1000  # control rate of pitch / amplitude curves (Hz)
TIMBRES = ["pluck", "bansuri", "harmonium", "voice", "bowed", "whistle"]
TIMBRE_P = [0.2, 0.18, 0.16, 0.22, 0.16, 0.08]


# ============================================================== melody grammar
class Grammar:
    def __init__(self, raga_id, rng, quantise=False):
        r = RAGAS[raga_id]
        self.id = raga_id
        self.r = r
        self.carnatic = r["tradition"] == "carnatic"
        # per-swara intonation: raga shruti + a small per-performance deviation
        self.cents = {}
        for s in r["notes"].split():
            c = SWARA_CENTS[s]
            if not quantise and s != "S":
                c += r.get("shruti", {}).get(s, 0) + rng.normal(0, 4)
                if s == "P":
                    c = SWARA_CENTS[s] + rng.normal(0, 1.5)
            self.cents[s] = c
        self.vadi, self.samvadi = r["vadi"], r["samvadi"]
        self.nyas = set(r["nyas"].split())
        self.weak = set(r["weak"].split())
        self.skip_sa = r.get("skip_sa", False)
        lo, hi = {"low": (-800, 1000), "mid": (-500, 1500), "high": (-200, 1900)}[r["register"]]
        self.lo, self.hi = lo, hi
        self.phrases, self.pw = [], []
        for p in r["phrases"]:
            text, _, w = p.partition("|")
            self.phrases.append(parse_seq(text))
            self.pw.append(float(w) if w else 1.0)
        self.pw = np.array(self.pw) / sum(self.pw)
        self.aroha = self._extend(parse_seq(r["aroha"]), up=True)
        self.avaroha = self._extend(parse_seq(r["avaroha"]), up=False)
        scale = sorted({self.cents[s] + 1200 * o for s in self.cents for o in range(-2, 4)})
        self.scale = np.array(scale)

    def pitch(self, swara, octv):
        return self.cents[swara] + 1200 * octv

    def _extend(self, seq, up):
        core = seq[:-1]
        out = []
        shifts = (-1, 0, 1) if up else (1, 0, -1)
        for sh in shifts:
            out += [(s, o + sh, 0) for s, o, _ in core]
        last = seq[-1]
        out.append((last[0], last[1] + shifts[-1], 0))
        return out

    def neighbour(self, c, direction):
        if direction == "up":
            i = np.searchsorted(self.scale, c + 20)
            return self.scale[min(i, len(self.scale) - 1)]
        i = np.searchsorted(self.scale, c - 20) - 1
        return self.scale[max(i, 0)]

    def _fragment(self, rng, seq):
        idx = [i for i, (s, o, _) in enumerate(seq) if self.lo <= self.pitch(s, o) <= self.hi]
        start = idx[rng.integers(len(idx))]
        k = int(rng.integers(3, 8))
        frag = []
        for s, o, e in seq[start:start + k]:
            if not (self.lo - 100 <= self.pitch(s, o) <= self.hi + 100):
                break
            frag.append((s, o, e))
        # extend to a resting note if possible
        j = start + len(frag)
        while frag and frag[-1][0] not in self.nyas and j < len(seq) and len(frag) < 9:
            frag.append(seq[j])
            j += 1
        return frag

    def _dwell(self, rng):
        """Circle around the vadi or samvadi: approach, hold, ornament, resolve."""
        target = self.vadi if rng.random() < 0.65 else self.samvadi
        octs = [o for o in (-1, 0, 1) if self.lo <= self.pitch(target, o) <= self.hi] or [0]
        o = octs[rng.integers(len(octs))] if rng.random() < 0.3 else (0 if 0 in octs else octs[0])
        ai = [i for i, (s, oo, _) in enumerate(self.aroha) if s == target and oo == o]
        di = [i for i, (s, oo, _) in enumerate(self.avaroha) if s == target and oo == o]
        out = []
        if ai:
            i = ai[0]
            n = int(rng.integers(1, 4))
            out += self.aroha[max(0, i - n):i]
        out.append((target, o, int(rng.integers(1, 3))))
        if di and rng.random() < 0.8:
            i = di[0]
            n = int(rng.integers(1, 4))
            out += self.avaroha[i + 1:i + 1 + n]
            if rng.random() < 0.5:
                out += list(reversed(self.avaroha[i + 1:i + 1 + n]))[1:] + [(target, o, 1)]
        return out

    def phrase(self, rng):
        u = rng.random()
        if u < 0.42:
            seq = list(self.phrases[rng.choice(len(self.phrases), p=self.pw)])
            # occasionally move a phrase an octave if it stays in range
            if rng.random() < 0.15:
                sh = 1 if rng.random() < 0.5 else -1
                moved = [(s, o + sh, e) for s, o, e in seq]
                if all(self.lo - 200 <= self.pitch(s, o) <= self.hi + 200 for s, o, _ in moved):
                    seq = moved
        elif u < 0.57:
            seq = self._fragment(rng, self.aroha)
        elif u < 0.80:
            seq = self._fragment(rng, self.avaroha)
        else:
            seq = self._dwell(rng)
        if self.skip_sa:
            seq = [t for i, t in enumerate(seq) if t[0] != "S" or (i == len(seq) - 1 and rng.random() < 0.3)]
        return seq


def compose(g, rng, seconds, style):
    """A list of events: ('note', cents, dur, info) / ('rest', dur)."""
    beat = 60.0 / style["bpm"]
    events, t = [], 0.0
    prev = None
    while t < seconds + 0.5:
        seq = g.phrase(rng)
        if not seq:
            continue
        for i, (s, o, extra) in enumerate(seq):
            units = 1 + extra
            if style["alap"]:
                units *= rng.choice([0.75, 1, 1, 1.5])
            elif style["bpm"] > 100:
                units *= rng.choice([0.5, 0.5, 1, 1, 2])
            else:
                units *= rng.choice([0.5, 0.5, 1, 1, 1.5])
            if s in (g.vadi, g.samvadi) and rng.random() < 0.6:
                units *= rng.uniform(1.3, 2.5)
            if s in g.weak:
                units *= 0.5
            last = i == len(seq) - 1
            if last:
                units *= rng.uniform(1.8, 3.5) if s in g.nyas or s == "S" else rng.uniform(1.0, 2.0)
            dur = max(0.07, units * beat * rng.uniform(0.8, 1.25))
            dur = min(dur, rng.uniform(2.5, 4.5))  # even alap notes are held a few seconds at most
            c = g.pitch(s, o)
            info = dict(swara=s, accent=1.0 + 0.25 * (s in (g.vadi, g.samvadi)) - 0.25 * (s in g.weak))
            info["glide"] = prev is not None and i > 0 and rng.random() < style["meend_p"]
            orn = g.r["orn"].get(s)
            info["orn"] = None
            if orn and dur > 0.3 and rng.random() < (0.6 if orn[0] == "kampita" else 0.75):
                info["orn"] = orn
            kan_p = style["kan_p"] * (3 if orn and orn[0] == "kan" else 1)
            if i > 0 and rng.random() < kan_p and dur > 0.15:
                info["kan"] = g.neighbour(c, "up" if rng.random() < 0.7 else "down")
            events.append(("note", c, dur, info))
            prev = c
            t += dur
        if rng.random() < style["rest_p"]:
            d = rng.uniform(0.15, 1.2) * (1.5 if style["alap"] else 1)
            events.append(("rest", d, None, None))
            t += d
            prev = None
    return events


# ============================================================== control curves
def smooth_step(x):
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


def build_curves(events, g, rng, seconds, timbre):
    """Pitch (cents) and amplitude at control rate, plus onset list [(time_s, is_new_pluck)]."""
    n = int(seconds * CR) + 1
    cents = np.zeros(n)
    amp = np.zeros(n)
    phrase_id = np.zeros(n, dtype=int)
    onsets = []
    discrete = timbre == "harmonium"
    t0, prev_c, pid, in_phrase = 0.0, None, 0, False
    last_c = events[0][1] if events else 0.0
    for ev in events:
        if t0 >= seconds:
            break
        if ev[0] == "rest":
            a, b = int(t0 * CR), min(n, int((t0 + ev[1]) * CR))
            cents[a:b] = last_c
            t0 += ev[1]
            prev_c, in_phrase = None, False
            continue
        _, c, dur, info = ev
        if not in_phrase:
            pid += 1
            in_phrase = True
        a, b = int(t0 * CR), min(n, int((t0 + dur) * CR))
        if b <= a:
            t0 += dur
            continue
        tt = np.arange(b - a) / CR
        curve = np.full(b - a, float(c))
        glide = info["glide"] and prev_c is not None and not discrete
        if prev_c is not None and not discrete:
            gl = min(0.6, dur * rng.uniform(0.3, 0.6)) if glide else rng.uniform(0.015, 0.05)
            curve = prev_c + (c - prev_c) * smooth_step(tt / gl)
        orn = info["orn"]
        if orn and not discrete:
            kind, direction = orn
            start = min(0.6 * dur, (gl if prev_c is not None else 0.0) + rng.uniform(0.0, 0.15))
            w = smooth_step((tt - start) / 0.08)
            if kind == "andolan":
                rate = rng.uniform(0.6, 1.6)
                depth = rng.uniform(15, 45)
                curve = curve - w * depth * 0.5 * (1 - np.cos(2 * np.pi * rate * (tt - start)))
            elif kind == "kampita":
                rate = rng.uniform(3.5, 7.0)
                if direction == "both":
                    up, dn = g.neighbour(c, "up") - c, g.neighbour(c, "down") - c
                    amt = rng.uniform(0.35, 0.8)
                    osc = np.sin(2 * np.pi * rate * (tt - start))
                    osc = np.sign(osc) * np.abs(osc) ** rng.uniform(1.5, 2.5)  # dwell near the swara
                    curve = curve + w * amt * np.where(osc > 0, up * osc, -dn * osc)
                else:
                    nb = g.neighbour(c, direction) - c
                    nb = float(np.clip(nb, -160, 160))  # wide gaps (pentatonic) are only half-crossed
                    amt = rng.uniform(0.4, 0.9) if direction == "up" else rng.uniform(0.3, 0.6)
                    end_w = 1 - smooth_step((tt - (dur - 0.12)) / 0.1) if rng.random() < 0.6 else 1
                    # touches the neighbour and returns; time is spent mostly on the swara itself
                    bump = (0.5 * (1 - np.cos(2 * np.pi * rate * (tt - start)))) ** rng.uniform(1.5, 3.0)
                    curve = curve + w * end_w * nb * amt * bump
            elif kind == "meend" and prev_c is None:
                src = g.neighbour(c, "up" if direction == "down" else "down")
                gl = min(0.4, dur * 0.4)
                curve = src + (c - src) * smooth_step(tt / gl)
        if "kan" in info:
            k = int(rng.uniform(0.03, 0.075) * CR)
            k = min(k, (b - a) // 3)
            if k > 2:
                x = np.arange(k) / k
                curve[:k] = info["kan"] + (curve[k] - info["kan"]) * smooth_step((x - 0.6) / 0.4)
                if discrete:
                    curve[:k] = info["kan"]
        cents[a:b] = curve
        env = np.ones(b - a) * info["accent"]
        amp[a:b] = env
        phrase_id[a:b] = pid
        new_pluck = not glide
        onsets.append((t0, new_pluck, b / CR))
        prev_c = c
        last_c = c
        t0 += dur
    if t0 < seconds:
        cents[int(t0 * CR):] = last_c
    return cents, amp, phrase_id, onsets


def shape_amp(amp, onsets, rng, attack, release, dip, seconds):
    """Phrase attacks/releases, articulation dips at note starts, slow dynamics."""
    n = len(amp)
    on = (amp > 0).astype(float)
    # attack / release via asymmetric one-pole smoothing of the gate
    a_c = np.exp(-1.0 / max(1.0, attack * CR))
    r_c = np.exp(-1.0 / max(1.0, release * CR))
    gate = on * amp
    out = np.empty(n)
    y = 0.0
    for i in range(n):  # n ~ 20k at 1 kHz: cheap
        x = gate[i]
        cc = a_c if x > y else r_c
        y = cc * y + (1 - cc) * x
        out[i] = y
    if dip > 0:
        tt = np.arange(n) / CR
        d = np.zeros(n)
        for (t, new, _) in onsets:
            if not new:
                continue
            a, b = int(max(0, t - 0.05) * CR), int(min(seconds, t + 0.06) * CR)
            d[a:b] = np.maximum(d[a:b], np.exp(-(((tt[a:b] - t) / 0.018) ** 2)))
        out *= 1 - dip * d
    slow = lowpass_noise(rng, n, CR, 0.4)
    out *= 10 ** (slow * 2.5 / 20)
    return out


def lowpass_noise(rng, n, rate, fc):
    x = rng.standard_normal(n + 2000)
    b, a = signal.butter(2, fc / (rate / 2))
    y = signal.lfilter(b, a, x)[2000:]
    return y / (np.std(y) + 1e-9)


def moving_avg(x, k):
    """Centred moving average of length k (cumsum, O(n))."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    n = len(x)
    lo = np.clip(np.arange(n) - k // 2, 0, n)
    hi = np.clip(np.arange(n) - k // 2 + k, 0, n)
    return (c[hi] - c[lo]) / k


def to_audio(curve, sr, seconds):
    n = int(seconds * sr)
    t = np.arange(n) / sr
    return np.interp(t, np.arange(len(curve)) / CR, curve)


# ============================================================== oscillators
def poly_blep_saw(phase, dt):
    t = phase % 1.0
    y = 2 * t - 1
    m = t < dt
    x = t[m] / dt[m]
    y[m] -= x + x - x * x - 1
    m = t > 1 - dt
    x = (t[m] - 1) / dt[m]
    y[m] -= x * x + x + x + 1
    return y


def pulse(phase, dt, width):
    return poly_blep_saw(phase, dt) - poly_blep_saw(phase + width, dt)


def biquad(kind, f, sr, gain_db=0.0, q=0.7):
    A = 10 ** (gain_db / 40)
    w = 2 * np.pi * min(f, sr * 0.45) / sr
    cw, sw = np.cos(w), np.sin(w)
    al = sw / (2 * q)
    if kind == "peak":
        b = [1 + al * A, -2 * cw, 1 - al * A]
        a = [1 + al / A, -2 * cw, 1 - al / A]
    elif kind == "bp":
        b = [al, 0, -al]
        a = [1 + al, -2 * cw, 1 - al]
    elif kind == "low":
        sa = 2 * np.sqrt(A) * al
        b = [A * ((A + 1) - (A - 1) * cw + sa), 2 * A * ((A - 1) - (A + 1) * cw), A * ((A + 1) - (A - 1) * cw - sa)]
        a = [(A + 1) + (A - 1) * cw + sa, -2 * ((A - 1) + (A + 1) * cw), (A + 1) + (A - 1) * cw - sa]
    elif kind == "high":
        sa = 2 * np.sqrt(A) * al
        b = [A * ((A + 1) + (A - 1) * cw + sa), -2 * A * ((A - 1) + (A + 1) * cw), A * ((A + 1) + (A - 1) * cw - sa)]
        a = [(A + 1) - (A - 1) * cw + sa, 2 * ((A - 1) - (A + 1) * cw), (A + 1) - (A - 1) * cw - sa]
    else:
        raise ValueError(kind)
    b, a = np.array(b), np.array(a)
    return b / a[0], a / a[0]


def ks_read(rng, f0, sr, t60, bright, stretch, pos, nominal=None):
    """Karplus-Strong string whose cycle table is read at a varying f0 (Hz, per sample).

    The KS loop (zero-phase averaging low-pass + loss per period) runs on a table of L
    samples per period; row k is the string after k round trips. Reading row floor(phase)
    at column frac(phase)*L follows any pitch curve, glides included.
    """
    f_nom = nominal or float(np.median(f0))
    L = int(np.clip(sr / max(f0.max(), f_nom) * 0.95, 12, 600))
    phase = np.cumsum(f0) / sr
    ncyc = int(phase[-1]) + 3
    x = rng.standard_normal(L)
    b = np.array([bright])
    x = signal.lfilter(b, [1, -(1 - bright)], x)  # duller excitation for small bright
    k = max(1, int(pos * L))
    x = x - np.roll(x, k)  # pluck position comb
    x -= x.mean()
    x /= np.max(np.abs(x)) + 1e-9
    w = 2 * np.pi * np.arange(L // 2 + 1) / L
    h = np.abs((1 - stretch) + stretch * np.exp(-1j * w))
    h *= 10 ** (-3.0 / (t60 * f_nom))
    X = np.fft.rfft(x)
    kk = np.arange(ncyc)[:, None]
    table = np.fft.irfft(X[None, :] * h[None, :] ** kk, n=L, axis=1).ravel()
    pos_s = phase * L
    return np.interp(pos_s, np.arange(len(table)), table)


def comb_ir(sr, freqs, t60, length_s, rng):
    """Impulse response of a few sympathetic strings (decaying combs with damping)."""
    n = int(length_s * sr)
    ir = np.zeros(n)
    for f in freqs:
        period = sr / f
        g = 10 ** (-3.0 / (t60 * f))
        k = np.arange(1, int(n / period))
        idx = (k * period).astype(int)
        ok = idx < n
        ir[idx[ok]] += (g ** k[ok]) * rng.uniform(0.5, 1.0)
    b, a = signal.butter(2, 3000 / (sr / 2))
    return signal.lfilter(b, a, ir)


# ============================================================== melody timbres
def render_melody(timbre, cents_a, amp_a, phrase_a, onsets, tonic, sr, seconds, rng, g):
    n = len(cents_a)
    f0 = tonic * 2 ** (cents_a / 1200)
    tt = np.arange(n) / sr
    vib_rate = rng.uniform(4.5, 6.8)
    vib_depth = {"pluck": 0, "bansuri": rng.uniform(0, 15), "harmonium": 0, "voice": rng.uniform(10, 40),
                 "bowed": rng.uniform(8, 35), "whistle": rng.uniform(0, 20)}[timbre]
    if vib_depth:
        # vibrato grows on sustained notes: weight by how long the pitch has been stable
        stable = np.abs(np.gradient(cents_a)) * sr < 30
        run = signal.lfilter([1 - 0.9995], [1, -0.9995], stable.astype(float))
        vib = vib_depth * np.clip(run * 1.5, 0, 1) * np.sin(2 * np.pi * vib_rate * tt + rng.uniform(0, 6))
        f0 = f0 * 2 ** (vib / 1200)
    drift = to_audio(lowpass_noise(rng, int(seconds * CR) + 1, CR, 3.0), sr, seconds) * rng.uniform(1, 5)
    f0 = f0 * 2 ** (drift / 1200)
    dt = f0 / sr
    phase = np.cumsum(dt)

    if timbre == "pluck":
        y = np.zeros(n)
        t60 = rng.uniform(1.2, 4.0)
        bright = rng.uniform(0.3, 0.95)
        stretch = rng.uniform(0.3, 0.5)
        pos = rng.uniform(0.08, 0.25)
        starts = []
        for (t, new, tend) in onsets:
            if new:
                starts.append(t)
            # re-plucks on long notes
            if tend - t > 1.2 and rng.random() < 0.6:
                tr = t + rng.uniform(0.6, 1.0)
                while tr < tend - 0.3:
                    starts.append(tr)
                    tr += rng.uniform(0.6, 1.2)
        starts = sorted(starts)
        silent = amp_a <= 1e-3
        for i, t in enumerate(starts):
            a = int(t * sr)
            b = int(starts[i + 1] * sr) if i + 1 < len(starts) else n
            # ring into a following rest, then damp
            nz = np.nonzero(silent[a:b])[0]
            if len(nz):
                b = min(b, a + nz[0] + int(rng.uniform(0.15, 0.6) * sr))
            tail = int(0.03 * sr)
            b2 = min(n, b + tail)
            if b2 - a < 64:
                continue
            seg = ks_read(rng, f0[a:b2], sr, t60, bright, stretch, pos)
            seg[b - a:] *= np.linspace(1, 0, b2 - b)
            acc = amp_a[a] if amp_a[a] > 0 else 1.0
            y[a:b2] += seg * acc * rng.uniform(0.8, 1.1)
        # sympathetic strings tuned to the raga's Sa, Pa (or Ma) and tara Sa
        sym = [tonic, tonic * 2, tonic * 1.5 if "P" in g.cents else tonic * 2 ** (5 / 12)]
        ir = comb_ir(sr, sym, rng.uniform(1.0, 3.0), 1.5, rng)
        y = y + rng.uniform(0.05, 0.2) * signal.fftconvolve(y, ir)[:n] / (np.sqrt(np.sum(ir ** 2)) + 1e-9)
        b, a = signal.butter(1, 70 / (sr / 2), "high")
        return signal.lfilter(b, a, y)

    env = amp_a
    if timbre == "bansuri":
        index = rng.uniform(0.3, 1.4) * (0.4 + 0.6 * env)
        ratio = rng.choice([1.0, 2.0])
        ph2 = 2 * np.pi * phase
        y = np.sin(ph2 + index * np.sin(ratio * ph2)) + rng.uniform(0.05, 0.3) * np.sin(2 * ph2 + 0.3)
        noise = rng.standard_normal(n)
        b, a = biquad("bp", rng.uniform(1500, 4000), sr, q=0.8)
        breath = signal.lfilter(b, a, noise)
        breath *= 1 + 0.6 * np.sin(ph2)  # breath partly locked to the tone
        lvl = 10 ** (rng.uniform(-24, -10) / 20)
        y = y * env + lvl * breath * env / (np.std(breath) + 1e-9) * 0.7
        # chiff at tongued onsets
        for (t, new, _) in onsets:
            if new:
                a0 = int(t * sr)
                m = min(n - a0, int(0.04 * sr))
                y[a0:a0 + m] += noise[a0:a0 + m] * np.exp(-np.arange(m) / (0.008 * sr)) * lvl * 2
        return y
    if timbre == "harmonium":
        width = rng.uniform(0.1, 0.4)
        reeds = [(1.0, 1.0)]
        if rng.random() < 0.8:
            reeds.append((2.0, rng.uniform(0.3, 0.8)))
        if rng.random() < 0.4:
            reeds.append((0.5, rng.uniform(0.3, 0.7)))
        y = np.zeros(n)
        for mult, gain in reeds:
            det = 2 ** (rng.uniform(-6, 6) / 1200)
            fr = f0 * mult * det
            y += gain * pulse(np.cumsum(fr / sr) + rng.uniform(0, 1), np.minimum(fr / sr, 0.45), width)
        b, a = signal.butter(1, rng.uniform(2500, 7000) / (sr / 2))
        y = signal.lfilter(b, a, y)
        bp, ap = biquad("peak", rng.uniform(800, 2000), sr, rng.uniform(3, 8), 1.2)
        y = signal.lfilter(bp, ap, y)
        bellows = 1 + 0.12 * to_audio(lowpass_noise(rng, int(seconds * CR) + 1, CR, 0.5), sr, seconds)
        bellows *= 1 - 0.15 * (0.5 + 0.5 * np.cos(2 * np.pi * tt / rng.uniform(2, 4))) ** 8
        return y * env * bellows
    if timbre == "voice":
        jitter = 1 + 0.004 * to_audio(lowpass_noise(rng, int(seconds * CR) + 1, CR, 40), sr, seconds)
        fr = f0 * jitter
        src = -poly_blep_saw(np.cumsum(fr / sr), np.minimum(fr / sr, 0.45))
        tilt = rng.uniform(0.6, 0.9)
        src = signal.lfilter([1 - tilt], [1, -tilt], src)
        src = src / (np.std(src) + 1e-9) + 10 ** (rng.uniform(-30, -18) / 20) * rng.standard_normal(n)
        vowels = {"a": (730, 1090, 2440, 3400), "aa": (800, 1200, 2600, 3500), "e": (530, 1840, 2480, 3500),
                  "i": (300, 2200, 3000, 3700), "o": (570, 840, 2410, 3300), "u": (320, 870, 2240, 3300),
                  "ae": (660, 1700, 2400, 3400)}
        scale = 1.0 if tonic < 170 else rng.uniform(1.08, 1.2)
        names = list(vowels)
        picks = rng.choice(len(names), size=rng.integers(2, 4), replace=False)
        outs = []
        for p in picks:
            fm = vowels[names[p]]
            v = np.zeros(n)
            for j, f in enumerate(fm):
                b, a = biquad("bp", f * scale, sr, q=f * scale / rng.uniform(60, 140))
                v += signal.lfilter(b, a, src) * (0.55 ** j) * (1.5 if j == 0 else 1)
            outs.append(v)
        # vowel changes per phrase, crossfaded
        pid = phrase_a
        choice = np.array([rng.integers(len(outs)) for _ in range(pid.max() + 2)])
        wsel = np.zeros((len(outs), n))
        wsel[choice[pid], np.arange(n)] = 1
        k = int(0.06 * sr)
        wsel = np.stack([moving_avg(r, k) for r in wsel])
        y = sum(wsel[i] * outs[i] for i in range(len(outs)))
        return y * env
    if timbre == "bowed":
        y = poly_blep_saw(phase, np.minimum(dt, 0.45))
        y += 0.3 * poly_blep_saw(phase * 1.0 + 0.37, np.minimum(dt, 0.45)) * rng.uniform(0, 1)
        bow = rng.standard_normal(n)
        b, a = signal.butter(2, [1000 / (sr / 2), min(0.95, 6000 / (sr / 2))], "band")
        y += 10 ** (rng.uniform(-28, -16) / 20) * signal.lfilter(b, a, bow) * 3
        for _ in range(int(rng.integers(5, 9))):
            bq, aq = biquad("peak", rng.uniform(250, 4000), sr, rng.uniform(3, 12), rng.uniform(2, 8))
            y = signal.lfilter(bq, aq, y)
        b, a = signal.butter(2, rng.uniform(3000, 7000) / (sr / 2))
        y = signal.lfilter(b, a, y)
        y = y * env
        if rng.random() < 0.6:  # sarangi-like sympathetic strings
            ir = comb_ir(sr, [tonic, tonic * 2, tonic * 1.5], rng.uniform(1.0, 2.5), 1.2, rng)
            y = y + 0.15 * signal.fftconvolve(y, ir)[:n] / (np.sqrt(np.sum(ir ** 2)) + 1e-9)
        return y
    if timbre == "whistle":
        ph2 = 2 * np.pi * phase
        y = np.sin(ph2) + rng.uniform(0, 0.15) * np.sin(2 * ph2) + rng.uniform(0, 0.08) * np.sin(3 * ph2)
        return y * env
    raise ValueError(timbre)


TIMBRE_ENV = {  # attack s, release s, articulation dip range
    "pluck": (0.005, 0.1, (0, 0)),
    "bansuri": ((0.03, 0.12), (0.05, 0.2), (0.3, 0.9)),
    "harmonium": ((0.02, 0.06), (0.03, 0.1), (0.2, 0.8)),
    "voice": ((0.05, 0.15), (0.08, 0.3), (0.05, 0.4)),
    "bowed": ((0.05, 0.2), (0.05, 0.25), (0.2, 0.6)),
    "whistle": ((0.02, 0.1), (0.03, 0.2), (0.0, 0.2)),
}


# ============================================================== drones
def drone_pitches(g, tonic):
    if "P" in g.cents:
        first = tonic * 2 ** (7 / 12) / 2
    elif "m" in g.cents:
        first = tonic * 2 ** (5 / 12) / 2
    else:
        ni = "N" if "N" in g.cents else "n"
        first = tonic * 2 ** (SWARA_CENTS[ni] / 1200) / 2
    return [first, tonic, tonic, tonic / 2]


def render_drone(kind, g, tonic, sr, seconds, rng):
    n = int(seconds * sr)
    freqs = drone_pitches(g, tonic)
    if kind == "tanpura":
        y = np.zeros(n)
        cycle = rng.uniform(3.0, 5.5)
        t = -rng.uniform(0, cycle)
        k = 0
        while t < seconds:
            for i, f in enumerate(freqs):
                ts = t + i * cycle / 4 * rng.uniform(0.9, 1.1)
                if ts >= seconds:
                    break
                a = max(0, int(ts * sr))
                skip = max(0, -int(ts * sr))
                m = min(n - a, int(7.0 * sr))
                if m <= 0:
                    continue
                f0 = np.full(m + skip, f * 2 ** (rng.normal(0, 2) / 1200))
                s = ks_read(rng, f0, sr, rng.uniform(3.0, 7.0), rng.uniform(0.5, 0.9), 0.4, rng.uniform(0.03, 0.1))
                s = s[skip:]
                env_t = np.arange(len(s)) / sr
                # jawari: one-sided bridge contact, threshold rising as the string decays
                thr = 0.15 + 0.5 * (1 - np.exp(-env_t / rng.uniform(0.5, 1.5)))
                pk = np.max(np.abs(s)) + 1e-9
                sn = s / pk
                sn = np.where(sn > thr, thr + (sn - thr) * 0.15, sn)
                s = sn * pk
                y[a:a + len(s)] += s * (1.3 if i == 3 else 1.0)
            t += cycle
            k += 1
        b, a = signal.butter(1, 60 / (sr / 2), "high")
        return signal.lfilter(b, a, y)
    if kind == "shrutibox":
        y = np.zeros(n)
        for f, gain in ((tonic, 1.0), (freqs[0] * 2, 0.7), (tonic / 2, 0.5 * rng.random())):
            fr = f * 2 ** (rng.uniform(-4, 4) / 1200)
            ph = np.cumsum(np.full(n, fr / sr)) + rng.uniform(0, 1)
            y += gain * pulse(ph, np.full(n, fr / sr), rng.uniform(0.15, 0.45))
        b, a = signal.butter(2, rng.uniform(1200, 3500) / (sr / 2))
        y = signal.lfilter(b, a, y)
        bel = 1 + 0.1 * to_audio(lowpass_noise(rng, int(seconds * CR) + 1, CR, 0.3), sr, seconds)
        return y * bel
    if kind == "etanpura":
        # short additive loop, repeated exactly (as a cheap electronic tanpura does)
        loop_s = rng.uniform(2.0, 4.0)
        m = int(loop_s * sr)
        tl = np.arange(m) / sr
        loop = np.zeros(m)
        for i, f in enumerate(freqs):
            t0 = i * loop_s / 4
            te = (tl - t0) % loop_s
            env = np.exp(-te / rng.uniform(0.8, 1.6)) * (1 - np.exp(-te / 0.005))
            for h in range(1, 16):
                if f * h > sr / 2.2:
                    break
                amp = (1 / h) * (1 + 0.8 * np.sin(h * 0.9 + i))
                loop += env * amp * np.sin(2 * np.pi * f * h * tl + h) * np.exp(-te * h * 0.08)
        reps = int(np.ceil(n / m))
        return np.tile(loop, reps)[:n]
    raise ValueError(kind)


# ============================================================== room / channel
def room(x, sr, rt60, rng):
    if rt60 < 0.08:
        return x
    n = int(sr * min(rt60 * 1.1, 1.8))
    t = np.arange(n) / sr
    noise = rng.standard_normal(n)
    b, a = signal.butter(2, rng.uniform(1500, 5000) / (sr / 2))
    lo = signal.lfilter(b, a, noise)
    hi = noise - lo
    ir = lo * 10 ** (-3 * t / rt60) + hi * 10 ** (-3 * t / (rt60 * rng.uniform(0.35, 0.7)))
    ir *= 1 - np.exp(-t / 0.004)
    for _ in range(int(rng.integers(3, 8))):  # early reflections
        k = int(rng.uniform(0.003, 0.04) * sr)
        ir[k] += rng.uniform(-1, 1) * 3
    pre = int(rng.uniform(0.002, 0.02) * sr)
    ir = np.concatenate([np.zeros(pre), ir])
    ir /= np.sqrt(np.sum(ir ** 2)) + 1e-9
    wet = signal.fftconvolve(x, ir)[: len(x)]
    mix = rng.uniform(0.2, 0.8)
    return (1 - mix) * x + mix * wet * (np.std(x) / (np.std(wet) + 1e-9))


def channel(x, sr, rng, snr_db):
    for _ in range(int(rng.integers(1, 5))):
        kind = rng.choice(["peak", "peak", "low", "high"])
        f = {"peak": rng.uniform(100, 6000), "low": rng.uniform(80, 400), "high": rng.uniform(2000, 8000)}[kind]
        b, a = biquad(kind, f, sr, rng.uniform(-9, 9), rng.uniform(0.5, 2.5) if kind == "peak" else 0.7)
        x = signal.lfilter(b, a, x)
    if rng.random() < 0.2:  # band-limited channel
        b, a = signal.butter(2, [rng.uniform(80, 250) / (sr / 2), min(0.95, rng.uniform(3500, 8000) / (sr / 2))], "band")
        x = signal.lfilter(b, a, x)
    n = len(x)
    kind = rng.choice(["white", "pink", "brown", "hum"])
    if kind == "white":
        nz = rng.standard_normal(n)
    elif kind == "pink":
        X = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(X))
        f[0] = 1
        nz = np.fft.irfft(X / np.sqrt(f), n=n)
    elif kind == "brown":
        nz = np.cumsum(rng.standard_normal(n))
        b, a = signal.butter(1, 20 / (sr / 2), "high")
        nz = signal.lfilter(b, a, nz)
    else:
        base = rng.choice([50.0, 60.0])
        t = np.arange(n) / sr
        nz = sum((1.0 / h ** rng.uniform(0.5, 1.5)) * (1.5 if h % 2 else 1) * np.sin(2 * np.pi * base * h * t + rng.uniform(0, 6))
                 for h in range(1, 12)) + 0.1 * rng.standard_normal(n)
    p_sig = np.mean(x ** 2)
    nz *= np.sqrt(p_sig / (np.mean(nz ** 2) + 1e-12) / 10 ** (snr_db / 10))
    x = x + nz
    proc = "none"
    if rng.random() < 0.15:  # compressor
        proc = "comp"
        k = int(0.05 * sr)
        env = np.sqrt(np.maximum(moving_avg(x ** 2, k), 0)) + 1e-9
        thr = np.percentile(env, 50)
        ratio = rng.uniform(2, 6)
        gain = np.where(env > thr, (env / thr) ** (1 / ratio - 1), 1.0)
        x = x * gain
    x = x / (np.max(np.abs(x)) + 1e-9)
    if rng.random() < 0.15:  # soft clipping
        proc = "clip" if proc == "none" else proc + "+clip"
        drive = rng.uniform(1.5, 4)
        x = np.tanh(drive * x) / np.tanh(drive)
    peak = 10 ** (rng.uniform(-20, -0.5) / 20)
    return x / (np.max(np.abs(x)) + 1e-9) * peak, kind, proc


# ============================================================== clip
def render_clip(raga_id, rng, seconds, force=None):
    force = force or {}
    sr = int(rng.choice([22050, 44100]))
    sr = int(force.get("sr", sr))
    tonic = float(np.exp(rng.uniform(np.log(100), np.log(280))))
    timbre = str(rng.choice(TIMBRES, p=TIMBRE_P))
    timbre = force.get("timbre", timbre)
    g = Grammar(raga_id, rng, quantise=(timbre == "harmonium"))
    r = rng.random()
    if r < 0.3:
        style = dict(alap=True, bpm=float(rng.uniform(30, 55)))
    elif r < 0.75:
        style = dict(alap=False, bpm=float(rng.uniform(55, 100)))
    else:
        style = dict(alap=False, bpm=float(rng.uniform(100, 170)))
    hind = not g.carnatic
    style["meend_p"] = (0.35 if hind else 0.2) * (1.6 if style["alap"] else 1)
    style["kan_p"] = 0.12 if hind else 0.08
    style["rest_p"] = 0.7 if style["alap"] else 0.45
    events = compose(g, rng, seconds, style)
    cents_c, amp_c, pid_c, onsets = build_curves(events, g, rng, seconds, timbre)
    at, rl, dip = TIMBRE_ENV[timbre]
    att = rng.uniform(*at) if isinstance(at, tuple) else at
    rel = rng.uniform(*rl) if isinstance(rl, tuple) else rl
    amp_c = shape_amp(amp_c, onsets, rng, att, rel, rng.uniform(*dip), seconds)
    cents_a = to_audio(cents_c, sr, seconds)
    amp_a = to_audio(amp_c, sr, seconds)
    n = len(cents_a)
    pid_a = pid_c[np.minimum((np.arange(n) / sr * CR).astype(int), len(pid_c) - 1)]
    mel = render_melody(timbre, cents_a, amp_a, pid_a, onsets, tonic, sr, seconds, rng, g)
    mel /= np.sqrt(np.mean(mel ** 2)) + 1e-9
    drone = "none"
    use_drone = rng.random() < 0.8
    kind = str(rng.choice(["tanpura", "tanpura", "shrutibox", "etanpura"]))
    if "drone" in force:
        use_drone, kind = force["drone"] != "none", force["drone"]
    if use_drone:
        drone = kind
        d = render_drone(drone, g, tonic, sr, seconds, rng)
        d /= np.sqrt(np.mean(d ** 2)) + 1e-9
        mel = mel + d * 10 ** (rng.uniform(-25, -6) / 20)
    rt60 = float(rng.uniform(0, 1.5)) if rng.random() < 0.85 else 0.0
    if rt60 < 0.08:
        rt60 = 0.0
    snr = float(rng.uniform(15, 45))
    if force.get("clean"):
        x, noise_kind, proc, rt60, snr = mel / np.max(np.abs(mel)) * 0.5, "none", "none", 0.0, 99.0
    else:
        x = room(mel, sr, rt60, rng)
        x, noise_kind, proc = channel(x, sr, rng, snr)
    assert np.all(np.isfinite(x))
    meta = dict(tonic_hz=round(tonic, 2), timbre=timbre, drone=drone, tempo_bpm=round(style["bpm"], 1),
                snr_db=round(snr, 1), rt60_s=round(rt60, 2), sample_rate=sr, noise=noise_kind, proc=proc)
    meta["events"] = events
    return x, sr, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-raga", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ragas", default=",".join(RAGAS), help="comma-separated subset")
    ap.add_argument("--sample-rate", type=int, help="force one rate (diagnosis); the melody and most "
                    "sound choices stay those of the seed")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    t_all = time.time()
    raga_ids = list(RAGAS)
    for ri, raga_id in enumerate(raga_ids):
        if raga_id not in args.ragas.split(","):
            continue
        t0 = time.time()
        os.makedirs(os.path.join(args.out, raga_id), exist_ok=True)
        for k in range(args.per_raga):
            rng = np.random.default_rng([args.seed, ri, k])
            force = {"sr": args.sample_rate} if args.sample_rate else None
            x, sr, meta = render_clip(raga_id, rng, args.seconds, force)
            rel = f"{raga_id}/{raga_id}_{k:03d}.wav"
            pcm = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
            wavfile.write(os.path.join(args.out, rel), sr, pcm)
            rows.append(dict(file=rel, raga=raga_id, tradition=RAGAS[raga_id]["tradition"], split="test",
                             tonic_hz=meta["tonic_hz"], timbre=meta["timbre"], drone=meta["drone"],
                             tempo_bpm=meta["tempo_bpm"], snr_db=meta["snr_db"], rt60_s=meta["rt60_s"],
                             sample_rate=sr))
        print(f"{raga_id:18s} {args.per_raga} clips  {time.time() - t0:5.1f} s", flush=True)
    fields = ["file", "raga", "tradition", "split", "tonic_hz", "timbre", "drone", "tempo_bpm", "snr_db",
              "rt60_s", "sample_rate"]
    with open(os.path.join(args.out, "metadata.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} clips to {args.out} in {time.time() - t_all:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
