//! Turns timed, ornamented notes into per-sample F0 and amplitude contours.

use super::{Hints, Orn, Phrase, Timed};
use crate::{F0_RANGE_HZ, SAMPLE_RATE};

/// An articulation: where an instrument re-attacks (re-pluck, bow change, tongue, syllable).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Onset {
    /// Sample index.
    pub at: usize,
    /// Strength 0..1 (1 = phrase start).
    pub strength: f32,
}

/// The melody as the instruments consume it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Melody {
    /// F0 per sample in Hz; always inside [`F0_RANGE_HZ`] (held through rests so the
    /// oscillators stay continuous).
    pub f0: Vec<f32>,
    /// Amplitude per sample, 0..1; 0 in rests.
    pub env: Vec<f32>,
    /// Articulations in time order.
    pub onsets: Vec<Onset>,
    /// Beat rate the phrases were timed with.
    pub tempo_bpm: f32,
}

/// Pitch offset in cents of an ornament `lt` seconds into a note of length `dur`.
fn ornament_cents(orn: Orn, lt: f64) -> f64 {
    use std::f64::consts::TAU;
    match orn {
        Orn::None => 0.0,
        Orn::Vibrato { rate, cents, fade } => {
            let ramp = (lt / f64::from(fade)).min(1.0);
            f64::from(cents) * ramp * (TAU * f64::from(rate) * lt).sin()
        }
        Orn::Andolan { rate, cents, phase } => {
            let ramp = (lt / 0.15).min(1.0);
            // `phase` is 0 or π: the swing starts on the note, going up or down.
            f64::from(cents) * ramp * (TAU * f64::from(rate) * lt + f64::from(phase)).sin()
        }
        Orn::Kampita { rate, cents, cycles, sharp, from_other } => {
            let rate = f64::from(rate);
            let len = (f64::from(cycles) + if from_other { 0.5 } else { 0.0 }) / rate;
            if lt >= len {
                return 0.0;
            }
            let phase = if from_other { std::f64::consts::PI } else { 0.0 };
            let mut u = 0.5 - 0.5 * (TAU * rate * lt + phase).cos();
            for _ in 0..sharp {
                u = u * u * (3.0 - 2.0 * u);
            }
            f64::from(cents) * u
        }
    }
}

/// Pitch in cents of a note `lt` seconds in, before the glide from the previous note.
fn note_cents(note: &Timed, lt: f64) -> f64 {
    f64::from(note.cents) + ornament_cents(note.orn, lt)
}

/// Raised-cosine ramp 0→1 over `len` seconds.
fn ramp(x: f64, len: f64) -> f64 {
    if len <= 0.0 || x >= len {
        1.0
    } else if x <= 0.0 {
        0.0
    } else {
        0.5 - 0.5 * (std::f64::consts::PI * x / len).cos()
    }
}

/// Renders phrases into per-sample contours for a clip of `n` samples.
pub(crate) fn render(phrases: &[Phrase], tonic_hz: f32, n: usize, tempo_bpm: f32, hints: &Hints) -> Melody {
    let sr = f64::from(SAMPLE_RATE);
    let tonic = f64::from(tonic_hz);
    let (f_lo, f_hi) = (F0_RANGE_HZ.0 + 2.0, F0_RANGE_HZ.1 - 10.0);
    let mut f0 = vec![0.0f32; n];
    let mut gain = vec![0.0f32; n];
    let mut onsets = Vec::new();

    for phrase in phrases {
        let Some(first) = phrase.notes.first() else {
            continue;
        };
        let Some(last) = phrase.notes.last() else {
            continue;
        };
        let (p0, p1) = (first.t0, last.t0 + last.dur);
        let mut prev_end: Option<f64> = None;
        for note in &phrase.notes {
            let s0 = (note.t0 * sr).round() as usize;
            let s1 = (((note.t0 + note.dur) * sr).round() as usize).min(n);
            if s0 >= n {
                break;
            }
            if note.onset > 0.0 {
                onsets.push(Onset { at: s0, strength: note.onset });
            }
            if let Some(every) = hints.restrike_s {
                let mut t = every;
                while t < note.dur - 0.3 * every {
                    let at = ((note.t0 + t) * sr).round() as usize;
                    if at < n {
                        onsets.push(Onset { at, strength: 0.6 });
                    }
                    t += every;
                }
            }
            let from = prev_end.unwrap_or_else(|| note_cents(note, 0.0));
            for i in s0..s1 {
                let t = i as f64 / sr;
                let lt = t - note.t0;
                let target = note_cents(note, lt);
                let cents = if lt < note.glide {
                    from + (target - from) * note.shape.at(lt / note.glide)
                } else {
                    target
                };
                let hz = tonic * (cents / 1200.0).exp2();
                f0[i] = (hz as f32).clamp(f_lo, f_hi);
                let env = ramp(t - p0, phrase.attack) * ramp(p1 - t, phrase.release);
                gain[i] = note.gain * env as f32;
            }
            prev_end = Some(note_cents(note, note.dur));
        }
    }

    // Smooth the dynamics (no steps between notes), keep silence silent.
    let k = (-1.0 / (0.03 * sr)).exp() as f32;
    let mut state = 0.0f32;
    for g in &mut gain {
        state = *g + k * (state - *g);
        *g = if *g == 0.0 && state < 1e-4 { 0.0 } else { state };
    }

    // Hold pitch through rests so oscillators never see 0 Hz.
    let first = f0.iter().copied().find(|v| *v > 0.0).unwrap_or(tonic_hz);
    let mut held = first;
    for v in &mut f0 {
        if *v > 0.0 {
            held = *v;
        } else {
            *v = held;
        }
    }
    onsets.sort_by_key(|o| o.at);

    Melody { f0, env: gain, onsets, tempo_bpm }
}
