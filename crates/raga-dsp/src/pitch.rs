//! Tonic-normalised pitch features: cents relative to Sa, the folded pitch-class histogram,
//! and a summary of the held notes and the moves between them (how a raga walks its scale).

/// Bins of the folded pitch-class histogram: 10 cents each.
pub const HIST_BINS: usize = 120;
/// Semitones in the octave: the note classes of the held-note summary.
pub const NOTES: usize = 12;
/// Values of [`note_summary`]: time held per note, moves from note to note, and how often
/// each note is reached from below and from above.
pub const NOTE_SUMMARY_FEATURES: usize = NOTES + NOTES * NOTES + NOTES * 2;
/// Frames (hop 512 at 22.05 kHz: about 93 ms) a semitone must hold to count as a note.
const MIN_NOTE_FRAMES: usize = 4;

/// Cents of each voiced frame relative to `tonic_hz` (unfolded); `None` where unvoiced.
pub fn cents_from_tonic(f0_hz: &[f32], tonic_hz: f32) -> Vec<Option<f32>> {
    f0_hz.iter().map(|&f| (f > 0.0 && tonic_hz > 0.0).then(|| 1200.0 * (f / tonic_hz).log2())).collect()
}

/// Histogram of cents folded into one octave, [`HIST_BINS`] bins of 10 cents with bin 0
/// centred on Sa, weighted by voicing probability and normalised to sum to 1.
pub fn pitch_class_histogram(cents: &[Option<f32>], weights: &[f32]) -> Vec<f32> {
    folded_histogram(cents, weights, HIST_BINS)
}

/// Histogram of cents folded into one octave in `bins` equal bins (1200 / `bins` cents each,
/// bin 0 centred on Sa; [`NOTES`] bins: time per note), each voiced frame counting its
/// `weights` entry (at least 1e-3), normalised to sum to 1 (all zero when nothing is voiced).
pub fn folded_histogram(cents: &[Option<f32>], weights: &[f32], bins: usize) -> Vec<f32> {
    let mut hist = vec![0f32; bins];
    let width = 1200.0 / bins.max(1) as f32;
    for (c, w) in cents.iter().zip(weights) {
        if let Some(c) = c {
            let bin = (c / width).round().rem_euclid(bins as f32) as usize % bins;
            hist[bin] += w.max(1e-3);
        }
    }
    let total: f32 = hist.iter().sum();
    if total > 0.0 {
        hist.iter_mut().for_each(|h| *h /= total);
    }
    hist
}

/// Held notes of a pitch track (cents relative to Sa): runs of at least [`MIN_NOTE_FRAMES`]
/// voiced frames on one semitone (unfolded, so octaves stay apart), as (semitone, frames).
fn held_notes(cents: &[Option<f32>]) -> Vec<(i32, usize)> {
    let mut notes = Vec::new();
    let mut run: Option<(i32, usize)> = None;
    for c in cents.iter().map(|c| c.map(|c| (c / 100.0).round() as i32)).chain([None]) {
        match (run, c) {
            (Some((note, len)), Some(n)) if n == note => run = Some((note, len + 1)),
            _ => {
                if let Some((note, len)) = run.take()
                    && len >= MIN_NOTE_FRAMES
                {
                    notes.push((note, len));
                }
                run = c.map(|n| (n, 1));
            }
        }
    }
    notes
}

/// How the melody moves through its notes: [`NOTE_SUMMARY_FEATURES`] values in three blocks,
/// each normalised to sum to 1 (all zero when fewer than two notes are held):
/// - time held on each of the 12 semitones above Sa (folded);
/// - moves from each held note to the next, a 12 × 12 matrix (row: from, column: to);
/// - arrivals at each note from below, then from above (12 × 2) — aroha and avaroha.
pub fn note_summary(cents: &[Option<f32>]) -> Vec<f32> {
    let notes = held_notes(cents);
    let mut out = vec![0f32; NOTE_SUMMARY_FEATURES];
    let (held, rest) = out.split_at_mut(NOTES);
    let (moves, arrivals) = rest.split_at_mut(NOTES * NOTES);
    let class = |n: i32| n.rem_euclid(NOTES as i32) as usize;
    for &(note, len) in &notes {
        held[class(note)] += len as f32;
    }
    for pair in notes.windows(2) {
        let ((from, _), (to, _)) = (pair[0], pair[1]);
        moves[class(from) * NOTES + class(to)] += 1.0;
        if to != from {
            arrivals[class(to) * 2 + usize::from(to < from)] += 1.0;
        }
    }
    for block in [held, moves, arrivals] {
        let total: f32 = block.iter().sum();
        if total > 0.0 {
            block.iter_mut().for_each(|v| *v /= total);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octaves_fold_onto_sa_and_pa_lands_on_bin_70() {
        let f0 = [200.0, 400.0, 100.0, 300.0, 0.0];
        let cents = cents_from_tonic(&f0, 200.0);
        assert_eq!(cents[0], Some(0.0));
        assert_eq!(cents[4], None);
        let hist = pitch_class_histogram(&cents, &[1.0; 5]);
        assert!((hist[0] - 0.75).abs() < 1e-6);
        assert!((hist[70] - 0.25).abs() < 1e-6, "pure fifth is 702 cents → bin 70");
        assert!((hist.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn nothing_voiced_gives_an_empty_histogram() {
        let hist = pitch_class_histogram(&[None, None], &[0.0, 0.0]);
        assert!(hist.iter().all(|h| *h == 0.0));
    }

    #[test]
    fn note_summary_counts_held_notes_moves_and_directions() {
        // S (8 frames), R (6), a 2-frame blip on G (too short), G (5), then R' an octave up.
        let mut cents = Vec::new();
        cents.extend(std::iter::repeat_n(Some(3.0), 8));
        cents.extend(std::iter::repeat_n(Some(198.0), 6));
        cents.extend(std::iter::repeat_n(Some(410.0), 2));
        cents.push(None);
        cents.extend(std::iter::repeat_n(Some(395.0), 5));
        cents.extend(std::iter::repeat_n(Some(1402.0), 4));
        let s = note_summary(&cents);
        assert_eq!(s.len(), NOTE_SUMMARY_FEATURES);
        let (held, rest) = s.split_at(NOTES);
        let (moves, arrivals) = rest.split_at(NOTES * NOTES);
        let total = 23.0;
        assert!((held[0] - 8.0 / total).abs() < 1e-6);
        assert!((held[2] - (6.0 + 4.0) / total).abs() < 1e-6, "R and the upper R fold together");
        assert!((held[4] - 5.0 / total).abs() < 1e-6);
        // Moves S→R, R→G, G→R': three, each a third.
        assert!((moves[2] - 1.0 / 3.0).abs() < 1e-6);
        assert!((moves[2 * NOTES + 4] - 1.0 / 3.0).abs() < 1e-6);
        assert!((moves[4 * NOTES + 2] - 1.0 / 3.0).abs() < 1e-6);
        // All three arrivals are from below.
        assert!((arrivals[2 * 2] - 2.0 / 3.0).abs() < 1e-6, "R reached from below twice");
        assert!((arrivals[4 * 2] - 1.0 / 3.0).abs() < 1e-6);
        assert!(arrivals.iter().skip(1).step_by(2).all(|&a| a == 0.0), "nothing from above");
    }

    #[test]
    fn note_summary_of_silence_is_zero() {
        assert!(note_summary(&[None; 50]).iter().all(|&v| v == 0.0));
        assert!(note_summary(&[]).iter().all(|&v| v == 0.0));
    }
}
