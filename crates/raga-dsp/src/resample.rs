//! Channel down-mixing and sample-rate conversion (rubato's FFT resampler).

use rubato::{FftFixedIn, Resampler};

use crate::DspError;

/// Averages interleaved channels into one.
pub fn to_mono(samples: &[f32], channels: usize) -> Result<Vec<f32>, DspError> {
    if channels == 0 || !samples.len().is_multiple_of(channels) {
        return Err(DspError::Channels { samples: samples.len(), channels });
    }
    if channels == 1 {
        return Ok(samples.to_vec());
    }
    let scale = 1.0 / channels as f32;
    Ok(samples.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() * scale).collect())
}

/// Converts mono `samples` from `from` Hz to `to` Hz.
///
/// The output has `ceil(len * to / from)` samples and no added delay.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, DspError> {
    for rate in [from, to] {
        if !(8_000..=192_000).contains(&rate) {
            return Err(DspError::SampleRate(rate));
        }
    }
    if from == to {
        return Ok(samples.to_vec());
    }
    let expected = (samples.len() as u64 * to as u64).div_ceil(from as u64) as usize;
    // One FFT block spans an even number of the smallest whole-ratio chunks, so the
    // resampler's delay is a whole number of output samples and can be cut exactly.
    let gcd = gcd(from as usize, to as usize);
    let unit = 2 * from as usize / gcd;
    let chunk = unit * 1024usize.div_ceil(unit);
    let err = |e: &dyn std::fmt::Display| DspError::Resample(e.to_string());
    let mut resampler =
        FftFixedIn::<f32>::new(from as usize, to as usize, chunk, 1, 1).map_err(|e| err(&e))?;
    let delay = resampler.output_delay();
    let mut out = Vec::with_capacity(expected + delay + chunk * 2);
    let mut chunks = samples.chunks_exact(chunk);
    for block in chunks.by_ref() {
        let produced = resampler.process(&[block], None).map_err(|e| err(&e))?;
        out.extend_from_slice(&produced[0]);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let produced = resampler.process_partial(Some(&[rest]), None).map_err(|e| err(&e))?;
        out.extend_from_slice(&produced[0]);
    }
    while out.len() < delay + expected {
        let produced = resampler.process_partial::<&[f32]>(None, None).map_err(|e| err(&e))?;
        if produced[0].is_empty() {
            break;
        }
        out.extend_from_slice(&produced[0]);
    }
    out.drain(..delay.min(out.len()));
    out.resize(expected, 0.0);
    Ok(out)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n).map(|i| (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin()).collect()
    }

    #[test]
    fn resampling_keeps_a_sine_in_phase_at_every_common_rate() {
        for from in [8_000, 16_000, 32_000, 44_100, 48_000, 88_200, 96_000] {
            let input = sine(440.0, from, 1.5);
            let out = resample(&input, from, 22_050).unwrap();
            let expected = sine(440.0, 22_050, 1.5);
            assert_eq!(out.len(), (input.len() as u64 * 22_050).div_ceil(from as u64) as usize);
            // Away from the edges the output equals the ideal sine sampled at 22050 Hz.
            let err = out[2000..out.len() - 2000]
                .iter()
                .zip(&expected[2000..])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(err < 0.002, "{from} Hz: max error {err}");
        }
    }

    #[test]
    fn stereo_is_averaged() {
        assert_eq!(to_mono(&[1.0, 0.0, 0.5, 0.5], 2).unwrap(), vec![0.5, 0.5]);
        assert!(matches!(to_mono(&[1.0, 0.0, 0.5], 2), Err(DspError::Channels { .. })));
        assert!(matches!(to_mono(&[1.0], 0), Err(DspError::Channels { .. })));
    }

    #[test]
    fn rates_outside_the_supported_range_are_rejected() {
        assert_eq!(resample(&[0.0; 10], 4_000, 22_050), Err(DspError::SampleRate(4_000)));
    }
}
