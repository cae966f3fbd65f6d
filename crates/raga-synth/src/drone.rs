//! Tanpura drone: four strings (Pa, Ma or Ni; two Sa; kharaj Sa) plucked in a cycle, each a
//! wavetable whose jawari spectrum evolves over the decay.

use crate::SAMPLE_RATE;
use crate::ragas::Raga;
use crate::rng::{self, Rng};

/// Samples per wavetable cycle.
const TABLE: usize = 2048;
/// Spectral stages of a pluck's decay.
const STAGES: usize = 6;
/// Samples between spectral-stage updates.
const BLOCK: usize = 64;

/// Frequency ratio of the first string: Pa (3/4 of Sa, mandra), else Ma (2/3), else Ni (15/16).
pub(crate) fn first_string_ratio(raga: &Raga) -> f32 {
    if raga.has(7) {
        0.75
    } else if raga.has(5) {
        2.0 / 3.0
    } else {
        15.0 / 16.0
    }
}

/// One tanpura string (wire): a stack of wavetables (one per decay stage) and its pluck state.
struct Wire {
    hz: f64,
    tables: Vec<Vec<f32>>,
    stage_s: f32,
    tau: f32,
    gain: f32,
    phase: f64,
    since: f32,
    amp: f32,
}

impl Wire {
    fn new(hz: f64, gain: f32, rng: &mut Rng) -> Self {
        let nyq = 0.42 * SAMPLE_RATE as f64;
        let k_max = ((nyq / hz) as usize).clamp(1, 60);
        let tilt = rng::uniform(rng, 0.5, 1.0);
        let (c0, c1) = (rng::uniform(rng, 4.0, 12.0), rng::uniform(rng, 12.0, 35.0));
        let (c0, c1) = if rng::chance(rng, 0.6) { (c0, c1) } else { (c1, c0) };
        let width = rng::uniform(rng, 3.0, 8.0);
        let boost = rng::uniform(rng, 1.5, 5.0);
        let mut tables = Vec::with_capacity(STAGES);
        for s in 0..STAGES {
            let x = s as f32 / (STAGES - 1) as f32;
            let centre = c0 + (c1 - c0) * x;
            // Upper partials fade as the pluck decays.
            let fade = 1.0 + 0.08 * x * 30.0 / (k_max as f32).max(1.0);
            let amps: Vec<f32> = (1..=k_max)
                .map(|k| {
                    let h = k as f32;
                    let d = (h - centre) / width;
                    h.powf(-tilt) * (0.4 + boost * (-0.5 * d * d).exp()) * fade.powf(-h)
                })
                .collect();
            tables.push(wavetable(&amps));
        }
        Wire {
            hz,
            tables,
            stage_s: rng::uniform(rng, 0.4, 1.0),
            tau: rng::uniform(rng, 2.0, 5.0),
            gain,
            phase: rng::uniform64(rng, 0.0, 1.0),
            since: 100.0,
            amp: 0.0,
        }
    }

    /// Adds this string's sound to `out`, re-plucked at `plucks` (sample, strength), sorted.
    fn render(&mut self, plucks: &[(usize, f32)], out: &mut [f32]) {
        let sr = SAMPLE_RATE as f32;
        let attack = 1.0 - (-1.0 / (0.004 * sr)).exp();
        let decay = (-1.0 / (self.tau * sr)).exp();
        // 32-bit fixed-point phase: the top 11 bits index the table, the rest interpolate.
        let inc = (self.hz / f64::from(SAMPLE_RATE) * 4_294_967_296.0) as u32;
        let mut phase = (self.phase * 4_294_967_296.0) as u32;
        const FRAC_BITS: u32 = 32 - TABLE.trailing_zeros();
        let frac_scale = 1.0 / (1u32 << FRAC_BITS) as f32;
        let mut next = 0;
        let (mut amp, mut target) = (self.amp, 0.0f32);
        for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
            let start = b * BLOCK;
            while next < plucks.len() && plucks[next].0 < start + BLOCK {
                target = plucks[next].1 * self.gain;
                self.since = 0.0;
                next += 1;
            }
            let stage = (self.since / self.stage_s).min((STAGES - 1) as f32);
            let s0 = stage as usize;
            let s1 = (s0 + 1).min(STAGES - 1);
            let x = stage - s0 as f32;
            let (t0, t1) = (&self.tables[s0], &self.tables[s1]);
            for y in chunk.iter_mut() {
                if target > 0.0 {
                    amp += (target - amp) * attack;
                    if amp >= 0.98 * target {
                        target = 0.0;
                    }
                } else {
                    amp *= decay;
                }
                let i0 = (phase >> FRAC_BITS) as usize;
                let i1 = (i0 + 1) & (TABLE - 1);
                let f = (phase & ((1 << FRAC_BITS) - 1)) as f32 * frac_scale;
                let a = t0[i0] + (t0[i1] - t0[i0]) * f;
                let c = t1[i0] + (t1[i1] - t1[i0]) * f;
                *y += amp * (a + (c - a) * x);
                phase = phase.wrapping_add(inc);
            }
            self.since += BLOCK as f32 / sr;
            if amp < 1e-9 {
                amp = 0.0;
            }
        }
        self.amp = amp;
    }
}

/// One cycle of Σ a_k sin(2πk x), normalised to peak 1.
fn wavetable(amps: &[f32]) -> Vec<f32> {
    let mut t = vec![0.0f32; TABLE];
    for (k, a) in amps.iter().enumerate() {
        let w = std::f64::consts::TAU * (k + 1) as f64 / TABLE as f64;
        let (s, c) = w.sin_cos();
        let (mut re, mut im) = (1.0f64, 0.0f64);
        for v in &mut t {
            *v += a * im as f32;
            (re, im) = (re * c - im * s, re * s + im * c);
        }
    }
    let peak = t.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-9);
    for v in &mut t {
        *v /= peak;
    }
    t
}

/// Renders `n` samples of tanpura drone for `raga` at `tonic_hz` (unit-less level).
pub(crate) fn render(raga: &Raga, tonic_hz: f32, n: usize, rng: &mut Rng) -> Vec<f32> {
    let sr = SAMPLE_RATE as f32;
    let sa = f64::from(tonic_hz);
    let cents = |c: f32| f64::from(c / 1200.0).exp2();
    let first = sa * f64::from(first_string_ratio(raga));
    let mut strings = [
        Wire::new(first * cents(rng::uniform(rng, -2.0, 2.0)), 0.8, rng),
        Wire::new(sa * cents(rng::uniform(rng, -2.0, 2.0)), 1.0, rng),
        Wire::new(sa * cents(rng::uniform(rng, -2.0, 2.0)), 1.0, rng),
        Wire::new(0.5 * sa * cents(rng::uniform(rng, -2.0, 2.0)), 1.1, rng),
    ];
    let interval = rng::uniform(rng, 0.6, 1.5);
    let pause = rng::uniform(rng, 0.0, 0.8);

    // Pluck schedule: P S S S., then a pause, repeated; starting mid-cycle at a random point.
    let mut plucks: Vec<(usize, usize, f32)> = Vec::new();
    let mut t = -rng::uniform(rng, 0.0, 4.0 * interval);
    let total = n as f32 / sr;
    while t < total {
        for (s, w) in strings.iter_mut().enumerate() {
            let at = t + interval * s as f32 * rng::uniform(rng, 0.93, 1.07);
            let strength = rng::uniform(rng, 0.8, 1.0);
            if at < 0.0 {
                // Plucked before the clip starts: still ringing.
                w.amp = strength * w.gain * (at / w.tau).exp();
                w.since = -at;
            } else if at < total {
                plucks.push(((at * sr) as usize, s, strength));
            }
        }
        t += 4.0 * interval + pause;
    }
    plucks.sort_by_key(|p| p.0);

    let mut out = vec![0.0f32; n];
    for (s, w) in strings.iter_mut().enumerate() {
        let mine: Vec<(usize, f32)> = plucks.iter().filter(|p| p.1 == s).map(|p| (p.0, p.2)).collect();
        w.render(&mine, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raga;

    /// Hann-windowed DFT magnitude of `x` at `hz`, over the whole buffer.
    fn magnitude(x: &[f32], hz: f64) -> f64 {
        let n = x.len() as f64;
        let w = std::f64::consts::TAU * hz / f64::from(SAMPLE_RATE);
        let (mut re, mut im) = (0.0, 0.0);
        for (j, v) in x.iter().enumerate() {
            let a = f64::from(*v) * (0.5 - 0.5 * (std::f64::consts::TAU * j as f64 / n).cos());
            re += a * (w * j as f64).cos();
            im -= a * (w * j as f64).sin();
        }
        (re * re + im * im).sqrt()
    }

    fn check(id: &str, first: f64, absent: f64) {
        let r = raga(id).unwrap_or_else(|| panic!("no raga {id}"));
        let tonic = 200.0;
        let x = render(r, tonic as f32, 6 * SAMPLE_RATE as usize, &mut rng::stream(1, 4));
        let m = |ratio: f64| magnitude(&x, ratio * tonic);
        assert!(m(first) > 10.0 * m(absent), "{id}: first string {first} vs {absent}");
        // Kharaj Sa an octave down, and the two madhya Sa strings.
        assert!(m(0.5) > 10.0 * m(0.55), "{id}: no kharaj Sa");
        assert!(m(1.0) > 10.0 * m(1.1), "{id}: no Sa");
    }

    #[test]
    fn first_string_is_pa_else_ma_else_ni() {
        check("yaman", 0.75, 2.0 / 3.0);
        check("malkauns", 2.0 / 3.0, 0.75);
        check("abhogi", 2.0 / 3.0, 0.75);
        check("marwa", 15.0 / 16.0, 0.75);
        check("puriya", 15.0 / 16.0, 2.0 / 3.0);
    }
}
