"""Writes librosa's log-mel of every fixture clip, the reference our DSP must match.

Run via tests/reference/make_fixtures.sh. For each tests/fixtures/<name>.wav it writes
<name>.librosa-logmel.f32 (little-endian float32, frames × 128, row-major) and
<name>.librosa.json (shape, librosa version, settings).
"""
import json
import pathlib
import sys

import librosa
import numpy as np
import soundfile as sf

fixtures = pathlib.Path(sys.argv[1])
for wav in sorted(fixtures.glob("*.wav")):
    y, sr = sf.read(wav, dtype="float32")
    assert sr == 22050 and y.ndim == 1, f"{wav}: fixtures are 22050 Hz mono"
    mel = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128)
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    frames = db.T.astype("<f4")  # frames × mels
    frames.tofile(wav.with_suffix(".librosa-logmel.f32"))
    meta = {
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "frames": int(frames.shape[0]),
        "n_mels": int(frames.shape[1]),
        "call": "librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128), ref=1.0, amin=1e-10, top_db=80)",
    }
    wav.with_suffix(".librosa.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{wav.name}: {frames.shape[0]} frames")
