//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the
//! libFuzzer targets make, without libFuzzer: every input the fuzzer kept, including any that
//! once crashed, is a regression test on every CI run. `bash bench/fuzz/run.sh` grows it.

use std::path::Path;

#[test]
fn every_committed_fuzz_input_still_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (target, check) in ragasense_fuzz_oracles::TARGETS {
        let dir = root.join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (the corpus is committed)", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 10, "{target}: only {} inputs in {}", inputs.len(), dir.display());
        for input in &inputs {
            let data = std::fs::read(input).expect("corpus file");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target} fails on {}", input.display());
        }
        eprintln!("{target}: {} inputs replayed", inputs.len());
    }
}
