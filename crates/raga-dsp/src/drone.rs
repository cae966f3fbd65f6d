//! Drone suppression: the tanpura's partials are steady while the melody moves, so the
//! per-bin low-percentile magnitude over the clip estimates the drone (and stationary noise).
//! Subtracting it before pitch tracking keeps the tracker on the melody, and the median
//! spectrum itself tells the tonic.

use realfft::RealFftPlanner;

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
    let frames = 1 + audio.len() / hop;
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let ifft = planner.plan_fft_inverse(n_fft);
    let window: Vec<f32> =
        (0..n_fft).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n_fft as f32).cos()).collect();
    let mut input = fft.make_input_vec();
    let mut spectra = vec![realfft::num_complex::Complex::<f32>::default(); frames * bins];
    let mut scratch =
        vec![realfft::num_complex::Complex::default(); fft.get_scratch_len().max(ifft.get_scratch_len())];
    let half = (n_fft / 2) as isize;
    for t in 0..frames {
        let start = (t * hop) as isize - half;
        if start >= 0 && start as usize + n_fft <= audio.len() {
            // Interior frame: a plain slice, no per-sample bounds checks.
            for ((x, s), w) in input.iter_mut().zip(&audio[start as usize..][..n_fft]).zip(&window) {
                *x = s * w;
            }
        } else {
            for (i, x) in input.iter_mut().enumerate() {
                let j = start + i as isize;
                *x = if j >= 0 && (j as usize) < audio.len() { audio[j as usize] * window[i] } else { 0.0 };
            }
        }
        // Buffers come from the plan, so the transform cannot fail.
        let _ = fft.process_with_scratch(&mut input, &mut spectra[t * bins..(t + 1) * bins], &mut scratch);
    }
    // Each bin's percentile over frames, gathered a block of bins at a time so the
    // frame-major spectra are read in order. Magnitudes by a plain square root: `norm` is
    // `hypot`, several times slower.
    let mag = |c: &realfft::num_complex::Complex<f32>| (c.re * c.re + c.im * c.im).sqrt();
    const BLOCK: usize = 16;
    let rank = frames * PERCENTILE / 100;
    let mut steady_magnitude = vec![0f32; bins];
    let mut columns = vec![0f32; BLOCK * frames];
    for k0 in (0..bins).step_by(BLOCK) {
        let width = BLOCK.min(bins - k0);
        for t in 0..frames {
            for (b, c) in spectra[t * bins + k0..][..width].iter().enumerate() {
                columns[b * frames + t] = mag(c);
            }
        }
        for (b, column) in columns.chunks_exact_mut(frames).take(width).enumerate() {
            steady_magnitude[k0 + b] = *column.select_nth_unstable_by(rank, f32::total_cmp).1;
        }
    }
    // Magnitude subtraction with the original phase, then weighted overlap-add.
    let mut out = vec![0f32; audio.len() + n_fft];
    let mut norm = vec![0f32; audio.len() + n_fft];
    let mut frame = ifft.make_output_vec();
    for t in 0..frames {
        let spec = &mut spectra[t * bins..(t + 1) * bins];
        for (c, m) in spec.iter_mut().zip(&steady_magnitude) {
            let mag = mag(c);
            let gain = if mag > 0.0 { ((mag - strength * m) / mag).max(0.0) } else { 0.0 };
            *c *= gain;
        }
        spec[0].im = 0.0;
        spec[bins - 1].im = 0.0;
        let _ = ifft.process_with_scratch(spec, &mut frame, &mut scratch);
        // Frame t starts at sample t * hop - n_fft / 2, which is t * hop in the buffers padded by n_fft / 2.
        let (o, w2) = (&mut out[t * hop..][..n_fft], &mut norm[t * hop..][..n_fft]);
        for (((o, w2), x), w) in o.iter_mut().zip(w2).zip(&frame).zip(&window) {
            *o += x / n_fft as f32 * w;
            *w2 += w * w;
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
