//! Drone suppression: the tanpura's partials are steady while the melody moves, so the
//! per-bin low-percentile magnitude over the clip estimates the drone (and stationary noise).
//! Subtracting it before pitch tracking keeps the tracker on the melody, and the median
//! spectrum itself tells the tonic.

use realfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::mel::fill_pair;

/// The drone is present nearly all the time, a melody note rarely holds a bin this long.
const PERCENTILE: usize = 20;

/// The clip's long-term (median) magnitude spectrum and the drone-suppressed audio.
#[derive(Debug, Clone)]
pub struct DroneSplit {
    /// Audio with the steady spectrum removed (same length as the input).
    pub melody: Vec<f32>,
    /// Steady (20th-percentile) magnitude per FFT bin (`n_fft / 2 + 1` bins).
    pub steady_magnitude: Vec<f32>,
    /// FFT size the spectrum was computed with.
    pub n_fft: usize,
}

/// Splits `audio` into its steady part (returned as a spectrum) and the rest (returned as audio).
///
/// `strength` scales the subtracted steady magnitude (1.0 removes exactly the percentile magnitude).
pub fn suppress_drone(audio: &[f32], n_fft: usize, hop: usize, strength: f32) -> DroneSplit {
    let bins = n_fft / 2 + 1;
    let half = n_fft / 2;
    let frames = 1 + audio.len() / hop;
    // Frames go through the FFT two at a time, as in `mel`: one frame as the real part, the
    // next as the imaginary part of one complex transform, separated by the conjugate
    // symmetry of real signals' spectra; the inverse puts two frames back the same way.
    let mut planner = FftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let ifft = planner.plan_fft_inverse(n_fft);
    let window: Vec<f32> =
        (0..n_fft).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n_fft as f32).cos()).collect();
    let mut buf = vec![Complex::<f32>::default(); n_fft];
    let mut scratch =
        vec![Complex::default(); fft.get_inplace_scratch_len().max(ifft.get_inplace_scratch_len())];
    // Room for an even number of frames; a missing last one stays zeros.
    let mut spectra = vec![Complex::<f32>::default(); frames.next_multiple_of(2) * bins];
    for t in (0..frames).step_by(2) {
        let has_b = t + 1 < frames;
        fill_pair(&mut buf, audio, [Some(t * hop), has_b.then_some((t + 1) * hop)], &window);
        fft.process_with_scratch(&mut buf, &mut scratch);
        let (a, b) = spectra[t * bins..(t + 2) * bins].split_at_mut(bins);
        // A[k] = (Z[k] + conj Z[N−k]) / 2, B[k] = (Z[k] − conj Z[N−k]) / 2i; at k = 0 and
        // N/2, Z[N−k] is Z[k] itself.
        for k in [0, half] {
            a[k] = Complex::new(buf[k].re, 0.0);
            b[k] = Complex::new(buf[k].im, 0.0);
        }
        let (low, high) = buf.split_at(half + 1);
        for (((z, y), a), b) in
            low[1..half].iter().zip(high.iter().rev()).zip(&mut a[1..half]).zip(&mut b[1..half])
        {
            *a = Complex::new(0.5 * (z.re + y.re), 0.5 * (z.im - y.im));
            *b = Complex::new(0.5 * (z.im + y.im), 0.5 * (y.re - z.re));
        }
    }
    // Each bin's percentile over frames, gathered a block of bins at a time so the
    // frame-major spectra are read in order. Magnitudes by a plain square root (`norm` is
    // `hypot`, several times slower), selected by their bits: for non-negative floats the
    // integer order is the float order, and integer compares are cheaper than `total_cmp`.
    let mag = |c: &Complex<f32>| (c.re * c.re + c.im * c.im).sqrt();
    const BLOCK: usize = 16;
    let rank = frames * PERCENTILE / 100;
    let mut steady_magnitude = vec![0f32; bins];
    let mut columns = vec![0u32; BLOCK * frames];
    for k0 in (0..bins).step_by(BLOCK) {
        let width = BLOCK.min(bins - k0);
        for t in 0..frames {
            for (b, c) in spectra[t * bins + k0..][..width].iter().enumerate() {
                columns[b * frames + t] = mag(c).to_bits();
            }
        }
        for (b, column) in columns.chunks_exact_mut(frames).take(width).enumerate() {
            steady_magnitude[k0 + b] = f32::from_bits(*column.select_nth_unstable(rank).1);
        }
    }
    // Magnitude subtraction with the original phase, then weighted overlap-add.
    for spec in spectra.chunks_exact_mut(bins).take(frames) {
        for (c, m) in spec.iter_mut().zip(&steady_magnitude) {
            let mag = mag(c);
            let gain = if mag > 0.0 { ((mag - strength * m) / mag).max(0.0) } else { 0.0 };
            *c *= gain;
        }
    }
    let mut out = vec![0f32; audio.len() + n_fft + hop];
    let mut norm = vec![0f32; audio.len() + n_fft + hop];
    let scale = 1.0 / n_fft as f32;
    for t in (0..frames).step_by(2) {
        let (a, b) = spectra[t * bins..(t + 2) * bins].split_at(bins);
        // Z[k] = A[k] + i B[k] and Z[N−k] = conj A[k] + i conj B[k]: its inverse is a + i b.
        for k in [0, half] {
            buf[k] = Complex::new(a[k].re, b[k].re);
        }
        for k in 1..half {
            let (x, y) = (a[k], b[k]);
            buf[k] = Complex::new(x.re - y.im, x.im + y.re);
            buf[n_fft - k] = Complex::new(x.re + y.im, y.re - x.im);
        }
        ifft.process_with_scratch(&mut buf, &mut scratch);
        // Frame t starts at sample t * hop - n_fft / 2, which is t * hop in the buffers padded by n_fft / 2.
        for (u, part) in [(t, 0), (t + 1, 1)] {
            if u >= frames {
                break;
            }
            let (o, w2) = (&mut out[u * hop..][..n_fft], &mut norm[u * hop..][..n_fft]);
            for (((o, w2), z), w) in o.iter_mut().zip(w2).zip(&buf).zip(&window) {
                let x = if part == 0 { z.re } else { z.im };
                *o += x * scale * w;
                *w2 += w * w;
            }
        }
    }
    let melody: Vec<f32> = (0..audio.len())
        .map(|i| {
            let j = i + n_fft / 2;
            if norm[j] > 1e-6 { out[j] / norm[j] } else { 0.0 }
        })
        .collect();
    // A signal that is nearly all steady has no drone under a melody: it *is* the melody.
    let energy = |x: &[f32]| x.iter().map(|v| (v * v) as f64).sum::<f64>();
    let melody = if energy(&melody) < 0.1 * energy(audio) { audio.to_vec() } else { melody };
    DroneSplit { melody, steady_magnitude, n_fft }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_tone_is_removed_and_a_moving_one_kept() {
        let sr = 22050.0;
        let n = 22050 * 4;
        let steady: Vec<f32> =
            (0..n).map(|i| 0.3 * (std::f32::consts::TAU * 110.0 * i as f32 / sr).sin()).collect();
        // A melody that changes note every half second.
        let notes = [300.0, 340.0, 380.0, 420.0, 460.0, 500.0, 540.0, 580.0];
        let moving: Vec<f32> =
            (0..n).map(|i| 0.3 * (std::f32::consts::TAU * notes[i * 8 / n] * i as f32 / sr).sin()).collect();
        let mix: Vec<f32> = steady.iter().zip(&moving).map(|(a, b)| a + b).collect();
        let split = suppress_drone(&mix, 2048, 512, 1.0);
        let energy = |x: &[f32]| x[4096..n - 4096].iter().map(|v| v * v).sum::<f32>();
        let residual: Vec<f32> = split.melody.iter().zip(&moving).map(|(a, b)| a - b).collect();
        assert!(energy(&residual) < 0.15 * energy(&moving), "{}", energy(&residual) / energy(&moving));
        let peak = split.steady_magnitude.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|p| p.0);
        assert_eq!(peak, Some((110.0f32 * 2048.0 / sr).round() as usize));
    }
}
