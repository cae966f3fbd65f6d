#!/usr/bin/env bash
# Regenerates the committed DSP fixtures: a few real clips (speech from espeak-ng, a sox
# pluck chord with noise, a sung-like glide) at 22050 Hz mono, and librosa's log-mel of each.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/tests/fixtures"
command -v espeak-ng >/dev/null && command -v sox >/dev/null || { apt-get update -qq; apt-get install -y -qq espeak-ng sox >/dev/null; }
source "$root/tests/reference/venv.sh"
mkdir -p "$out"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en -s 140 -w "$tmp/speech.wav" "Raga sense listens for the tonic, then follows the melody as it moves."
sox "$tmp/speech.wav" -r 22050 -c 1 -b 16 "$out/speech.wav"
sox -n -r 22050 -c 1 -b 16 "$out/pluck_chord.wav" synth 3 pluck C3 pluck G3 pluck C4 pluck E4 \
    synth 3 whitenoise mix 0.1 gain -6 fade 0 3 0.3
sox -n -r 22050 -c 1 -b 16 "$out/glide.wav" synth 3 sawtooth 147-294 synth 3 sine amod 5 gain -8 reverb 30
"$REF_PY" "$root/tests/reference/make_fixtures.py" "$out"
