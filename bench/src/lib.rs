//! Shared helpers of the benchmark binaries.

pub mod server;

/// Command-line flags as `--name value` pairs, looked up by name.
#[derive(Debug, Clone)]
pub struct Flags {
    args: Vec<String>,
}

impl Flags {
    /// The process's arguments; `known` lists the accepted flags (each takes a value), so a
    /// typo is an error instead of a silently ignored option.
    ///
    /// # Errors
    /// An unknown flag or a flag without a value.
    pub fn parse(known: &[&str], usage: &str) -> anyhow::Result<Self> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if !known.contains(&flag.as_str()) {
                anyhow::bail!("unknown option {flag}; usage: {usage}");
            }
            if it.next().is_none() {
                anyhow::bail!("{flag} needs a value; usage: {usage}");
            }
        }
        Ok(Self { args })
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<String> {
        self.args.iter().position(|a| a == name).and_then(|i| self.args.get(i + 1)).cloned()
    }

    /// The value of `name` parsed, or `default`.
    ///
    /// # Errors
    /// The value does not parse.
    pub fn parse_or<T>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.get(name) {
            Some(v) => v.parse().map_err(|e| anyhow::anyhow!("{name} {v}: {e}")),
            None => Ok(default),
        }
    }
}

/// The `p` quantile (0..=1) of sorted values, nearest rank; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Writes `value` as pretty JSON to `path`, creating its folder.
///
/// # Errors
/// The folder or file cannot be written.
pub fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, serde_json::to_string_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// A deterministic xorshift64 generator: benchmarks replay the same requests.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a seed (any value; 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A uniform value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}
