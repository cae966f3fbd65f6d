//! Subcommands, one module each.

pub mod features;
pub mod synth;
