//! Rolling prediction over a live stream (a microphone): the last few seconds are
//! classified every so often, and the probabilities are smoothed over updates so the answer
//! settles instead of flickering.

use raga_model::RagaScore;
use serde::Serialize;

/// Streaming settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamOptions {
    /// Seconds of audio each update classifies (the latest ones).
    pub window_s: f32,
    /// Seconds of new audio between updates.
    pub hop_s: f32,
    /// Seconds needed before the first update.
    pub min_s: f32,
    /// Weight of the newest update in the smoothed probabilities (0–1].
    pub smoothing: f32,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self { window_s: 10.0, hop_s: 2.0, min_s: 4.0, smoothing: 0.4 }
    }
}

impl StreamOptions {
    /// Checks the numbers make sense.
    pub fn check(&self) -> Result<(), String> {
        let ok = |x: f32| x.is_finite() && x > 0.0;
        if !(ok(self.window_s) && ok(self.hop_s) && ok(self.min_s)) || self.min_s > self.window_s {
            return Err(format!(
                "windowS {} / hopS {} / minS {} must be positive with minS ≤ windowS",
                self.window_s, self.hop_s, self.min_s
            ));
        }
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return Err(format!("smoothing {} must be in (0, 1]", self.smoothing));
        }
        Ok(())
    }
}

/// The buffered audio and the smoothed answer.
#[derive(Debug, Clone)]
pub struct StreamState {
    options: StreamOptions,
    sample_rate: f32,
    buffer: Vec<f32>,
    fresh: usize,
    smoothed: Option<Vec<f32>>,
    history: Vec<String>,
    updates: u32,
}

/// What a streaming update reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rolling {
    /// The smoothed answer.
    pub raga: String,
    /// Its smoothed probability.
    pub confidence: f32,
    /// The five best, smoothed.
    pub top_k: Vec<RagaScore>,
    /// Updates so far.
    pub updates: u32,
    /// Whether the last three updates agree.
    pub stable: bool,
    /// Seconds of audio heard so far.
    pub heard_s: f32,
}

impl StreamState {
    /// An empty stream at `sample_rate`.
    pub fn new(options: StreamOptions, sample_rate: f32) -> Result<Self, String> {
        options.check()?;
        if !(sample_rate.is_finite() && (8000.0..=192_000.0).contains(&sample_rate)) {
            return Err(format!("sample rate {sample_rate} must be within 8–192 kHz"));
        }
        Ok(Self {
            options,
            sample_rate,
            buffer: Vec::new(),
            fresh: 0,
            smoothed: None,
            history: Vec::new(),
            updates: 0,
        })
    }

    /// The sample rate.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// Appends samples; returns the window to classify when an update is due.
    pub fn push(&mut self, samples: &[f32]) -> Option<Vec<f32>> {
        self.buffer.extend_from_slice(samples);
        self.fresh += samples.len();
        let window = (self.options.window_s * self.sample_rate) as usize;
        // Keep one window plus one hop at most.
        let keep = window + (self.options.hop_s * self.sample_rate) as usize;
        if self.buffer.len() > keep {
            self.buffer.drain(..self.buffer.len() - keep);
        }
        let min = (self.options.min_s * self.sample_rate) as usize;
        let hop = (self.options.hop_s * self.sample_rate) as usize;
        let due = if self.updates == 0 { self.buffer.len() >= min } else { self.fresh >= hop };
        if !due {
            return None;
        }
        self.fresh = 0;
        let start = self.buffer.len().saturating_sub(window);
        Some(self.buffer[start..].to_vec())
    }

    /// The settings.
    pub fn options(&self) -> StreamOptions {
        self.options
    }

    /// Folds one update's probabilities (one per label) into the smoothed answer.
    pub fn update(&mut self, labels: &[String], probabilities: &[f32], heard_s: f32) -> Rolling {
        let a = self.options.smoothing;
        let smoothed = match self.smoothed.take() {
            Some(s) if s.len() == probabilities.len() => {
                s.iter().zip(probabilities).map(|(old, new)| (1.0 - a) * old + a * new).collect()
            }
            _ => probabilities.to_vec(),
        };
        let mut order: Vec<usize> = (0..smoothed.len()).collect();
        order.sort_by(|&i, &j| smoothed[j].total_cmp(&smoothed[i]));
        let top_k: Vec<RagaScore> = order
            .iter()
            .take(5)
            .filter_map(|&i| Some(RagaScore { raga: labels.get(i)?.clone(), p: smoothed[i] }))
            .collect();
        let best = top_k.first().cloned().unwrap_or(RagaScore { raga: String::new(), p: 0.0 });
        self.smoothed = Some(smoothed);
        self.updates += 1;
        self.history.push(best.raga.clone());
        let recent = &self.history[self.history.len().saturating_sub(3)..];
        let stable = recent.len() == 3 && recent.iter().all(|r| *r == best.raga);
        Rolling { raga: best.raga, confidence: best.p, top_k, updates: self.updates, stable, heard_s }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_come_after_min_seconds_then_every_hop() {
        let opts = StreamOptions { window_s: 4.0, hop_s: 1.0, min_s: 2.0, smoothing: 0.5 };
        let mut s = StreamState::new(opts, 8000.0).unwrap();
        assert!(s.push(&[0.0; 8000]).is_none());
        let first = s.push(&[0.0; 8000]).unwrap();
        assert_eq!(first.len(), 16000);
        let labels = vec!["a".to_string(), "b".to_string()];
        s.update(&labels, &[0.9, 0.1], 2.0);
        assert!(s.push(&[0.0; 4000]).is_none());
        let w = s.push(&[0.0; 4000]).unwrap();
        assert_eq!(w.len(), 24000);
        for _ in 0..5 {
            s.push(&[0.0; 8000]);
        }
        let w = s.push(&[0.0; 8000]).unwrap();
        assert_eq!(w.len(), 32000, "one window at most");
    }

    #[test]
    fn smoothing_settles_and_reports_stability() {
        let opts = StreamOptions { smoothing: 0.5, ..StreamOptions::default() };
        let mut s = StreamState::new(opts, 22050.0).unwrap();
        let labels = vec!["yaman".to_string(), "bhairav".to_string()];
        let r = s.update(&labels, &[0.2, 0.8], 4.0);
        assert_eq!((r.raga.as_str(), r.stable), ("bhairav", false));
        let r = s.update(&labels, &[0.9, 0.1], 6.0);
        assert_eq!(r.raga, "yaman");
        assert!((r.confidence - 0.55).abs() < 1e-6);
        s.update(&labels, &[0.9, 0.1], 8.0);
        let r = s.update(&labels, &[0.9, 0.1], 10.0);
        assert!(r.stable && r.raga == "yaman" && r.updates == 4);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(StreamState::new(StreamOptions::default(), 4000.0).is_err());
        let opts = StreamOptions { min_s: 20.0, ..StreamOptions::default() };
        assert!(StreamState::new(opts, 22050.0).is_err());
        let opts = StreamOptions { smoothing: 0.0, ..StreamOptions::default() };
        assert!(StreamState::new(opts, 22050.0).is_err());
    }
}
