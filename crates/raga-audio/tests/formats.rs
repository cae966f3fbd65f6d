//! Real files from real encoders (sox with libvorbis and libFLAC, lame) decode: the header
//! checks in `container.rs` refuse no valid file. Each is a 220 Hz tone made by
//! `bench/fuzz/seeds.py`.

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn ogg_vorbis_flac_and_mp3_from_real_encoders_decode() {
    for (name, rate, channels, seconds) in [
        ("tone.ogg", 22_050, 1, 0.3),
        ("tone-stereo-24bit.flac", 11_025, 2, 0.2),
        ("tone.mp3", 22_050, 1, 0.3),
    ] {
        let decoded = raga_audio::decode(&fixture(name), None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((decoded.sample_rate, decoded.channels), (rate, channels), "{name}");
        // MP3 pads with an encoder delay; the others are exact.
        assert!((decoded.seconds() - seconds).abs() < 0.1, "{name}: {} s", decoded.seconds());
        let peak = decoded.samples.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!((0.3..=1.0).contains(&peak), "{name}: peak {peak}");
    }
}
