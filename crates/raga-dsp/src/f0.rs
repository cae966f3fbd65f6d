//! Probabilistic YIN (pYIN, Mauch & Dixon 2014): per-frame F0 candidates from the YIN
//! difference function under a Beta prior on thresholds, then Viterbi decoding over pitch
//! bins and voicing, on the same centred frame grid as the log-mel.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;
use serde::{Deserialize, Serialize};

use crate::DspError;

/// pYIN settings (defaults are librosa's `pyin` defaults with fmin 60 Hz, fmax 1000 Hz).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct F0Config {
    /// Lowest F0 searched, Hz.
    pub fmin: f64,
    /// Highest F0 searched, Hz.
    pub fmax: f64,
    /// Frame length in samples (frames are centred, like the STFT's).
    pub frame_length: usize,
    /// Window of the difference function; `None` means `frame_length / 2`.
    pub win_length: Option<usize>,
    /// Hop between frames.
    pub hop_length: usize,
    /// Number of YIN thresholds the Beta prior is spread over.
    pub n_thresholds: usize,
    /// Beta prior parameters (integers, as in the paper's (2, 18)).
    pub beta: (u32, u32),
    /// Boltzmann parameter favouring earlier (higher-pitched) troughs.
    pub boltzmann: f64,
    /// Pitch-bin width in semitones.
    pub resolution: f64,
    /// Fastest pitch change the HMM allows, octaves per second.
    pub max_transition_rate: f64,
    /// Probability of switching between voiced and unvoiced per frame.
    pub switch_prob: f64,
    /// Probability mass given to the global minimum when no trough is under a threshold.
    pub no_trough_prob: f64,
}

impl Default for F0Config {
    fn default() -> Self {
        Self {
            fmin: 60.0,
            fmax: 1000.0,
            frame_length: 1024,
            win_length: None,
            hop_length: 512,
            n_thresholds: 100,
            beta: (2, 18),
            boltzmann: 2.0,
            resolution: 0.1,
            max_transition_rate: 35.92,
            switch_prob: 0.01,
            no_trough_prob: 0.01,
        }
    }
}

/// The decoded pitch track.
#[derive(Debug, Clone, PartialEq)]
pub struct F0Track {
    /// F0 per frame in Hz, 0 where unvoiced.
    pub f0_hz: Vec<f32>,
    /// Probability that each frame is voiced.
    pub voiced_prob: Vec<f32>,
    /// Per-frame voiced flag from the Viterbi path.
    pub voiced: Vec<bool>,
}

struct Geometry {
    frame: usize,
    win: usize,
    min_period: usize,
    max_period: usize,
}

impl Geometry {
    fn new(sample_rate: u32, c: &F0Config) -> Result<Self, DspError> {
        let sr = sample_rate as f64;
        let win = c.win_length.unwrap_or(c.frame_length / 2);
        if !(0.0 < c.fmin && c.fmin < c.fmax && c.fmax <= sr / 2.0) {
            return Err(DspError::Config(format!(
                "F0 range {}–{} Hz must satisfy 0 < fmin < fmax ≤ {}",
                c.fmin,
                c.fmax,
                sr / 2.0
            )));
        }
        if c.hop_length == 0 || c.n_thresholds == 0 || c.resolution <= 0.0 || c.beta.0 == 0 || c.beta.1 == 0 {
            return Err(DspError::Config("hop, thresholds, resolution and beta must be positive".into()));
        }
        let min_period = ((sr / c.fmax).floor() as usize).max(1);
        let max_period = ((sr / c.fmin).floor() as usize).min(c.frame_length.saturating_sub(win + 1));
        if win == 0 || max_period < min_period + 2 {
            return Err(DspError::Config(format!(
                "frame_length {} is too short for fmin {} Hz",
                c.frame_length, c.fmin
            )));
        }
        Ok(Self { frame: c.frame_length, win, min_period, max_period })
    }
}

/// Regularised incomplete beta `I_x(a, b)` for integer `a`, `b`: the Beta(a, b) CDF.
fn beta_cdf(x: f64, a: u32, b: u32) -> f64 {
    let n = a + b - 1;
    let mut sum = 0.0;
    let mut binom = 1.0; // C(n, j) built up incrementally
    for j in 0..=n {
        if j > 0 {
            binom *= (n - j + 1) as f64 / j as f64;
        }
        if j >= a {
            sum += binom * x.powi(j as i32) * (1.0 - x).powi((n - j) as i32);
        }
    }
    sum
}

/// Computes the YIN cumulative-mean-normalised difference for one frame.
///
/// `out[k]` holds d'(min_period + k).
struct Yin {
    fft: std::sync::Arc<dyn rustfft::Fft<f64>>,
    ifft: std::sync::Arc<dyn realfft::ComplexToReal<f64>>,
    /// The windowed part in the real half, the whole frame in the imaginary half: both
    /// spectra from one complex transform (see `cmnd`).
    buf: Vec<Complex<f64>>,
    cross: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    corr: Vec<f64>,
    diff: Vec<f64>,
}

impl Yin {
    fn new(g: &Geometry) -> Self {
        let n = g.frame.next_power_of_two();
        let fft = rustfft::FftPlanner::<f64>::new().plan_fft_forward(n);
        let ifft = RealFftPlanner::<f64>::new().plan_fft_inverse(n);
        let scratch_len = fft.get_inplace_scratch_len().max(ifft.get_scratch_len());
        Self {
            buf: vec![Complex::default(); n],
            cross: ifft.make_input_vec(),
            scratch: vec![Complex::default(); scratch_len],
            corr: ifft.make_output_vec(),
            diff: vec![0.0; g.max_period + 1],
            fft,
            ifft,
        }
    }

    fn cmnd(&mut self, frame: &[f64], g: &Geometry, out: &mut Vec<f64>) {
        // r(τ) = Σ_{j<W} x[j] x[j+τ] as a circular cross-correlation; no wrap since W + τ < n.
        // a = the first W samples, b = the frame, zero-padded; Z = FFT(a + i b) gives
        // A[k] = (Z[k] + conj Z[n−k]) / 2 and B[k] = (Z[k] − conj Z[n−k]) / 2i, and the
        // cross-spectrum is conj(A) B: one complex transform instead of two real ones.
        for (i, z) in self.buf.iter_mut().enumerate() {
            let re = if i < g.win { frame[i] } else { 0.0 };
            let im = frame.get(i).copied().unwrap_or(0.0);
            *z = Complex::new(re, im);
        }
        self.fft.process_with_scratch(&mut self.buf, &mut self.scratch);
        let nn = self.buf.len();
        for (k, c) in self.cross.iter_mut().enumerate() {
            let z = self.buf[k];
            let y = self.buf[(nn - k) % nn].conj();
            let a = (z + y) * 0.5;
            let d = z - y;
            let b = Complex::new(d.im * 0.5, -d.re * 0.5);
            *c = a.conj() * b;
        }
        let n = self.corr.len() as f64;
        // Imaginary parts of DC and Nyquist are exactly zero for a cross-spectrum of real signals.
        if let Some(first) = self.cross.first_mut() {
            first.im = 0.0;
        }
        if let Some(last) = self.cross.last_mut() {
            last.im = 0.0;
        }
        let ok = self.ifft.process_with_scratch(&mut self.cross, &mut self.corr, &mut self.scratch).is_ok();
        out.clear();
        if !ok {
            out.resize(g.max_period - g.min_period + 1, 1.0);
            return;
        }
        // Energies of the windows starting at τ, by a running sum.
        let mut energy = frame[..g.win].iter().map(|x| x * x).sum::<f64>();
        let e0 = energy;
        for tau in 0..=g.max_period {
            if tau > 0 {
                energy += frame[tau + g.win - 1].powi(2) - frame[tau - 1].powi(2);
            }
            let r = self.corr[tau] / n;
            self.diff[tau] = (e0 + energy - 2.0 * r).max(0.0);
        }
        let mut running = 0.0;
        for tau in 1..=g.max_period {
            running += self.diff[tau];
            if tau >= g.min_period {
                let mean = running / tau as f64;
                out.push(if mean > 1e-12 { self.diff[tau] / mean } else { 1.0 });
            }
        }
    }
}

/// Tracks the F0 of mono `audio` at `sample_rate` with pYIN.
pub fn pyin(audio: &[f32], sample_rate: u32, config: &F0Config) -> Result<F0Track, DspError> {
    let g = Geometry::new(sample_rate, config)?;
    let sr = sample_rate as f64;
    let hop = config.hop_length;
    let frames = 1 + audio.len() / hop;

    let thresholds: Vec<f64> =
        (0..=config.n_thresholds).map(|i| i as f64 / config.n_thresholds as f64).collect();
    let cdf: Vec<f64> = thresholds.iter().map(|&t| beta_cdf(t, config.beta.0, config.beta.1)).collect();
    let beta_probs: Vec<f64> = cdf.windows(2).map(|w| w[1] - w[0]).collect();
    let bins_per_semitone = (1.0 / config.resolution).ceil();
    let bins_per_octave = 12.0 * bins_per_semitone;
    let n_bins = (bins_per_octave * (config.fmax / config.fmin).log2()).floor() as usize + 1;

    let mut yin = Yin::new(&g);
    let mut frame = vec![0f64; g.frame];
    let mut cmnd = Vec::with_capacity(g.max_period);
    let mut obs = vec![0f32; frames * n_bins];
    let mut voiced_prob = vec![0f32; frames];
    let half = (g.frame / 2) as isize;
    let lambda = config.boltzmann;
    // exp(-λ i) for every trough count and position a frame can have, and the Boltzmann
    // normaliser for `i` troughs under a threshold: the same values as computing them per use.
    let boltzmann: Vec<f64> = (0..=g.max_period).map(|i| (-lambda * i as f64).exp()).collect();
    let boltzmann_norm: Vec<f64> = boltzmann.iter().map(|&e| (1.0 - (-lambda).exp()) / (1.0 - e)).collect();
    let mut troughs: Vec<(f64, f64)> = Vec::new(); // (height, period)
    let mut probs: Vec<f64> = Vec::new();
    for t in 0..frames {
        let start = (t * hop) as isize - half;
        if start >= 0 && start as usize + g.frame <= audio.len() {
            // Interior frame: a plain slice, no per-sample bounds checks.
            for (x, &s) in frame.iter_mut().zip(&audio[start as usize..][..g.frame]) {
                *x = s as f64;
            }
        } else {
            for (i, x) in frame.iter_mut().enumerate() {
                let j = start + i as isize;
                *x = if j >= 0 && (j as usize) < audio.len() { audio[j as usize] as f64 } else { 0.0 };
            }
        }
        yin.cmnd(&frame, &g, &mut cmnd);

        // Troughs with parabolic refinement of their period.
        troughs.clear();
        let m = cmnd.len();
        for i in 0..m {
            let is_trough = if i == 0 {
                m > 1 && cmnd[0] < cmnd[1]
            } else if i + 1 < m {
                cmnd[i - 1] > cmnd[i] && cmnd[i] <= cmnd[i + 1]
            } else {
                false
            };
            if !is_trough {
                continue;
            }
            let mut shift = 0.0;
            if i > 0 && i + 1 < m {
                let (l, c, r) = (cmnd[i - 1], cmnd[i], cmnd[i + 1]);
                let a = r + l - 2.0 * c;
                let b = (r - l) / 2.0;
                if b.abs() < a.abs() {
                    shift = -b / a;
                }
            }
            troughs.push((cmnd[i], (g.min_period + i) as f64 + shift));
        }
        if troughs.is_empty() {
            continue;
        }

        // Probability of each trough under the threshold prior and the Boltzmann position prior.
        probs.clear();
        probs.resize(troughs.len(), 0.0);
        for (ti, &threshold) in thresholds[1..].iter().enumerate() {
            let below = troughs.iter().filter(|(h, _)| *h < threshold).count();
            if below == 0 {
                continue;
            }
            let norm = boltzmann_norm[below];
            let mut position = 0;
            for (k, (h, _)) in troughs.iter().enumerate() {
                if *h < threshold {
                    probs[k] += norm * boltzmann[position] * beta_probs[ti];
                    position += 1;
                }
            }
        }
        let global = troughs.iter().enumerate().min_by(|a, b| a.1.0.total_cmp(&b.1.0)).map_or(0, |(k, _)| k);
        let not_below = thresholds[1..].iter().filter(|&&th| troughs[global].0 >= th).count();
        probs[global] += config.no_trough_prob * beta_probs[..not_below].iter().sum::<f64>();

        let row = &mut obs[t * n_bins..(t + 1) * n_bins];
        let mut total = 0.0;
        for ((_, period), p) in troughs.iter().zip(&probs) {
            let f0 = sr / period;
            let bin = (bins_per_octave * (f0 / config.fmin).log2()).round().clamp(0.0, (n_bins - 1) as f64);
            row[bin as usize] += *p as f32;
            total += p;
        }
        voiced_prob[t] = total.clamp(0.0, 1.0) as f32;
    }

    let semitones_per_frame = (config.max_transition_rate * 12.0 * hop as f64 / sr).round();
    // librosa's transition window is `semitones * bins + 1` wide: a half-width of this many bins.
    let reach = (semitones_per_frame * bins_per_semitone) as usize / 2;
    let path = viterbi(&obs, &voiced_prob, n_bins, reach, config.switch_prob);

    let mut f0_hz = vec![0f32; frames];
    let mut voiced = vec![false; frames];
    for (t, &state) in path.iter().enumerate() {
        if state < n_bins {
            voiced[t] = true;
            f0_hz[t] = (config.fmin * 2f64.powf(state as f64 / bins_per_octave)) as f32;
        }
    }
    Ok(F0Track { f0_hz, voiced_prob, voiced })
}

/// Viterbi over `2 n_bins` states (voiced bins, then unvoiced bins) with a triangular
/// pitch transition of half-width `reach` bins and a voicing switch probability.
///
/// The forward pass computes scores only: the switch term depends only on the voicing of the
/// two states, so each frame takes two banded max-plus convolutions (from the voiced and from
/// the unvoiced states), combined per target with `stay` and `change`. A max is exact, so
/// these scores equal the reference's bit for bit. The transition table is stored by offset
/// and each offset updates all targets at once, so the inner loop runs over contiguous bins
/// and vectorises. Back-pointers are then recovered only along the decoded path, by
/// re-scanning that one state's sources in the reference's order.
///
/// **Invariant:** the same path as `viterbi_reference`, with its tie-breaking (the earliest
/// source bin, voiced before unvoiced).
fn viterbi(obs: &[f32], voiced_prob: &[f32], n_bins: usize, reach: usize, switch: f64) -> Vec<usize> {
    let frames = voiced_prob.len();
    let n_states = 2 * n_bins;
    let span = 2 * reach + 1;
    let width = reach as f64 + 1.0;
    let tri: Vec<f64> = (0..span).map(|k| 1.0 - (k as f64 - reach as f64).abs() / width).collect();
    // lt[k * n_bins + from] = log P(to = from + k - reach | from), row-normalised as in `viterbi_reference`.
    let mut lt = vec![f32::NEG_INFINITY; span * n_bins];
    for from in 0..n_bins {
        let lo = from.saturating_sub(reach);
        let hi = (from + reach).min(n_bins - 1);
        let sum: f64 = (lo..=hi).map(|to| tri[to + reach - from]).sum();
        for k in 0..span {
            let to = from as isize + k as isize - reach as isize;
            if to >= 0 && (to as usize) < n_bins {
                lt[k * n_bins + from] = (tri[k] / sum).ln() as f32;
            }
        }
    }
    let (stay, change) = (((1.0 - switch).ln()) as f32, (switch.ln()) as f32);
    let tiny = 1e-30f32;
    let log_tiny = tiny.ln();
    // log P(obs | state) for frame t: voiced bins from `obs` (mostly zero, so mostly
    // `log_tiny`), unvoiced bins all alike.
    let log_obs = |t: usize, out: &mut [f32]| {
        let (v, u) = out.split_at_mut(n_bins);
        for (o, &x) in v.iter_mut().zip(&obs[t * n_bins..(t + 1) * n_bins]) {
            *o = if x == 0.0 { log_tiny } else { (x + tiny).ln() };
        }
        u.fill(((1.0 - voiced_prob[t]) / n_bins as f32 + tiny).ln());
    };
    // Every frame's scores, kept for the back-tracking.
    let mut deltas = vec![0f32; frames * n_states];
    let mut lo_row = vec![0f32; n_states];
    if frames > 0 {
        log_obs(0, &mut deltas[..n_states]);
        let prior = (n_states as f32).ln();
        deltas[..n_states].iter_mut().for_each(|d| *d -= prior);
    }
    // Best score into each target bin from the voiced (p) and the unvoiced (q) states.
    let (mut p, mut q) = (vec![0f32; n_bins], vec![0f32; n_bins]);
    for t in 1..frames {
        let (done, rest) = deltas.split_at_mut(t * n_states);
        let (dv, du) = done[(t - 1) * n_states..].split_at(n_bins);
        raga_kernels::max_plus_band(dv, du, &lt, reach, &mut p, &mut q);
        log_obs(t, &mut lo_row);
        let (cv, cu) = rest[..n_states].split_at_mut(n_bins);
        let (lv, lu) = lo_row.split_at(n_bins);
        raga_kernels::switch_states((&p, &q), (stay, change), (lv, lu), cv, cu);
    }
    let Some(last) = frames.checked_sub(1) else { return Vec::new() };
    let final_row = &deltas[last * n_states..];
    let mut state = final_row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(s, _)| s);
    let mut path = vec![0usize; frames];
    for t in (0..frames).rev() {
        path[t] = state;
        if t > 0 {
            // The reference's scan for this one target: ascending source bin, voiced first,
            // strict `>`, with the very same float operations.
            let prev = &deltas[(t - 1) * n_states..t * n_states];
            let (to_bin, to_voiced) = (state % n_bins, state < n_bins);
            let (mut best, mut arg) = (f32::NEG_INFINITY, state);
            for from_bin in to_bin.saturating_sub(reach)..=(to_bin + reach).min(n_bins - 1) {
                let l = lt[(to_bin + reach - from_bin) * n_bins + from_bin];
                for (from, from_voiced) in [(from_bin, true), (from_bin + n_bins, false)] {
                    let v = prev[from] + l + if from_voiced == to_voiced { stay } else { change };
                    if v > best {
                        best = v;
                        arg = from;
                    }
                }
            }
            state = arg;
        }
    }
    path
}

/// The straightforward per-target decoding whose path `viterbi` must reproduce.
#[cfg(test)]
fn viterbi_reference(
    obs: &[f32],
    voiced_prob: &[f32],
    n_bins: usize,
    reach: usize,
    switch: f64,
) -> Vec<usize> {
    let frames = voiced_prob.len();
    let n_states = 2 * n_bins;
    // log of the row-normalised triangular transition, per (from, offset).
    let width = reach as f64 + 1.0;
    let tri: Vec<f64> = (0..=2 * reach).map(|k| 1.0 - (k as f64 - reach as f64).abs() / width).collect();
    let log_trans: Vec<Vec<f32>> = (0..n_bins)
        .map(|from| {
            let lo = from.saturating_sub(reach);
            let hi = (from + reach).min(n_bins - 1);
            let sum: f64 = (lo..=hi).map(|to| tri[to + reach - from]).sum();
            (0..=2 * reach)
                .map(|k| {
                    let to = from as isize + k as isize - reach as isize;
                    if to < 0 || to as usize >= n_bins {
                        f32::NEG_INFINITY
                    } else {
                        (tri[k] / sum).ln() as f32
                    }
                })
                .collect()
        })
        .collect();
    let (stay, change) = (((1.0 - switch).ln()) as f32, (switch.ln()) as f32);
    let tiny = 1e-30f32;
    let log_obs = |t: usize, s: usize| -> f32 {
        if s < n_bins {
            (obs[t * n_bins + s] + tiny).ln()
        } else {
            ((1.0 - voiced_prob[t]) / n_bins as f32 + tiny).ln()
        }
    };
    let mut delta: Vec<f32> = (0..n_states).map(|s| log_obs(0, s) - (n_states as f32).ln()).collect();
    let mut next = vec![0f32; n_states];
    let mut back = vec![0u16; frames * n_states];
    for t in 1..frames {
        for to in 0..n_states {
            let (to_bin, to_voiced) = (to % n_bins, to < n_bins);
            let lo = to_bin.saturating_sub(reach);
            let hi = (to_bin + reach).min(n_bins - 1);
            let mut best = f32::NEG_INFINITY;
            let mut arg = to;
            for from_bin in lo..=hi {
                let lt = log_trans[from_bin][to_bin + reach - from_bin];
                for from_voiced in [true, false] {
                    let from = if from_voiced { from_bin } else { from_bin + n_bins };
                    let v = delta[from] + lt + if from_voiced == to_voiced { stay } else { change };
                    if v > best {
                        best = v;
                        arg = from;
                    }
                }
            }
            next[to] = best + log_obs(t, to);
            back[t * n_states + to] = arg as u16;
        }
        std::mem::swap(&mut delta, &mut next);
    }
    let mut state = delta.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(s, _)| s);
    let mut path = vec![0usize; frames];
    for t in (0..frames).rev() {
        path[t] = state;
        if t > 0 {
            state = back[t * n_states + state] as usize;
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freqs: &[f32], seconds_each: f32) -> Vec<f32> {
        let sr = 22050.0;
        let mut phase = 0f32;
        let mut out = Vec::new();
        for f in freqs {
            for _ in 0..(sr * seconds_each) as usize {
                phase += std::f32::consts::TAU * f / sr;
                // A few harmonics, like a voice or a reed.
                out.push(0.5 * phase.sin() + 0.25 * (2.0 * phase).sin() + 0.12 * (3.0 * phase).sin());
            }
        }
        out
    }

    #[test]
    fn viterbi_matches_reference_bit_for_bit() {
        // xorshift: deterministic pseudo-random observations without a dependency.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32
        };
        for (n_bins, reach, frames) in [(1, 0, 5), (3, 5, 17), (40, 3, 60), (481, 11, 200), (481, 0, 30)] {
            for sparse in [false, true] {
                let obs: Vec<f32> = (0..frames * n_bins)
                    // Sparse matrices give many exact ties, which must break the same way.
                    .map(|_| if sparse && rand() < 0.9 { 0.0 } else { rand() / n_bins as f32 })
                    .collect();
                let voiced: Vec<f32> = (0..frames).map(|_| if sparse { 0.5 } else { rand() }).collect();
                for switch in [0.01, 0.5] {
                    assert_eq!(
                        viterbi(&obs, &voiced, n_bins, reach, switch),
                        viterbi_reference(&obs, &voiced, n_bins, reach, switch),
                        "n_bins {n_bins} reach {reach} sparse {sparse} switch {switch}"
                    );
                }
            }
        }
    }

    #[test]
    fn beta_cdf_matches_closed_form() {
        for x in [0.0, 0.05, 0.1, 0.3, 1.0] {
            let closed = 1.0 - (1.0f64 - x).powi(19) - 19.0 * x * (1.0f64 - x).powi(18);
            assert!((beta_cdf(x, 2, 18) - closed).abs() < 1e-12);
        }
    }

    #[test]
    fn tracks_steady_notes_across_the_range() {
        for f in [65.0, 110.0, 220.0, 440.0, 880.0] {
            let track = pyin(&tone(&[f], 1.0), 22050, &F0Config::default()).unwrap();
            let mid = &track.f0_hz[5..track.f0_hz.len() - 5];
            for &got in mid {
                let cents = 1200.0 * (got / f).log2();
                assert!(cents.abs() < 10.0, "{f} Hz tracked as {got}");
            }
        }
    }

    #[test]
    fn silence_is_unvoiced_and_notes_are_voiced() {
        let mut audio = tone(&[200.0], 1.0);
        audio.extend(std::iter::repeat_n(0.0, 22050));
        let track = pyin(&audio, 22050, &F0Config::default()).unwrap();
        let n = track.f0_hz.len();
        assert!(track.voiced[10] && track.f0_hz[10] > 190.0);
        assert!(!track.voiced[n - 10] && track.f0_hz[n - 10] == 0.0);
        assert!(track.voiced_prob[10] > 0.5 && track.voiced_prob[n - 10] < 0.1);
    }
}
