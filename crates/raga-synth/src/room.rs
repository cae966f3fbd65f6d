//! The room and the recording chain: Schroeder/Freeverb-style reverb, EQ tilt, additive
//! white/pink/brown noise at a random SNR. All filters are O(n).

use crate::rng::{self, Rng};
use crate::timbre::OnePole;

/// Colour of the added noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Noise {
    White,
    Pink,
    Brown,
}

/// A randomly drawn room and recording chain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Room {
    /// Reverb time in seconds (0 = dry).
    pub rt60_s: f32,
    /// Reverb wet fraction 0..0.4.
    pub wet: f32,
    /// Room size scale for the delay lines.
    pub size: f32,
    /// High-frequency damping in the reverb feedback 0..1.
    pub damping: f32,
    /// Pre-delay in seconds.
    pub predelay_s: f32,
    /// EQ tilt in dB (positive = brighter) and its pivot in Hz.
    pub tilt_db: f32,
    pub pivot_hz: f32,
    /// Noise colour and SNR in dB.
    pub noise: Noise,
    pub snr_db: f32,
}

/// Freeverb comb and all-pass tunings (samples at 44.1 kHz).
const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];

impl Room {
    /// Draws a room.
    pub(crate) fn random(rng: &mut Rng) -> Self {
        let rt60_s = if rng::chance(rng, 0.15) { 0.0 } else { rng::uniform(rng, 0.1, 1.5) };
        Room {
            rt60_s,
            wet: if rt60_s > 0.0 { rng::uniform(rng, 0.03, 0.4) } else { 0.0 },
            size: rng::uniform(rng, 0.6, 1.4),
            damping: rng::uniform(rng, 0.1, 0.6),
            predelay_s: rng::uniform(rng, 0.0, 0.03),
            tilt_db: rng::uniform(rng, -6.0, 6.0),
            pivot_hz: rng::log_uniform(rng, 400.0, 2500.0),
            noise: [Noise::White, Noise::Pink, Noise::Brown][rng::index(rng, 3)],
            snr_db: rng::uniform(rng, 10.0, 40.0),
        }
    }

    /// Applies reverb, tilt and noise in place.
    pub(crate) fn apply(&self, x: &mut [f32], sr: f32, rng: &mut Rng) {
        if self.rt60_s > 0.0 && self.wet > 0.0 {
            self.reverb(x, sr);
        }
        tilt(x, self.tilt_db, self.pivot_hz, sr);
        self.add_noise(x, rng);
    }

    fn reverb(&self, x: &mut [f32], sr: f32) {
        let scale = sr / 44100.0 * self.size;
        let mut combs: Vec<Comb> = COMBS
            .iter()
            .map(|d| {
                let len = ((*d as f32 * scale) as usize).max(8);
                let g = 10f32.powf(-3.0 * len as f32 / (self.rt60_s * sr));
                Comb::new(len, g.min(0.98), self.damping)
            })
            .collect();
        let mut aps: Vec<Allpass> =
            ALLPASSES.iter().map(|d| Allpass::new(((*d as f32 * scale) as usize).max(4), 0.5)).collect();
        let pre = (self.predelay_s * sr) as usize;
        let mut delay = vec![0.0f32; pre + 1];
        let mut di = 0;
        let n_combs = combs.len() as f32;
        let mut wet = vec![0.0f32; x.len()];
        for (v, w) in x.iter().zip(wet.iter_mut()) {
            delay[di] = *v;
            di += 1;
            if di == delay.len() {
                di = 0;
            }
            let input = delay[di] * 0.5;
            let mut acc = 0.0;
            for c in &mut combs {
                acc += c.process(input);
            }
            let mut y = acc / n_combs;
            for a in &mut aps {
                y = a.process(y);
            }
            *w = y;
        }
        // Mix at equal loudness, so `wet` is the fraction of reverberant energy.
        let (dry_rms, wet_rms) = (rms(x), rms(&wet));
        if wet_rms > 0.0 {
            let g = self.wet * dry_rms / wet_rms;
            for (v, w) in x.iter_mut().zip(&wet) {
                *v = (1.0 - self.wet) * *v + g * w;
            }
        }
    }

    fn add_noise(&self, x: &mut [f32], rng: &mut Rng) {
        let n = x.len();
        if n == 0 {
            return;
        }
        let mut noise = vec![0.0f32; n];
        match self.noise {
            Noise::White => {
                for v in &mut noise {
                    *v = rng::white(rng);
                }
            }
            Noise::Pink => {
                // Paul Kellett's economy pink filter.
                let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
                for v in &mut noise {
                    let w = rng::white(rng);
                    b0 = 0.99765 * b0 + w * 0.099_046;
                    b1 = 0.96300 * b1 + w * 0.2965164;
                    b2 = 0.57000 * b2 + w * 1.0526913;
                    *v = b0 + b1 + b2 + w * 0.1848;
                }
            }
            Noise::Brown => {
                let mut b = 0.0f32;
                for v in &mut noise {
                    b = 0.995 * b + 0.1 * rng::white(rng);
                    *v = b;
                }
            }
        }
        let p_sig: f64 = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / n as f64;
        let p_noise: f64 = noise.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / n as f64;
        if p_noise <= 0.0 || p_sig <= 0.0 {
            return;
        }
        let g = ((p_sig / p_noise) / 10f64.powf(f64::from(self.snr_db) / 10.0)).sqrt() as f32;
        for (v, w) in x.iter_mut().zip(&noise) {
            *v += g * w;
        }
    }
}

fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// First-order tilt around `pivot_hz`: lows × 10^(-tilt/40), highs × 10^(tilt/40).
fn tilt(x: &mut [f32], tilt_db: f32, pivot_hz: f32, sr: f32) {
    let lo_gain = 10f32.powf(-tilt_db / 40.0);
    let hi_gain = 10f32.powf(tilt_db / 40.0);
    let mut lp = OnePole::lowpass(pivot_hz, sr);
    for v in x.iter_mut() {
        let low = lp.process(*v);
        *v = lo_gain * low + hi_gain * (*v - low);
    }
}

/// Feedback comb with one-pole damping in the loop.
struct Comb {
    buf: Vec<f32>,
    i: usize,
    feedback: f32,
    damp: f32,
    store: f32,
}

impl Comb {
    fn new(len: usize, feedback: f32, damp: f32) -> Self {
        Comb { buf: vec![0.0; len], i: 0, feedback, damp, store: 0.0 }
    }

    fn process(&mut self, x: f32) -> f32 {
        let y = self.buf[self.i];
        self.store = y * (1.0 - self.damp) + self.store * self.damp;
        self.buf[self.i] = x + self.store * self.feedback;
        self.i += 1;
        if self.i == self.buf.len() {
            self.i = 0;
        }
        y
    }
}

/// Schroeder all-pass diffuser.
struct Allpass {
    buf: Vec<f32>,
    i: usize,
    g: f32,
}

impl Allpass {
    fn new(len: usize, g: f32) -> Self {
        Allpass { buf: vec![0.0; len], i: 0, g }
    }

    fn process(&mut self, x: f32) -> f32 {
        let b = self.buf[self.i];
        let y = b - x;
        self.buf[self.i] = x + b * self.g;
        self.i += 1;
        if self.i == self.buf.len() {
            self.i = 0;
        }
        y
    }
}
