//! The one error type of the DSP crate.

use thiserror::Error;

/// Why features could not be computed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DspError {
    /// No samples at all.
    #[error("audio is empty: no samples to analyse")]
    Empty,
    /// Shorter than the minimum clip length.
    #[error("audio is {seconds:.2} s long; at least {min} s is needed")]
    TooShort {
        /// Length of the input.
        seconds: f32,
        /// The minimum.
        min: f32,
    },
    /// A NaN or infinite sample.
    #[error("sample {index} is NaN or infinite; the audio is corrupt")]
    NonFinite {
        /// Index of the first bad sample.
        index: usize,
    },
    /// Nothing but (near) silence.
    #[error("audio is silent (peak below -100 dBFS); nothing to analyse")]
    Silent,
    /// Sample rate outside what the resampler accepts.
    #[error("sample rate {0} Hz is not supported; use 8000 to 192000 Hz")]
    SampleRate(u32),
    /// Interleaved samples whose length is not a multiple of the channel count.
    #[error("{samples} interleaved samples do not divide into {channels} channels")]
    Channels {
        /// Number of samples.
        samples: usize,
        /// Channel count.
        channels: usize,
    },
    /// A configuration value out of range.
    #[error("invalid feature configuration: {0}")]
    Config(String),
    /// The resampler failed.
    #[error("resampling failed: {0}")]
    Resample(String),
}
