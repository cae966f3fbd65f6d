//! Tests of the whole renderer: determinism, seeds, ground truth and raga character.

use super::*;

fn opts(seconds: f32) -> RenderOptions {
    RenderOptions { seconds, ..RenderOptions::default() }
}

/// A few 20 s clips of one raga from the test split.
fn clips(id: &str, count: u64) -> Vec<Clip> {
    let i = raga_index(id).unwrap_or_else(|| panic!("no raga {id}"));
    (0..count).map(|k| render(&RAGAS[i], clip_seed(5, Split::Test, i, k), &opts(20.0)).unwrap()).collect()
}

/// Mean voiced pitch in semitones above the tonic (register).
fn mean_semitones(clips: &[Clip]) -> f32 {
    let v: Vec<f32> = clips
        .iter()
        .flat_map(|c| c.f0_hz.iter().filter(|f| **f > 0.0).map(move |f| 12.0 * (f / c.tonic_hz).log2()))
        .collect();
    v.iter().sum::<f32>() / v.len().max(1) as f32
}

/// Pitch swings of at least 60 cents (a zig-zag with hysteresis) per voiced second: counts
/// kampita and other fast gamakas, not vibrato, andolan or one-way meend.
fn swings_per_second(clips: &[Clip]) -> f32 {
    const H: f32 = 60.0;
    let (mut swings, mut voiced) = (0usize, 0usize);
    for c in clips {
        let mut run: Option<(f32, f32, i32)> = None; // (lowest, highest since turn, direction)
        for f in &c.f0_hz {
            if *f <= 0.0 {
                run = None;
                continue;
            }
            voiced += 1;
            let x = 1200.0 * (f / c.tonic_hz).log2();
            run = Some(match run {
                None => (x, x, 0),
                Some((lo, hi, dir)) => {
                    let (lo, hi) = (lo.min(x), hi.max(x));
                    if dir >= 0 && hi - x >= H {
                        swings += usize::from(dir > 0);
                        (x, x, -1)
                    } else if dir <= 0 && x - lo >= H {
                        swings += usize::from(dir < 0);
                        (x, x, 1)
                    } else {
                        (lo, hi, dir)
                    }
                }
            });
        }
    }
    let frames_per_second = SAMPLE_RATE as f32 / HOP_LENGTH as f32;
    swings as f32 / (voiced.max(1) as f32 / frames_per_second)
}

/// Cents above the tonic, folded into one octave, of every voiced frame.
fn folded_cents(c: &Clip) -> Vec<f32> {
    c.f0_hz
        .iter()
        .filter(|f| **f > 0.0)
        .map(|f| (1200.0 * (f / c.tonic_hz).log2()).rem_euclid(1200.0))
        .collect()
}

/// Distance in cents from a folded pitch to the nearest scale note of `r`.
fn off_scale_cents(r: &Raga, cents: f32) -> f32 {
    r.scale
        .iter()
        .map(|n| {
            let d = (cents - 100.0 * f32::from(*n)).rem_euclid(1200.0);
            d.min(1200.0 - d)
        })
        .fold(f32::MAX, f32::min)
}

/// Share of voiced frames within 50 cents of a scale note.
fn in_scale_share(c: &Clip) -> f32 {
    let cents = folded_cents(c);
    let ok = cents.iter().filter(|x| off_scale_cents(c.raga, **x) <= 50.0).count();
    ok as f32 / cents.len().max(1) as f32
}

/// Share of voiced frames nearest each of the 12 semitones.
fn semitone_shares(clips: &[Clip]) -> [f32; 12] {
    let mut h = [0.0f32; 12];
    let mut total = 0.0f32;
    for c in clips {
        for x in folded_cents(c) {
            h[((x / 100.0).round() as usize) % 12] += 1.0;
            total += 1.0;
        }
    }
    h.map(|v| v / total.max(1.0))
}

/// Magnitude of the Hann-windowed DFT of `x` around sample `centre` at `hz` (Goertzel).
fn magnitude_at(x: &[f32], centre: usize, hz: f32) -> f32 {
    const N: usize = 2048;
    let start = centre.saturating_sub(N / 2);
    let w = std::f64::consts::TAU * f64::from(hz) / f64::from(SAMPLE_RATE);
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (j, v) in x.iter().skip(start).take(N).enumerate() {
        let hann = 0.5 - 0.5 * (std::f64::consts::TAU * j as f64 / N as f64).cos();
        let a = f64::from(*v) * hann;
        re += a * (w * j as f64).cos();
        im -= a * (w * j as f64).sin();
    }
    (re * re + im * im).sqrt() as f32
}

#[test]
fn same_seed_same_clip_different_seed_different_clip() {
    for r in [&RAGAS[0], &RAGAS[13]] {
        let a = render(r, 11, &opts(3.0)).unwrap();
        let b = render(r, 11, &opts(3.0)).unwrap();
        let c = render(r, 12, &opts(3.0)).unwrap();
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.f0_hz, b.f0_hz);
        assert_eq!(a.tonic_hz, b.tonic_hz);
        assert_ne!(a.samples, c.samples);
    }
}

#[test]
fn split_seeds_never_overlap() {
    let mut seen = std::collections::BTreeSet::new();
    for split in [Split::Train, Split::Val, Split::Test] {
        for ri in 0..RAGAS.len() {
            for ci in 0..200 {
                assert!(seen.insert(clip_seed(42, split, ri, ci)), "{split} {ri} {ci}");
            }
        }
    }
    assert_ne!(clip_seed(1, Split::Train, 0, 0), clip_seed(2, Split::Train, 0, 0));
}

#[test]
fn split_names_round_trip() {
    for s in [Split::Train, Split::Val, Split::Test] {
        assert_eq!(s.as_str().parse::<Split>(), Ok(s));
    }
    assert!("holdout".parse::<Split>().is_err());
}

#[test]
fn rejects_bad_lengths_and_tonics() {
    let r = &RAGAS[0];
    for s in [0.0, 0.99, -3.0, 600.5, f32::NAN, f32::INFINITY] {
        let err = render(r, 1, &opts(s)).unwrap_err();
        assert!(matches!(err, SynthError::InvalidSeconds(_)), "{s}: {err}");
    }
    let err = render(r, 1, &RenderOptions { tonic_hz: Some(50.0), ..opts(2.0) }).unwrap_err();
    assert_eq!(err.to_string(), "tonic must be between 100 and 270 hz, got 50");
    let bad_drone = RenderOptions { drone_db_range: (-8.0, -24.0), ..opts(2.0) };
    assert!(matches!(render(r, 1, &bad_drone), Err(SynthError::InvalidDroneLevel(..))));
    assert!(render(r, 1, &opts(1.0)).is_ok());
}

#[test]
fn every_raga_renders_with_valid_truth() {
    for (i, r) in RAGAS.iter().enumerate() {
        for k in 0..2 {
            let seed = clip_seed(7, Split::Train, i, k);
            let c = render(r, seed, &opts(6.0)).unwrap();
            assert_eq!(c.samples.len(), 6 * SAMPLE_RATE as usize);
            assert_eq!(c.f0_hz.len(), 1 + c.samples.len() / HOP_LENGTH);
            assert!((TONIC_RANGE_HZ.0..=TONIC_RANGE_HZ.1).contains(&c.tonic_hz));
            assert!(c.f0_hz.iter().all(|f| *f == 0.0 || (F0_RANGE_HZ.0..=F0_RANGE_HZ.1).contains(f)));
            let voiced = c.f0_hz.iter().filter(|f| **f > 0.0).count();
            assert!(voiced * 3 > c.f0_hz.len(), "{}: only {voiced} voiced frames", r.id);
            let peak = c.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            assert!((0.49..=0.90).contains(&peak), "{}: peak {peak}", r.id);
            assert!(c.samples.iter().all(|x| x.is_finite()));
        }
    }
}

#[test]
fn truth_matches_the_audio() {
    // Dry, droneless clips: where the truth says voiced and steady, the spectrum peaks at the
    // truth F0 (not between harmonics or below it); where it says silent, the audio is quiet.
    for (k, t) in Timbre::ALL.into_iter().enumerate() {
        let o = RenderOptions { timbre: Some(t), drone: DroneMode::Never, room: false, ..opts(12.0) };
        let c = render(&RAGAS[3 * k + 1], 100 + k as u64, &o).unwrap();
        let (mut steady, mut peaked) = (0, 0);
        for f in 2..c.f0_hz.len() - 2 {
            let hz = c.f0_hz[f];
            let window = &c.f0_hz[f - 2..=f + 2];
            if hz <= 0.0 || window.iter().any(|w| *w <= 0.0 || (1200.0 * (w / hz).log2()).abs() > 15.0) {
                continue;
            }
            steady += 1;
            let at = f * HOP_LENGTH;
            let m = magnitude_at(&c.samples, at, hz);
            let off = magnitude_at(&c.samples, at, 0.7 * hz).max(magnitude_at(&c.samples, at, 1.5 * hz));
            peaked += usize::from(m > 3.0 * off);
        }
        assert!(steady > 100, "{t:?}: {steady} steady frames");
        assert!(
            peaked as f32 > 0.9 * steady as f32,
            "{t:?}: {peaked} of {steady} steady frames peak at the truth"
        );

        let frame_rms = |f: usize| {
            let s = &c.samples
                [(f * HOP_LENGTH).saturating_sub(1024)..(f * HOP_LENGTH + 1024).min(c.samples.len())];
            (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt()
        };
        let mut voiced: Vec<f32> = (0..c.f0_hz.len()).filter(|f| c.f0_hz[*f] > 0.0).map(frame_rms).collect();
        voiced.sort_by(f32::total_cmp);
        let typical = voiced[voiced.len() / 2];
        let silent: Vec<usize> =
            (6..c.f0_hz.len() - 6).filter(|f| c.f0_hz[f - 6..=f + 6].iter().all(|v| *v == 0.0)).collect();
        for f in silent {
            assert!(frame_rms(f) < 0.03 * typical, "{t:?}: frame {f} is loud but unvoiced");
        }
    }
}

#[test]
fn melody_stays_on_the_scale() {
    for (i, r) in RAGAS.iter().enumerate() {
        let clips: Vec<Clip> =
            (0..3).map(|k| render(r, clip_seed(3, Split::Val, i, k), &opts(20.0)).unwrap()).collect();
        let share: f32 = clips.iter().map(in_scale_share).sum::<f32>() / clips.len() as f32;
        assert!(
            share >= 0.97,
            "{}: {:.1}% of voiced frames within 50 cents of the scale",
            r.id,
            100.0 * share
        );
    }
}

#[test]
fn table_is_consistent() {
    assert_eq!(RAGAS.len(), 20);
    let hindustani = RAGAS.iter().filter(|r| r.tradition == Tradition::Hindustani).count();
    assert_eq!(hindustani, 10);
    for (i, r) in RAGAS.iter().enumerate() {
        assert_eq!(raga(r.id), Some(r));
        assert_eq!(raga_index(r.id), Some(i));
        let notes =
            [r.vadi, r.samvadi].into_iter().chain(r.nyas.iter().copied()).chain(r.weak.iter().copied());
        for n in notes.chain(r.oscillated.iter().copied()) {
            assert!(r.has(n), "{}: {n} not in scale", r.id);
        }
        for p in r.phrases.iter().chain([&r.aroha, &r.avaroha]) {
            let written = notation::parse(p).unwrap_or_else(|| panic!("{}: bad phrase {p:?}", r.id));
            for w in written {
                assert!(r.has(w.st.rem_euclid(12) as u8), "{}: {p:?} leaves the scale", r.id);
            }
        }
    }
    assert!(raga("bhimpalasi").is_none());
}

#[test]
fn emphasised_notes_get_more_time() {
    const S: usize = 0;
    const R_KOMAL: usize = 1;
    const R: usize = 2;
    const G: usize = 4;
    const P: usize = 7;
    const D: usize = 9;
    const N: usize = 11;
    let bhoopali = semitone_shares(&clips("bhoopali", 4));
    let deshkar = semitone_shares(&clips("deshkar", 4));
    // Deshkar dwells on D and P and barely touches R; bhoopali rests on G.
    assert!(deshkar[D] + deshkar[P] > 1.3 * (bhoopali[D] + bhoopali[P]), "{deshkar:?} {bhoopali:?}");
    assert!(deshkar[R] < 0.4 * bhoopali[R], "{deshkar:?} {bhoopali:?}");
    assert!(bhoopali[G] > deshkar[G] && bhoopali[G] > bhoopali[D], "{bhoopali:?}");
    assert!(deshkar[D] > deshkar[G], "{deshkar:?}");

    // Marwa avoids Sa and rests on komal Re and Dha; puriya rests on Ga and Ni.
    let marwa = semitone_shares(&clips("marwa", 4));
    let puriya = semitone_shares(&clips("puriya", 4));
    assert!(marwa[S] < 0.3 * puriya[S], "{marwa:?} {puriya:?}");
    assert!(marwa[R_KOMAL] > 2.0 * puriya[R_KOMAL] && marwa[D] > 2.0 * puriya[D], "{marwa:?} {puriya:?}");
    assert!(puriya[G] > 2.0 * marwa[G] && puriya[N] > marwa[N], "{marwa:?} {puriya:?}");
}

#[test]
fn registers_follow_the_raga() {
    let darbari = mean_semitones(&clips("darbari_kanada", 4));
    let deshkar = mean_semitones(&clips("deshkar", 4));
    let bhoopali = mean_semitones(&clips("bhoopali", 4));
    assert!(darbari < bhoopali - 2.0, "darbari {darbari} bhoopali {bhoopali}");
    assert!(deshkar > bhoopali + 2.0, "deshkar {deshkar} bhoopali {bhoopali}");
}

#[test]
fn carnatic_gamakas_move_more_than_hindustani_sustain() {
    // Same scale, different ornament style: kampita swings against sustained notes and meend.
    for (carnatic, hindustani) in [("hindolam", "malkauns"), ("kalyani", "yaman"), ("mohanam", "bhoopali")] {
        let c = swings_per_second(&clips(carnatic, 3));
        let h = swings_per_second(&clips(hindustani, 3));
        println!("{carnatic} {c:.2} vs {hindustani} {h:.2} swings per second");
        assert!(c > 2.0 * h, "{carnatic} {c:.2} swings per second vs {hindustani} {h:.2}");
    }
}

#[test]
fn bhairav_komal_re_and_dha_sit_low() {
    // Bhairav's r and d are lowered and swung (andolan); mayamalavagowla's are plain.
    let mean_offset = |id: &str, pc: f32| {
        let cs: Vec<f32> = clips(id, 3)
            .iter()
            .flat_map(folded_cents)
            .map(|x| x - 100.0 * pc)
            .filter(|d| d.abs() < 50.0)
            .collect();
        cs.iter().sum::<f32>() / cs.len().max(1) as f32
    };
    for pc in [1.0, 8.0] {
        let bhairav = mean_offset("bhairav", pc);
        let mmg = mean_offset("mayamalavagowla", pc);
        assert!(bhairav < mmg - 6.0, "pc {pc}: bhairav {bhairav:.1} mayamalavagowla {mmg:.1} cents");
    }
}
