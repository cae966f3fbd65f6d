//! Stacks [`Window`]s into the tensors of one [`ModelInput`] batch.

use burn::prelude::*;

use crate::input::{FRAME_FEATURES, HIST_FEATURES, Tradition, Window};
use crate::model::ModelInput;

impl ModelInput {
    /// One batch from windows of equal length and their traditions (one per window).
    ///
    /// # Panics
    /// When `windows` is empty, lengths differ, or `traditions.len() != windows.len()` —
    /// callers build both from the same loop.
    pub fn from_windows(windows: &[&Window], traditions: &[Tradition], device: &Device) -> Self {
        assert!(!windows.is_empty(), "a batch needs at least one window");
        assert_eq!(windows.len(), traditions.len(), "one tradition per window");
        let batch = windows.len();
        let frames = windows[0].mask.len();
        let mut values = Vec::with_capacity(batch * frames * FRAME_FEATURES);
        let mut mask = Vec::with_capacity(batch * frames);
        let mut hist = Vec::with_capacity(batch * HIST_FEATURES);
        for w in windows {
            assert_eq!(w.mask.len(), frames, "windows of one batch share a length");
            values.extend_from_slice(&w.values);
            mask.extend_from_slice(&w.mask);
            hist.extend_from_slice(&w.hist);
        }
        let tradition: Vec<i64> = traditions.iter().map(|t| t.id() as i64).collect();
        Self {
            frames: Tensor::from_data(TensorData::new(values, [batch, frames, FRAME_FEATURES]), device),
            frame_mask: Tensor::from_data(TensorData::new(mask, [batch, frames]), device),
            hist: Tensor::from_data(TensorData::new(hist, [batch, HIST_FEATURES]), device),
            tradition: Tensor::from_data(TensorData::new(tradition, [batch]), device),
        }
    }
}
