//! Friendly random run names in MLflow's style (`adjective-noun-123`).

const ADJECTIVES: &[&str] = &[
    "able", "amazing", "bold", "brave", "bright", "calm", "clever", "crisp", "dapper", "eager", "fearless",
    "gentle", "glad", "graceful", "honest", "jolly", "keen", "kind", "lively", "lucky", "merry", "nimble",
    "patient", "placid", "polite", "proud", "quick", "quiet", "rare", "serene", "sharp", "shy", "silent",
    "sleek", "smiling", "steady", "sunny", "swift", "tender", "upbeat", "vivid", "warm", "wise", "witty",
    "zealous",
];

const NOUNS: &[&str] = &[
    "ant", "bass", "bee", "bird", "cat", "cod", "colt", "crab", "crane", "deer", "doe", "dove", "eel", "elk",
    "finch", "fox", "frog", "gnat", "goat", "hare", "hawk", "hen", "heron", "horse", "jay", "koi", "lark",
    "lynx", "mink", "moth", "mule", "newt", "owl", "ox", "panda", "quail", "ram", "robin", "seal", "shark",
    "sloth", "snail", "stork", "swan", "toad", "trout", "whale", "wolf", "wren", "yak",
];

/// A new random run name.
pub fn random_run_name() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let a = ADJECTIVES[bytes[0] as usize % ADJECTIVES.len()];
    let n = NOUNS[bytes[1] as usize % NOUNS.len()];
    let num = u16::from_le_bytes([bytes[2], bytes[3]]) % 1000;
    format!("{a}-{n}-{num}")
}
