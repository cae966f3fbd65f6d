//! The raga classifier: a strided convolutional front-end, a transformer encoder, masked mean
//! pooling, and a head that also sees the window's pitch-class histogram and the tradition.

use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Gelu, LayerNorm, LayerNormConfig, Linear,
    LinearConfig, PaddingConfig1d,
    conv::{Conv1d, Conv1dConfig},
};
use burn::prelude::*;

use crate::input::{FRAME_FEATURES, HIST_FEATURES, N_TRADITIONS};

/// The most parameters a config may ask for: about 12× the reference "full" profile (400 MB
/// as f32). Packages come from the network; one that asks for more is refused, not allocated.
pub const MAX_PARAMETERS: u64 = 100_000_000;
/// The longest model window, in frames.
pub const MAX_WINDOW_FRAMES: usize = 1 << 16;
/// The most classes a head may score.
pub const MAX_CLASSES: usize = 10_000;

/// Everything that decides the network's shape. Saved with every model (in the package
/// manifest and next to checkpoints) so inference rebuilds exactly what was trained.
#[derive(Config, Debug, PartialEq)]
pub struct RagaModelConfig {
    /// Number of ragas the head scores.
    pub n_classes: usize,
    /// Width of the transformer.
    #[config(default = 384)]
    pub d_model: usize,
    /// Attention heads (must divide `d_model`).
    #[config(default = 6)]
    pub n_heads: usize,
    /// Encoder layers.
    #[config(default = 4)]
    pub n_layers: usize,
    /// Width of the feed-forward block inside each layer.
    #[config(default = 1536)]
    pub d_ff: usize,
    /// Dropout used throughout (only active while training).
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Frames in one model window; longer clips are classified window by window.
    #[config(default = 432)]
    pub window_frames: usize,
    /// Adds one output after the ragas: "this window is not seen from its true Sa". The
    /// trainer shows windows shifted to wrong tonics under that label, and inference uses it
    /// to pick among the tonic estimator's candidates (see [`crate::classify`]). Off in
    /// packages that predate it.
    #[config(default = false)]
    pub tonic_check: bool,
}

impl RagaModelConfig {
    /// Tokens the encoder sees for a window of `frames` frames (the front-end strides by 4).
    pub fn tokens(frames: usize) -> usize {
        frames.div_ceil(2).div_ceil(2)
    }

    /// Fills in, on a saved config (`model` of a manifest or a run's `config.json`), the
    /// fields added since it was written, with the values that rebuild the older network:
    /// packages and run folders from earlier builds keep loading.
    pub fn upgrade_saved(config: &mut serde_json::Value) {
        if let Some(fields) = config.as_object_mut() {
            fields.entry("tonic_check").or_insert(serde_json::Value::Bool(false));
        }
    }

    /// Outputs of the head: the ragas, then the off-tonic score when [`tonic_check`](Self::tonic_check).
    pub fn outputs(&self) -> usize {
        self.n_classes + usize::from(self.tonic_check)
    }

    /// Checks the configuration can build a network.
    pub fn validate(&self) -> Result<(), crate::ModelError> {
        let bad = |what: String| Err(crate::ModelError::Config(what));
        if self.n_classes < 2 {
            return bad(format!("n_classes is {}, need at least 2 ragas", self.n_classes));
        }
        if self.d_model == 0 || self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return bad(format!(
                "d_model {} must be a positive multiple of n_heads {}",
                self.d_model, self.n_heads
            ));
        }
        if self.n_layers == 0 || self.d_ff == 0 {
            return bad("n_layers and d_ff must be positive".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        if self.window_frames < 16 {
            return bad(format!("window_frames {} is too short (at least 16)", self.window_frames));
        }
        if self.window_frames > MAX_WINDOW_FRAMES {
            return bad(format!(
                "window_frames {} is longer than {MAX_WINDOW_FRAMES} (about 25 minutes)",
                self.window_frames
            ));
        }
        if self.n_classes > MAX_CLASSES {
            return bad(format!("n_classes {} is more than {MAX_CLASSES}", self.n_classes));
        }
        let parameters = self.parameters();
        if parameters > MAX_PARAMETERS {
            return bad(format!(
                "the network would have {parameters} parameters, more than the {MAX_PARAMETERS} \
                 this build loads (the reference \"full\" profile has about 8 million)"
            ));
        }
        Ok(())
    }

    /// How many numbers the network holds (weights and biases), computed without building it
    /// and without overflowing, so a hostile config is refused before anything is allocated.
    pub fn parameters(&self) -> u64 {
        let [d, ff, layers, classes, tokens] =
            [self.d_model, self.d_ff, self.n_layers, self.outputs(), Self::tokens(self.window_frames)]
                .map(|n| n as u64);
        let linear = |i: u64, o: u64| i.saturating_mul(o).saturating_add(o);
        let conv = |c_in: u64| linear(c_in.saturating_mul(3), d);
        let layer = [linear(d, d).saturating_mul(4), linear(d, ff), linear(ff, d), d.saturating_mul(4)]
            .into_iter()
            .fold(0u64, u64::saturating_add);
        [
            conv(FRAME_FEATURES as u64),
            conv(d),
            tokens.saturating_mul(d),
            layer.saturating_mul(layers),
            d.saturating_mul(2),
            linear(HIST_FEATURES as u64, d),
            (N_TRADITIONS as u64).saturating_mul(d),
            linear(d, d),
            linear(d, classes),
        ]
        .into_iter()
        .fold(0u64, u64::saturating_add)
    }

    /// Builds the network with freshly initialised weights on `device`.
    ///
    /// Call [`validate`](Self::validate) first for a clear error on a bad config.
    pub fn init(&self, device: &Device) -> RagaModel {
        let conv = |c_in: usize| {
            Conv1dConfig::new(c_in, self.d_model, 3)
                .with_stride(2)
                .with_padding(PaddingConfig1d::Explicit(1, 1))
                .init(device)
        };
        let encoder = TransformerEncoderConfig::new(self.d_model, self.d_ff, self.n_heads, self.n_layers)
            .with_dropout(self.dropout)
            .with_norm_first(true)
            .init(device);
        RagaModel {
            conv1: conv(FRAME_FEATURES),
            conv2: conv(self.d_model),
            position: EmbeddingConfig::new(Self::tokens(self.window_frames), self.d_model)
                .with_initializer(burn::nn::Initializer::Normal { mean: 0.0, std: 0.02 })
                .init(device),
            encoder,
            pooled_norm: LayerNormConfig::new(self.d_model).init(device),
            hist: LinearConfig::new(HIST_FEATURES, self.d_model).init(device),
            tradition: EmbeddingConfig::new(N_TRADITIONS, self.d_model)
                .with_initializer(burn::nn::Initializer::Normal { mean: 0.0, std: 0.02 })
                .init(device),
            hidden: LinearConfig::new(self.d_model, self.d_model).init(device),
            output: LinearConfig::new(self.d_model, self.outputs()).init(device),
            activation: Gelu::new(),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

/// The network. Build it with [`RagaModelConfig::init`].
#[derive(Module, Debug)]
pub struct RagaModel {
    conv1: Conv1d,
    conv2: Conv1d,
    position: Embedding,
    encoder: TransformerEncoder,
    pooled_norm: LayerNorm,
    hist: Linear,
    tradition: Embedding,
    hidden: Linear,
    output: Linear,
    activation: Gelu,
    dropout: Dropout,
}

/// One batch of model windows, as tensors on the model's device.
#[derive(Debug, Clone)]
pub struct ModelInput {
    /// Per-frame features, `[batch, frames, FRAME_FEATURES]` (see [`crate::input`]).
    pub frames: Tensor<3>,
    /// Which frames are real (1.0) and which are padding (0.0), `[batch, frames]`.
    pub frame_mask: Tensor<2>,
    /// The window's pitch-class histogram, `[batch, HIST_FEATURES]`.
    pub hist: Tensor<2>,
    /// Tradition ids (see [`crate::input::tradition_id`]), `[batch]`.
    pub tradition: Tensor<1, Int>,
}

impl RagaModel {
    /// Scores every raga for every window.
    ///
    /// # Shapes
    /// - `input.frames`: `[batch, frames, FRAME_FEATURES]`, `frames ≤ window_frames`
    /// - `input.frame_mask`: `[batch, frames]`
    /// - `input.hist`: `[batch, HIST_FEATURES]`
    /// - `input.tradition`: `[batch]`
    /// - output: logits `[batch, outputs]` (see [`RagaModelConfig::outputs`])
    pub fn forward(&self, input: ModelInput) -> Tensor<2> {
        let [batch, frames, _] = input.frames.dims();
        let device = input.frames.device();

        // Front-end: [B, T, F] -> [B, F, T] -> two stride-2 convs -> [B, T/4, d].
        let x = input.frames.swap_dims(1, 2);
        let x = self.activation.forward(self.conv1.forward(x));
        let x = self.activation.forward(self.conv2.forward(x));
        let x = x.swap_dims(1, 2);
        let [_, tokens, d_model] = x.dims();

        // A token is real when any frame it covers is real: max-pool the mask by 4.
        let mask = downsample_mask(input.frame_mask, tokens, frames); // [B, tokens]

        let positions = Tensor::<1, Int>::arange(0..tokens as i64, &device).reshape([1, tokens]);
        let x = x + self.position.forward(positions).expand([batch, tokens, d_model]);
        let x = self.dropout.forward(x);

        let pad = mask.clone().lower_elem(0.5);
        let x = self.encoder.forward(TransformerEncoderInput::new(x).mask_pad(pad));

        // Masked mean over real tokens.
        let weights = mask.clone().unsqueeze_dim::<3>(2); // [B, tokens, 1]
        let summed = (x * weights).sum_dim(1).reshape([batch, d_model]);
        let counts = mask.sum_dim(1).clamp_min(1.0); // [B, 1]
        let pooled = self.pooled_norm.forward(summed / counts);

        let hist = self.activation.forward(self.hist.forward(input.hist));
        let tradition = self.tradition.forward(input.tradition.reshape([batch, 1])).reshape([batch, d_model]);

        let h = self.activation.forward(self.hidden.forward(pooled + hist + tradition));
        self.output.forward(self.dropout.forward(h))
    }
}

/// Shrinks a `[batch, frames]` 0/1 mask to `[batch, tokens]`: a token is real when any of the
/// (up to four) frames under it is.
fn downsample_mask(mask: Tensor<2>, tokens: usize, frames: usize) -> Tensor<2> {
    let [batch, _] = mask.dims();
    let padded_len = tokens * 4;
    let mask = if padded_len > frames {
        let device = mask.device();
        Tensor::cat(vec![mask, Tensor::zeros([batch, padded_len - frames], &device)], 1)
    } else {
        mask
    };
    mask.reshape([batch, tokens, 4]).max_dim(2).reshape([batch, tokens])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_count_is_the_built_networks() {
        let device = Device::flex();
        for config in [
            RagaModelConfig::new(20),
            RagaModelConfig::new(20).with_d_model(96).with_n_heads(4).with_n_layers(2).with_d_ff(192),
            RagaModelConfig::new(7).with_window_frames(17).with_tonic_check(true),
        ] {
            assert_eq!(config.parameters(), config.init(&device).num_params() as u64, "{config:?}");
        }
    }

    #[test]
    fn oversized_configs_are_refused_before_anything_is_built() {
        let reference = RagaModelConfig::new(20);
        assert!(reference.validate().is_ok());
        for (config, says) in [
            (RagaModelConfig::new(20).with_n_layers(usize::MAX), "parameters"),
            (RagaModelConfig::new(20).with_d_model(6 * 10_000).with_d_ff(1), "parameters"),
            (RagaModelConfig::new(20).with_window_frames(usize::MAX), "window_frames"),
            (RagaModelConfig::new(usize::MAX), "n_classes"),
        ] {
            let err = config.validate().expect_err("refused").to_string();
            assert!(err.contains(says), "{err}");
        }
    }
}
