//! Writes sample training curves and a 20-raga confusion matrix, to review how the plots look.
//!
//! `cargo run -p raga-plot --example samples -- <out-dir>` (default `target/raga-plot-samples`).

use std::path::PathBuf;

use raga_plot::{CurvePoint, confusion_matrix, training_curves};

const RAGAS: [&str; 20] = [
    "yaman",
    "bhairavi",
    "mayamalavagowla",
    "shankarabharanam",
    "miyan_ki_todi",
    "kalyani",
    "bhupali",
    "darbari_kanada",
    "kharaharapriya",
    "todi",
    "malkauns",
    "bageshri",
    "hamsadhwani",
    "mohanam",
    "kafi",
    "khamaj",
    "desh",
    "bihag",
    "marwa",
    "puriya_dhanashri",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir =
        std::env::args().nth(1).map_or_else(|| PathBuf::from("target/raga-plot-samples"), PathBuf::from);

    let mut points: Vec<CurvePoint> = (1..=40)
        .map(|e| {
            let t = e as f64;
            let wobble = (t * 1.7).sin() * 0.04;
            CurvePoint {
                epoch: e,
                train_loss: 2.9 * (-t / 9.0).exp() + 0.05,
                val_loss: 2.9 * (-t / 11.0).exp() + 0.25 + 0.004 * t + wobble,
                train_accuracy: 1.0 - 0.93 * (-t / 7.0).exp(),
                val_accuracy: (0.9 - 0.83 * (-t / 8.0).exp() + wobble).clamp(0.0, 1.0),
            }
        })
        .collect();
    // A validation pass that failed: the line breaks there.
    for p in &mut points[29..31] {
        p.val_loss = f64::NAN;
        p.val_accuracy = f64::NAN;
    }
    let mut paths = training_curves(&dir, "curves", "raga-cnn, seed 7", &points, Some(23))?;
    paths.extend(training_curves(&dir, "curves-single", "one epoch", &points[..1], Some(1))?);

    let labels: Vec<String> = RAGAS.iter().map(|s| (*s).to_owned()).collect();
    let n = labels.len();
    let counts: Vec<Vec<u64>> = (0..n)
        .map(|r| {
            (0..n)
                .map(|c| match (r, c) {
                    (7, _) => 0,
                    _ if r == c => 38 + (r as u64 * 7) % 13,
                    _ if c == (r + 1) % n => (r as u64 * 5) % 9,
                    _ if c == (r + 9) % n => 1 + (r as u64 % 3),
                    _ => 0,
                })
                .collect()
        })
        .collect();
    paths.extend(confusion_matrix(&dir, "confusion", "validation, epoch 23", &labels, &counts)?);
    for path in paths {
        println!("{}", path.display());
    }
    Ok(())
}
