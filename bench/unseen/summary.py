#!/usr/bin/env python3
"""Score `ragasense classify --json` output against an unseen-renderer corpus.

python summary.py --corpus DIR PRED.jsonl [PRED.jsonl ...]
"""
import argparse
import csv
import json
import math
import os
from collections import defaultdict


def tonic_err_cents(pred_hz, true_hz):
    """Signed error in cents modulo the octave, in (-600, 600]."""
    if not pred_hz or pred_hz <= 0:
        return float("nan")
    c = (1200 * math.log2(pred_hz / true_hz)) % 1200
    return c - 1200 if c > 600 else c


def table(title, groups):
    print(f"\n{title}")
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        hits = groups[key]
        print(f"  {key:20s} {sum(hits):3d}/{len(hits):<3d} {100 * sum(hits) / len(hits):5.1f}%")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("preds", nargs="+")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    with open(os.path.join(corpus, "metadata.csv")) as f:
        meta = {r["file"]: r for r in csv.DictReader(f)}
    preds = {}
    for p in args.preds:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                a = json.loads(line)
                rel = os.path.relpath(os.path.abspath(a["file"]), corpus)
                preds[rel] = a
    missing = [k for k in meta if k not in preds]
    rows = []
    for k, m in meta.items():
        if k not in preds:
            continue
        a = preds[k]
        rows.append(dict(m, pred=a["raga"], conf=a.get("confidence", float("nan")),
                         terr=tonic_err_cents(a.get("tonic_hz"), float(m["tonic_hz"]))))
    n = len(rows)
    hits = [r["pred"] == r["raga"] for r in rows]
    print(f"clips scored: {n} of {len(meta)}" + (f"  (MISSING {len(missing)}: {missing[:5]}...)" if missing else ""))
    print(f"overall top-1 accuracy: {sum(hits)}/{n} = {100 * sum(hits) / max(1, n):.1f}%")
    terrs = [abs(r["terr"]) for r in rows if not math.isnan(r["terr"])]
    ok_t = [t < 50 for t in terrs]
    print(f"tonic within 50 cents (mod octave): {sum(ok_t)}/{len(terrs)} = {100 * sum(ok_t) / max(1, len(terrs)):.1f}%")
    right_tonic = [r["pred"] == r["raga"] for r in rows if abs(r["terr"]) < 50]
    wrong_tonic = [r["pred"] == r["raga"] for r in rows if not abs(r["terr"]) < 50]
    if right_tonic:
        print(f"  accuracy when tonic right: {100 * sum(right_tonic) / len(right_tonic):.1f}% ({len(right_tonic)})")
    if wrong_tonic:
        print(f"  accuracy when tonic wrong: {100 * sum(wrong_tonic) / len(wrong_tonic):.1f}% ({len(wrong_tonic)})")
    for col, title in (("tradition", "per tradition"), ("timbre", "per timbre"), ("drone", "per drone"),
                       ("sample_rate", "per sample rate"), ("raga", "per raga")):
        g = defaultdict(list)
        for r, h in zip(rows, hits):
            g[r[col]].append(h)
        table(title, g)
    g = defaultdict(list)
    for r, h in zip(rows, hits):
        b = float(r["snr_db"])
        g["snr<25" if b < 25 else "snr 25-35" if b < 35 else "snr>=35"].append(h)
    table("per SNR band", g)
    g = defaultdict(list)
    for r, h in zip(rows, hits):
        b = float(r["rt60_s"])
        g["dry" if b == 0 else "rt60<0.75" if b < 0.75 else "rt60>=0.75"].append(h)
    table("per reverb", g)
    print("\nmisses (true -> predicted, confidence, tonic error in cents mod octave, timbre, drone):")
    for r in sorted(rows, key=lambda r: (r["raga"], r["file"])):
        if r["pred"] != r["raga"]:
            print(f"  {r['file']:36s} {r['raga']:16s} -> {r['pred']:16s} p={r['conf']:.2f} "
                  f"tonic {r['terr']:+6.0f}c  {r['timbre']}/{r['drone']}")
    conf = defaultdict(int)
    for r in rows:
        if r["pred"] != r["raga"]:
            conf[(r["raga"], r["pred"])] += 1
    if conf:
        print("\nconfusion pairs (count):")
        for (t, p), c in sorted(conf.items(), key=lambda kv: -kv[1]):
            print(f"  {c:3d}  {t} -> {p}")


if __name__ == "__main__":
    main()
