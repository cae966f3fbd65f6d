//! Melody instruments: voice, plucked string, reed and bowed string, each an additive
//! oscillator bank driven by the F0 contour, with randomised spectra and articulations.

use serde::{Deserialize, Serialize};

use crate::SAMPLE_RATE;
use crate::melody::{Hints, Melody};
use crate::rng::{self, Rng};

/// The melody instrument of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timbre {
    /// Singing voice: glottal-like source through 3–5 vowel formants, with breath noise.
    Voice,
    /// Sitar / veena / sarod-like: re-plucked decaying partials, optional jawari buzz.
    PluckedString,
    /// Shehnai / nadaswaram / clarinet-like: odd/even harmonic balance, nasal resonance.
    Reed,
    /// Violin / sarangi-like: sawtooth-like source, body resonances, bow noise.
    Bowed,
}

impl Timbre {
    /// Every timbre, in a fixed order.
    pub const ALL: [Timbre; 4] = [Timbre::Voice, Timbre::PluckedString, Timbre::Reed, Timbre::Bowed];

    /// Snake-case name, as in metadata files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Timbre::Voice => "voice",
            Timbre::PluckedString => "plucked_string",
            Timbre::Reed => "reed",
            Timbre::Bowed => "bowed",
        }
    }
}

/// Melody level (relative to a full note) at or above which a frame counts as voiced.
pub(crate) const VOICED_LEVEL: f32 = 0.12;

/// Samples between spectrum updates.
const BLOCK: usize = 32;

/// A synthesised melody: audio and, per sample, how loud the melody really is (0..1).
#[derive(Debug, Clone)]
pub(crate) struct Synth {
    pub audio: Vec<f32>,
    pub level: Vec<f32>,
}

/// A spectral peak: centre Hz, half-width Hz, gain (linear, added to 1).
#[derive(Debug, Clone, Copy)]
struct Peak {
    hz: f32,
    width: f32,
    gain: f32,
}

/// Spectral envelope from peaks (a formant or body response), evaluated at `hz`.
fn envelope(peaks: &[Peak], floor: f32, hz: f32) -> f32 {
    let mut e = floor;
    for p in peaks {
        let x = (hz - p.hz) / p.width;
        e += p.gain / (1.0 + x * x);
    }
    e
}

/// Vowel formant frequencies (F1, F2, F3), adult male.
const VOWELS: [[f32; 3]; 6] = [
    [730.0, 1090.0, 2440.0], // a
    [530.0, 1840.0, 2480.0], // e
    [300.0, 2200.0, 2950.0], // i
    [570.0, 840.0, 2410.0],  // o
    [320.0, 870.0, 2240.0],  // u
    [500.0, 1500.0, 2500.0], // schwa
];

/// A randomised instrument of one timbre.
#[derive(Debug, Clone)]
pub(crate) struct Instrument {
    timbre: Timbre,
    /// Spectral tilt exponent: partial k has amplitude k^-tilt before resonances.
    tilt: f32,
    /// Most partials to synthesise.
    max_partials: usize,
    /// Gain of even partials (reed odd/even balance; 1 elsewhere).
    even: f32,
    /// Resonances: formants (voice), bell (reed), body (bowed, plucked).
    peaks: Vec<Peak>,
    /// Envelope floor under the peaks (how much of the raw source passes).
    floor: f32,
    /// Noise level relative to the tone (breath, bow).
    noise: f32,
    /// Articulation dip depth (0..1) and length in seconds.
    dip: (f32, f32),
    /// Plucked: decay time of the fundamental (s), extra damping of upper partials,
    /// pluck position, buzz amount, partial stretch (inharmonicity B).
    pluck: Pluck,
    /// Vowel change probability per articulation (voice).
    vowel_change: f32,
    hints: Hints,
}

#[derive(Debug, Clone, Copy)]
struct Pluck {
    tau: f32,
    damping: f32,
    position: f32,
    buzz: f32,
    stretch: f32,
}

impl Instrument {
    /// Draws an instrument of `timbre` with random parameters.
    pub(crate) fn random(timbre: Timbre, rng: &mut Rng) -> Self {
        let pluck = Pluck {
            tau: rng::uniform(rng, 0.8, 3.0),
            damping: rng::uniform(rng, 0.02, 0.15),
            position: rng::uniform(rng, 0.08, 0.3),
            buzz: if rng::chance(rng, 0.5) { rng::uniform(rng, 0.2, 1.0) } else { 0.0 },
            stretch: if rng::chance(rng, 0.6) { rng::log_uniform(rng, 1e-5, 4e-4) } else { 0.0 },
        };
        let base = Instrument {
            timbre,
            tilt: 1.0,
            max_partials: 30,
            even: 1.0,
            peaks: Vec::new(),
            floor: 1.0,
            noise: 0.0,
            dip: (0.0, 0.03),
            pluck,
            vowel_change: 0.0,
            hints: Hints { vibrato: 0.0, vibrato_cents: (6.0, 15.0), restrike_s: None },
        };
        match timbre {
            Timbre::Voice => {
                let scale = rng::uniform(rng, 0.95, 1.25);
                let vowel = VOWELS[rng::index(rng, VOWELS.len())];
                let n_formants = 3 + rng::index(rng, 3);
                let mut peaks = Vec::with_capacity(n_formants);
                for (i, f) in vowel.iter().chain(&[3400.0, 4200.0]).take(n_formants).enumerate() {
                    let hz = f * scale * rng::uniform(rng, 0.9, 1.1);
                    peaks.push(Peak {
                        hz,
                        width: rng::uniform(rng, 40.0, 110.0) * (1.0 + 0.4 * i as f32),
                        gain: 6.0 * crate::db_to_gain(-6.0 * i as f32 + rng::uniform(rng, -4.0, 4.0)),
                    });
                }
                Instrument {
                    tilt: rng::uniform(rng, 1.0, 1.8),
                    max_partials: 12 + rng::index(rng, 28),
                    peaks,
                    floor: rng::uniform(rng, 0.3, 0.8),
                    noise: rng::log_uniform(rng, 0.01, 0.12),
                    dip: (rng::uniform(rng, 0.1, 0.5), rng::uniform(rng, 0.03, 0.07)),
                    vowel_change: rng::uniform(rng, 0.0, 0.5),
                    hints: Hints {
                        vibrato: rng::uniform(rng, 0.0, 0.6),
                        vibrato_cents: (8.0, 20.0),
                        ..base.hints
                    },
                    ..base
                }
            }
            Timbre::PluckedString => {
                let peaks = body_peaks(rng, 3, (150.0, 3500.0));
                Instrument {
                    tilt: rng::uniform(rng, 0.5, 1.1),
                    max_partials: 16 + rng::index(rng, 20),
                    peaks,
                    floor: 1.0,
                    hints: Hints {
                        vibrato: rng::uniform(rng, 0.0, 0.2),
                        vibrato_cents: (5.0, 12.0),
                        restrike_s: if rng::chance(rng, 0.75) {
                            Some(rng::uniform64(rng, 0.6, 1.4))
                        } else {
                            None
                        },
                    },
                    ..base
                }
            }
            Timbre::Reed => {
                let bell = rng::uniform(rng, 900.0, 2600.0);
                Instrument {
                    tilt: rng::uniform(rng, 0.5, 1.2),
                    max_partials: 14 + rng::index(rng, 26),
                    even: if rng::chance(rng, 0.4) {
                        rng::uniform(rng, 0.1, 0.4)
                    } else {
                        rng::uniform(rng, 0.6, 1.0)
                    },
                    peaks: vec![
                        Peak {
                            hz: bell,
                            width: rng::uniform(rng, 200.0, 700.0),
                            gain: rng::uniform(rng, 1.0, 5.0),
                        },
                        Peak {
                            hz: bell * rng::uniform(rng, 1.8, 2.6),
                            width: rng::uniform(rng, 300.0, 900.0),
                            gain: rng::uniform(rng, 0.3, 2.0),
                        },
                    ],
                    floor: 1.0,
                    noise: rng::log_uniform(rng, 0.005, 0.05),
                    dip: (rng::uniform(rng, 0.2, 0.6), rng::uniform(rng, 0.02, 0.05)),
                    hints: Hints {
                        vibrato: rng::uniform(rng, 0.0, 0.4),
                        vibrato_cents: (6.0, 15.0),
                        ..base.hints
                    },
                    ..base
                }
            }
            Timbre::Bowed => {
                let count = 4 + rng::index(rng, 3);
                Instrument {
                    tilt: rng::uniform(rng, 0.8, 1.3),
                    max_partials: 20 + rng::index(rng, 20),
                    peaks: body_peaks(rng, count, (250.0, 3200.0)),
                    floor: rng::uniform(rng, 0.3, 1.0),
                    noise: rng::log_uniform(rng, 0.005, 0.04),
                    dip: (rng::uniform(rng, 0.15, 0.5), rng::uniform(rng, 0.015, 0.04)),
                    hints: Hints {
                        vibrato: rng::uniform(rng, 0.2, 0.8),
                        vibrato_cents: (8.0, 18.0),
                        ..base.hints
                    },
                    ..base
                }
            }
        }
    }

    /// What this instrument asks of the melody generator.
    pub(crate) fn melody_hints(&self) -> Hints {
        self.hints
    }

    /// Renders the melody with this instrument.
    pub(crate) fn synthesize(&self, melody: &Melody, rng: &mut Rng) -> Synth {
        let n = melody.f0.len();
        let sr = SAMPLE_RATE as f32;
        let mut audio = vec![0.0f32; n];
        let mut level = vec![0.0f32; n];
        let articulation = self.articulation(melody, n);

        if self.timbre == Timbre::PluckedString {
            self.plucked(melody, &mut audio, &mut level);
        } else {
            let mut peaks = self.peaks.clone();
            let mut targets = self.peaks.clone();
            let mut next_onset = 0usize;
            let mut partials = Bank::new(self.max_partials, 0.0);
            partials.render(&melody.f0, &mut audio, |start, f0, amps| {
                // Voice: a new syllable may bring a new vowel.
                if self.timbre == Timbre::Voice {
                    while next_onset < melody.onsets.len() && melody.onsets[next_onset].at <= start {
                        if rng::chance(rng, self.vowel_change) {
                            let v = VOWELS[rng::index(rng, VOWELS.len())];
                            for (t, f) in targets.iter_mut().zip(v) {
                                t.hz = f * rng::uniform(rng, 0.95, 1.25);
                            }
                        }
                        next_onset += 1;
                    }
                    for (p, t) in peaks.iter_mut().zip(&targets) {
                        p.hz += (t.hz - p.hz) * 0.05;
                    }
                }
                let e = melody.env.get(start).copied().unwrap_or(0.0);
                // Louder is brighter.
                let tilt = self.tilt - 0.35 * e;
                for (k, a) in amps.iter_mut().enumerate() {
                    let h = (k + 1) as f32;
                    let even = if (k + 1) % 2 == 0 { self.even } else { 1.0 };
                    *a = h.powf(-tilt) * even * envelope(&peaks, self.floor, h * f0);
                }
            });
            // Normalise the tone so a full note peaks near 1 whatever the spectrum.
            let peak = audio.iter().fold(0.0f32, |p, x| p.max(x.abs())).max(1e-9);
            let noise_color = OnePole::lowpass(rng::uniform(rng, 2000.0, 7000.0), sr);
            let mut nc = noise_color;
            for i in 0..n {
                let amp = melody.env[i] * articulation[i];
                let breath = self.noise * nc.process(rng::white(rng)) * (0.5 + melody.env[i]);
                audio[i] = amp * (audio[i] / peak + breath);
                level[i] = amp;
            }
        }
        Synth { audio, level }
    }

    /// Per-sample amplitude dips at articulations (syllables, bow changes, tonguing).
    fn articulation(&self, melody: &Melody, n: usize) -> Vec<f32> {
        let mut a = vec![1.0f32; n];
        let (depth, len) = self.dip;
        if depth <= 0.0 {
            return a;
        }
        let len_s = (len * SAMPLE_RATE as f32) as usize;
        for o in &melody.onsets {
            if o.strength >= 1.0 {
                continue; // phrase starts already have their attack
            }
            let d = depth * o.strength;
            let half = len_s / 2;
            let start = o.at.saturating_sub(half);
            let end = (start + len_s).min(n);
            for (j, v) in a[start..end].iter_mut().enumerate() {
                let x = j as f32 / len_s as f32;
                let w = 0.5 - 0.5 * (std::f32::consts::TAU * x).cos();
                *v = v.min(1.0 - d * w);
            }
        }
        a
    }

    /// Plucked string: partials excited at each onset and decaying at their own rates.
    fn plucked(&self, melody: &Melody, audio: &mut [f32], level: &mut [f32]) {
        let sr = SAMPLE_RATE as f32;
        let p = self.pluck;
        let k_max = self.max_partials;
        let excite: Vec<f32> = (1..=k_max)
            .map(|k| {
                let h = k as f32;
                ((std::f32::consts::PI * h * p.position).sin().abs() + 0.05) * h.powf(-self.tilt)
            })
            .collect();
        let full: f32 = excite.iter().map(|e| e * e).sum::<f32>().sqrt();
        let decay: Vec<f32> = (1..=k_max)
            .map(|k| {
                let rate = (1.0 / p.tau) * (1.0 + p.damping * ((k - 1) as f32).powf(1.5));
                (-rate * BLOCK as f32 / sr).exp()
            })
            .collect();
        let mut state = vec![0.0f32; k_max];
        let mut next = 0usize;
        let mut block_level = Vec::with_capacity(audio.len() / BLOCK + 1);
        let mut partials = Bank::new(k_max, p.stretch);
        partials.render(&melody.f0, audio, |start, f0, amps| {
            let end = start + BLOCK;
            while next < melody.onsets.len() && melody.onsets[next].at < end {
                let s = melody.onsets[next].strength.max(0.4);
                for (st, e) in state.iter_mut().zip(&excite) {
                    *st = *st * 0.3 + s * e;
                }
                next += 1;
            }
            let energy: f32 = state.iter().map(|x| x * x).sum::<f32>().sqrt();
            block_level.push(energy / full);
            for (k, a) in amps.iter_mut().enumerate() {
                let h = (k + 1) as f32;
                *a = state[k] * envelope(&self.peaks, 1.0, h * f0);
            }
            for (st, d) in state.iter_mut().zip(&decay) {
                *st *= d;
            }
        });
        let peak = audio.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-9);
        for (i, (x, l)) in audio.iter_mut().zip(level.iter_mut()).enumerate() {
            // The phrase envelope gates (attack is fast: a pluck), the pluck decays.
            let gate = (melody.env[i] * 4.0).min(1.0);
            let pl = block_level.get(i / BLOCK).copied().unwrap_or(0.0);
            let mut y = *x / peak;
            if p.buzz > 0.0 {
                // Jawari-like buzz: a harmonic-preserving waveshaper, stronger when loud.
                y = (y + p.buzz * y * y.abs()) / (1.0 + p.buzz);
            }
            *x = gate * y;
            *l = gate * pl.min(1.0);
        }
    }
}

/// Random resonances spread over `band` Hz (instrument body / bridge).
fn body_peaks(rng: &mut Rng, count: usize, band: (f32, f32)) -> Vec<Peak> {
    (0..count)
        .map(|_| {
            let hz = rng::log_uniform(rng, band.0, band.1);
            Peak { hz, width: hz * rng::uniform(rng, 0.05, 0.25), gain: rng::uniform(rng, 0.5, 4.0) }
        })
        .collect()
}

/// A one-pole low-pass filter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OnePole {
    a: f32,
    y: f32,
}

impl OnePole {
    /// Low-pass with cutoff `hz` at sample rate `sr`.
    pub(crate) fn lowpass(hz: f32, sr: f32) -> Self {
        OnePole { a: (-std::f32::consts::TAU * hz / sr).exp(), y: 0.0 }
    }

    /// Filters one sample.
    pub(crate) fn process(&mut self, x: f32) -> f32 {
        self.y = x + self.a * (self.y - x);
        self.y
    }
}

/// Complex product of (re, im) pairs.
#[inline]
fn cmul(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// A bank of partials locked to the integrated F0 phase (exact fundamental), optionally
/// stretched (partial k at k·f0·sqrt(1 + B(k²-1))).
struct Bank {
    /// Amplitudes, padded with zeros to a multiple of 4 partials.
    amps: Vec<f32>,
    /// Partials asked for (amps beyond are padding).
    partials: usize,
    /// Extra phase rotators of the stretched partials (re, im) and their per-sample step.
    rot: Vec<(f32, f32)>,
    step: Vec<(f32, f32)>,
    stretch: f32,
}

impl Bank {
    fn new(partials: usize, stretch: f32) -> Self {
        let padded = partials.max(1).div_ceil(4) * 4;
        Bank {
            amps: vec![0.0; padded],
            partials: partials.max(1),
            rot: vec![(1.0, 0.0); padded],
            step: vec![(1.0, 0.0); padded],
            stretch,
        }
    }

    /// Adds Σ_k a_k sin(k·φ) to `out`, where φ integrates `f0` and `spectrum(start, f0, amps)`
    /// sets the amplitudes once per block (partials above 0.45·sr are left out). The powers
    /// e^{ikφ} run as four interleaved chains (k mod 4) so the recurrences pipeline.
    fn render(&mut self, f0: &[f32], out: &mut [f32], mut spectrum: impl FnMut(usize, f32, &mut [f32])) {
        let sr = f64::from(SAMPLE_RATE);
        let nyq = 0.45 * SAMPLE_RATE as f32;
        let limit = self.partials;
        let mut phase = 0.0f64;
        for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
            let start = b * BLOCK;
            let fb = f0[start].max(1.0);
            let k_max = ((nyq / fb) as usize).clamp(1, limit);
            spectrum(start, fb, &mut self.amps[..k_max]);
            for (k, a) in self.amps[..k_max].iter_mut().enumerate() {
                let f = (k + 1) as f32 * fb;
                *a *= ((nyq - f) / (0.08 * SAMPLE_RATE as f32)).clamp(0.0, 1.0);
            }
            let groups = k_max.div_ceil(4);
            for a in &mut self.amps[k_max..groups * 4] {
                *a = 0.0;
            }
            let stretched = self.stretch > 0.0;
            if stretched {
                for k in 1..k_max {
                    let h = (k + 1) as f64;
                    let extra =
                        h * f64::from(fb) * ((1.0 + f64::from(self.stretch) * (h * h - 1.0)).sqrt() - 1.0);
                    let (s, c) = (std::f64::consts::TAU * extra / sr).sin_cos();
                    self.step[k] = (c as f32, s as f32);
                    let (re, im) = self.rot[k];
                    let norm = (re * re + im * im).sqrt().max(1e-6);
                    self.rot[k] = (re / norm, im / norm);
                }
            }
            let amps = &self.amps[..groups * 4];
            for (i, y) in chunk.iter_mut().enumerate() {
                let (s, c) = (std::f32::consts::TAU * phase as f32).sin_cos();
                let z1 = (c, s);
                let z2 = cmul(z1, z1);
                let z4 = cmul(z2, z2);
                let mut chains = [z1, z2, cmul(z2, z1), z4];
                let mut acc = [0.0f32; 4];
                if stretched {
                    for (g, a4) in amps.chunks_exact(4).enumerate() {
                        for j in 0..4 {
                            let k = 4 * g + j;
                            let (z, r) = (chains[j], self.rot[k]);
                            acc[j] += a4[j] * (z.0 * r.1 + z.1 * r.0);
                            self.rot[k] = cmul(r, self.step[k]);
                            chains[j] = cmul(z, z4);
                        }
                    }
                } else {
                    for a4 in amps.chunks_exact(4) {
                        for j in 0..4 {
                            acc[j] += a4[j] * chains[j].1;
                            chains[j] = cmul(chains[j], z4);
                        }
                    }
                }
                *y += (acc[0] + acc[1]) + (acc[2] + acc[3]);
                phase += f64::from(f0[start + i]) / sr;
                if phase >= 1.0 {
                    phase -= 1.0;
                }
            }
        }
    }
}
