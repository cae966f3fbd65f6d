//! Classification scores: confusion matrix, accuracy, per-class precision/recall/F1, macro-F1.

use serde::{Deserialize, Serialize};

/// Counts of (truth, prediction) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Classes.
    pub n: usize,
    /// `n × n`, row = truth, column = prediction.
    pub counts: Vec<Vec<u64>>,
}

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// Class label.
    pub label: String,
    /// Of the clips predicted as this class, the share that were.
    pub precision: f64,
    /// Of the clips of this class, the share found.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Clips of this class.
    pub support: u64,
}

impl Confusion {
    /// An empty matrix.
    pub fn new(n: usize) -> Self {
        Self { n, counts: vec![vec![0; n]; n] }
    }

    /// Records one answer.
    pub fn add(&mut self, truth: usize, predicted: usize) {
        if truth < self.n && predicted < self.n {
            self.counts[truth][predicted] += 1;
        }
    }

    /// Answers recorded.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Share of right answers (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        (0..self.n).map(|i| self.counts[i][i]).sum::<u64>() as f64 / total as f64
    }

    /// Per-class scores, in label order.
    pub fn per_class(&self, labels: &[String]) -> Vec<ClassScore> {
        (0..self.n)
            .map(|c| {
                let tp = self.counts[c][c] as f64;
                let support: u64 = self.counts[c].iter().sum();
                let predicted: u64 = (0..self.n).map(|r| self.counts[r][c]).sum();
                let precision = if predicted > 0 { tp / predicted as f64 } else { 0.0 };
                let recall = if support > 0 { tp / support as f64 } else { 0.0 };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassScore {
                    label: labels.get(c).cloned().unwrap_or_else(|| c.to_string()),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// Mean F1 over the classes that occur (in truth or prediction).
    pub fn macro_f1(&self) -> f64 {
        let scores = self.per_class(&[]);
        let present: Vec<&ClassScore> = scores
            .iter()
            .enumerate()
            .filter(|(c, s)| s.support > 0 || (0..self.n).any(|r| self.counts[r][*c] > 0))
            .map(|(_, s)| s)
            .collect();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|s| s.f1).sum::<f64>() / present.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_hand_computation() {
        let mut c = Confusion::new(3);
        for (t, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (2, 1)] {
            c.add(t, p);
        }
        assert_eq!(c.total(), 5);
        assert!((c.accuracy() - 0.6).abs() < 1e-12);
        let s = c.per_class(&["a".into(), "b".into(), "c".into()]);
        assert!((s[0].precision - 1.0).abs() < 1e-12 && (s[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((s[1].precision - 1.0 / 3.0).abs() < 1e-12 && (s[1].recall - 1.0).abs() < 1e-12);
        assert_eq!(s[2].f1, 0.0);
        let f1 = (0.8 + 0.5 + 0.0) / 3.0;
        assert!((c.macro_f1() - f1).abs() < 1e-12);
        assert_eq!(Confusion::new(2).accuracy(), 0.0);
    }
}
