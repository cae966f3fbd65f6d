//! Per-clip F0 and tonic accuracy of raga-dsp on rendered clips: `pitch_eval [BASE_SEED] [CLIPS_PER_RAGA] [SECONDS]`.

use raga_dsp::{FeatureConfig, features_at_rate};
use raga_synth::{RAGAS, RenderOptions, Split, clip_seed, render};
use rayon::prelude::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base: u64 = args.get(1).map_or(Ok(1), |s| s.parse())?;
    let per: u64 = args.get(2).map_or(Ok(2), |s| s.parse())?;
    let seconds: f32 = args.get(3).map_or(Ok(12.0), |s| s.parse())?;
    let jobs: Vec<(usize, u64)> = (0..RAGAS.len()).flat_map(|i| (0..per).map(move |k| (i, k))).collect();
    let rows: Vec<_> = jobs
        .par_iter()
        .map(|&(i, k)| -> anyhow::Result<_> {
            let seed = clip_seed(base, Split::Val, i, k);
            let clip = render(&RAGAS[i], seed, &RenderOptions { seconds, ..RenderOptions::default() })?;
            let f = features_at_rate(&clip.samples, &FeatureConfig::default())?;
            let (mut v, mut ok, mut unv, mut oct, mut other) = (0, 0, 0, 0, 0);
            for (&t, &e) in clip.f0_hz.iter().zip(&f.f0_hz) {
                if t > 0.0 {
                    v += 1;
                    if e <= 0.0 {
                        unv += 1;
                        continue;
                    }
                    let c = 1200.0 * (e / t).log2();
                    if c.abs() <= 50.0 {
                        ok += 1;
                    } else if ((c.abs() - 1200.0).abs() <= 50.0) || ((c.abs() - 1902.0).abs() <= 60.0) {
                        oct += 1;
                    } else {
                        other += 1;
                    }
                }
            }
            let tc = 1200.0 * (f.tonic_hz / clip.tonic_hz).log2();
            Ok((i, seed, clip, v, ok, unv, oct, other, tc))
        })
        .collect::<anyhow::Result<_>>()?;
    let (mut tv, mut tok, mut tonic_ok) = (0, 0, 0);
    for (i, seed, clip, v, ok, unv, oct, other, tc) in &rows {
        tv += v;
        tok += ok;
        if tc.abs() <= 30.0 {
            tonic_ok += 1;
        }
        println!(
            "{:<18} {seed:>20} {:<14} drone {:>6} snr {:>5} rt60 {:.2}  rpa {:.3} unvoiced {:.3} octave {:.3} other {:.3}  tonic {:>6.0}c",
            RAGAS[*i].id,
            format!("{:?}", clip.timbre),
            clip.drone_db.map_or("-".into(), |d| format!("{d:.0}")),
            clip.snr_db.map_or("-".into(), |d| format!("{d:.0}")),
            clip.rt60_s,
            *ok as f64 / *v as f64,
            *unv as f64 / *v as f64,
            *oct as f64 / *v as f64,
            *other as f64 / *v as f64,
            tc
        );
    }
    println!("TOTAL rpa {:.4}  tonic {}/{}", tok as f64 / tv as f64, tonic_ok, rows.len());
    Ok(())
}
