//! The phrase grammar: pakad phrases, aroha/avaroha runs and alap-like wandering, timed
//! and ornamented in the style of the raga's tradition.

mod contour;

pub(crate) use contour::Melody;

use crate::notation::{self, Written};
use crate::ragas::{Raga, Register};
use crate::rng::{self, Rng};
use crate::{SAMPLE_RATE, Tradition};

/// What the instrument asks of the melody.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hints {
    /// Probability that a sustained, otherwise plain note gets vibrato.
    pub vibrato: f32,
    /// Vibrato depth range in cents (half peak-to-peak).
    pub vibrato_cents: (f32, f32),
    /// Re-pluck held notes every this many seconds (plucked strings).
    pub restrike_s: Option<f64>,
}

/// A pitch ornament on one note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Orn {
    /// Plain held note.
    None,
    /// Periodic vibrato fading in over `fade` seconds.
    Vibrato { rate: f32, cents: f32, fade: f32 },
    /// Slow wide hindustani oscillation around the note.
    Andolan { rate: f32, cents: f32, phase: f32 },
    /// Carnatic kampita: whole cycles between the note and a neighbour `cents` away, then a
    /// plain hold; `sharp` smoothsteps make it dwell on both ends, `from_other` starts on the
    /// neighbour.
    Kampita { rate: f32, cents: f32, cycles: u32, sharp: u8, from_other: bool },
}

/// How a glide moves from one pitch to the next (argument and result in 0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    /// Raised cosine.
    Cosine,
    /// Smootherstep (steeper middle).
    Smoother,
    /// Fast start, slow arrival.
    EaseOut,
    /// Slow start, fast arrival.
    EaseIn,
}

impl Shape {
    const ALL: [Shape; 4] = [Shape::Cosine, Shape::Smoother, Shape::EaseOut, Shape::EaseIn];

    pub(crate) fn at(self, x: f64) -> f64 {
        let x = x.clamp(0.0, 1.0);
        match self {
            Shape::Cosine => 0.5 - 0.5 * (std::f64::consts::PI * x).cos(),
            Shape::Smoother => x * x * x * (x * (x * 6.0 - 15.0) + 10.0),
            Shape::EaseOut => 1.0 - (1.0 - x).powi(3),
            Shape::EaseIn => x * x * x,
        }
    }
}

/// One timed note of the melody.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timed {
    /// Start in seconds from the clip start.
    pub t0: f64,
    /// Length in seconds.
    pub dur: f64,
    /// Pitch in cents above the tonic (madhya Sa), intonation included.
    pub cents: f32,
    /// Ornament.
    pub orn: Orn,
    /// Glide from the previous note, taken from the start of this one, in seconds.
    pub glide: f64,
    /// Glide shape.
    pub shape: Shape,
    /// Dynamic level 0..1.
    pub gain: f32,
    /// Articulation strength (0 = none: the note is reached without a new attack).
    pub onset: f32,
}

/// One phrase: legato notes between an attack and a release, then a rest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Phrase {
    pub notes: Vec<Timed>,
    /// Attack time in seconds.
    pub attack: f64,
    /// Release time in seconds, taken from the end of the last note.
    pub release: f64,
}

/// Generates the melody of a clip of `n` samples.
pub(crate) fn generate(raga: &'static Raga, tonic_hz: f32, n: usize, hints: &Hints, rng: &mut Rng) -> Melody {
    let mut planner = Planner::new(raga, tonic_hz, hints, rng);
    let total = n as f64 / f64::from(SAMPLE_RATE);
    let mut t = rng::uniform64(planner.rng, 0.0, 0.8);
    let mut phrases = Vec::new();
    while t < total {
        let phrase = planner.phrase(t);
        let end = phrase.notes.last().map_or(t, |x| x.t0 + x.dur);
        t = end + planner.rest();
        phrases.push(phrase);
    }
    let tempo_bpm = planner.tempo_bpm;
    contour::render(&phrases, tonic_hz, n, tempo_bpm, hints)
}

/// The range (semitones from madhya Sa) the melody may use, given the tonic and register.
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: i32,
    hi: i32,
    centre: f32,
}

impl Range {
    fn new(register: Register, tonic_hz: f32) -> Self {
        // Keep every note (ornaments included) inside 60..1000 Hz with margin.
        let abs_lo = (12.0 * (72.0 / tonic_hz).log2()).ceil() as i32;
        let abs_hi = (12.0 * (800.0 / tonic_hz).log2()).floor() as i32;
        let (lo, hi, centre) = match register {
            Register::Mandra => (-10, 9, -1.0),
            Register::Purvanga => (-8, 12, 2.0),
            Register::Madhya => (-8, 14, 4.0),
            Register::Uttaranga => (-1, 15, 10.0),
        };
        Range { lo: lo.max(abs_lo), hi: hi.min(abs_hi).min(15), centre }
    }

    fn contains(&self, st: i32) -> bool {
        (self.lo..=self.hi).contains(&st)
    }
}

/// Pitch classes allowed when moving one way, read from an aroha or avaroha.
fn movement_set(raga: &Raga, written: &str, drop_last: bool) -> Vec<u8> {
    let notes = notation::parse(written).unwrap_or_default();
    let take = if drop_last { notes.len().saturating_sub(1) } else { notes.len() };
    let mut set: Vec<u8> =
        notes[..take].iter().map(|w| w.st.rem_euclid(12) as u8).filter(|pc| raga.has(*pc)).collect();
    set.sort_unstable();
    set.dedup();
    if set.is_empty() {
        set = raga.scale.to_vec();
    }
    set
}

/// Just-intonation offsets (cents from equal temperament) for each pitch class.
const JUST_CENTS: [f32; 12] = [0.0, 12.0, 4.0, 16.0, -14.0, -2.0, -10.0, 2.0, 14.0, -16.0, -4.0, -12.0];

struct Planner<'a> {
    raga: &'static Raga,
    hints: &'a Hints,
    rng: &'a mut Rng,
    carnatic: bool,
    range: Range,
    up: Vec<u8>,
    down: Vec<u8>,
    tempo_bpm: f32,
    beat: f64,
    just: f32,
    jitter_cents: f32,
    /// Phrases that fit the range, parsed.
    phrases: Vec<Vec<Written>>,
    /// Pitch (semitones) the previous phrase ended on.
    last_end: i32,
    /// The previous phrase as written.
    last_phrase: Vec<Written>,
}

impl<'a> Planner<'a> {
    fn new(raga: &'static Raga, tonic_hz: f32, hints: &'a Hints, rng: &'a mut Rng) -> Self {
        let carnatic = raga.tradition == Tradition::Carnatic;
        let tempo_bpm =
            if carnatic { rng::uniform(rng, 55.0, 150.0) } else { rng::uniform(rng, 40.0, 120.0) };
        let range = Range::new(raga.register, tonic_hz);
        let phrases: Vec<Vec<Written>> = raga
            .phrases
            .iter()
            .filter_map(|p| notation::parse(p))
            .filter(|p| !p.is_empty() && p.iter().all(|w| range.contains(w.st)))
            .collect();
        let just = if carnatic { rng::uniform(rng, 0.0, 0.6) } else { rng::uniform(rng, 0.3, 1.0) };
        let jitter_cents = rng::uniform(rng, 1.0, 4.0);
        Planner {
            raga,
            hints,
            carnatic,
            range,
            up: movement_set(raga, raga.aroha, true),
            down: movement_set(raga, raga.avaroha, false),
            tempo_bpm,
            beat: 60.0 / f64::from(tempo_bpm),
            just,
            jitter_cents,
            phrases,
            last_end: 0,
            last_phrase: Vec::new(),
            rng,
        }
    }

    /// Silence between phrases, in seconds.
    fn rest(&mut self) -> f64 {
        let (lo, hi) = if self.carnatic { (0.12, 0.9) } else { (0.25, 1.6) };
        let r = rng::uniform64(self.rng, lo, hi);
        // Now and then a long breath.
        if rng::chance(self.rng, 0.1) { r * 2.0 } else { r }
    }

    /// Plans and times the next phrase, starting at `t0` seconds.
    fn phrase(&mut self, t0: f64) -> Phrase {
        let fast = rng::chance(self.rng, self.raga.style.fast_runs);
        let written = if fast {
            self.run()
        } else if !self.last_phrase.is_empty() && rng::chance(self.rng, 0.15) {
            // Say it again (a repeated phrase, as in a sangati or an alap returning to an idea).
            self.last_phrase.clone()
        } else {
            match rng::weighted(self.rng, &[0.5, 0.18, 0.32]) {
                0 => self.pakad(),
                1 => self.run(),
                _ => self.wander(),
            }
        };
        let written = if written.is_empty() { self.wander() } else { written };
        if let Some(w) = written.last() {
            self.last_end = w.st;
        }
        self.last_phrase.clone_from(&written);
        let speed = if fast {
            if self.carnatic {
                [2.0, 3.0, 4.0][rng::index(self.rng, 3)]
            } else {
                [2.0, 3.0][rng::index(self.rng, 2)]
            }
        } else {
            1.0
        };
        self.time(&written, t0, speed)
    }

    /// A characteristic phrase from the table, sometimes only its tail, sometimes two joined.
    fn pakad(&mut self) -> Vec<Written> {
        if self.phrases.is_empty() {
            return Vec::new();
        }
        let i = rng::index(self.rng, self.phrases.len());
        let mut out = self.phrases[i].clone();
        if out.len() > 4 && rng::chance(self.rng, 0.2) {
            let cut = 1 + rng::index(self.rng, out.len() - 3);
            out.drain(..cut);
        }
        if rng::chance(self.rng, 0.3) {
            let j = rng::index(self.rng, self.phrases.len());
            let next = self.phrases[j].clone();
            let (a, b) = (out.last().map(|w| w.st), next.first().map(|w| w.st));
            if let (Some(a), Some(b)) = (a, b)
                && (a - b).abs() <= 5
            {
                if let Some(w) = out.last_mut() {
                    w.beats = 1.0;
                }
                out.extend(next);
            }
        }
        out
    }

    /// The scale note one step up (`dir > 0`) or down from `st` under the movement rules.
    fn step(&mut self, st: i32, dir: i32) -> i32 {
        let set = if dir > 0 { &self.up } else { &self.down };
        let mut cand = st;
        for _ in 0..24 {
            cand += dir;
            let pc = cand.rem_euclid(12) as u8;
            if set.contains(&pc) {
                if self.raga.weak.contains(&pc) && rng::chance(self.rng, 0.6) {
                    continue;
                }
                return cand;
            }
        }
        st + dir * 2
    }

    fn is_rest_note(&self, st: i32) -> bool {
        let pc = st.rem_euclid(12) as u8;
        self.raga.nyas.contains(&pc) || (pc == 0 && !self.raga.weak.contains(&0))
    }

    /// An aroha or avaroha run towards a resting note.
    fn run(&mut self) -> Vec<Written> {
        let up = rng::chance(self.rng, 0.5);
        let (start, target) = if up {
            let start = self.pick_note(self.range.lo, (self.range.lo + self.range.hi) / 2);
            let target = if self.range.contains(12) && self.raga.has(0) && !self.raga.weak.contains(&0) {
                12
            } else {
                self.pick_rest(start + 4, self.range.hi)
            };
            (start, target)
        } else {
            let hi = if self.range.contains(12) { 12 } else { self.range.hi };
            let start = self.pick_note(hi - 4, hi);
            let target = self.pick_rest(self.range.lo.max(start - 14), start - 4);
            (start, target)
        };
        let dir = if target >= start { 1 } else { -1 };
        let mut out = vec![plain(start)];
        let mut cur = start;
        for _ in 0..24 {
            let next = self.step(cur, dir);
            if (dir > 0 && next >= target) || (dir < 0 && next <= target) {
                break;
            }
            cur = next;
            out.push(plain(cur));
        }
        if cur != target {
            out.push(plain(target));
        }
        if let Some(w) = out.last_mut() {
            w.beats = 2.0;
        }
        out
    }

    /// Free alap-like movement obeying the aroha/avaroha, ending on a resting note.
    fn wander(&mut self) -> Vec<Written> {
        let c = self.range.centre.round() as i32;
        let start = if rng::chance(self.rng, 0.5) && self.range.contains(self.last_end) {
            self.last_end
        } else {
            self.pick_note(c - 5, c + 5)
        };
        let mut out = vec![plain(start)];
        let mut cur = start;
        let mut dir = if rng::chance(self.rng, 0.5) { 1 } else { -1 };
        let len = 3 + rng::index(self.rng, 6);
        let mut i = 0;
        while i < len + 6 {
            i += 1;
            if i > len && self.is_rest_note(cur) {
                break;
            }
            // Drift back towards the register centre.
            let pull = (cur - c) as f32 / 8.0;
            let turn = 0.25 + 0.3 * pull * dir as f32;
            if rng::chance(self.rng, turn.clamp(0.05, 0.9)) {
                dir = -dir;
            }
            let mut next = self.step(cur, dir);
            if rng::chance(self.rng, 0.12) {
                next = self.step(next, dir);
            }
            if !self.range.contains(next) {
                dir = -dir;
                continue;
            }
            cur = next;
            out.push(plain(cur));
        }
        if let Some(w) = out.last_mut() {
            w.beats = 2.0;
        }
        out
    }

    /// A scale note in `lo..=hi` (clamped to the range), weighted by emphasis and closeness to
    /// the register centre.
    fn pick_note(&mut self, lo: i32, hi: i32) -> i32 {
        let lo = lo.max(self.range.lo);
        let hi = hi.min(self.range.hi).max(lo);
        let cands: Vec<i32> = (lo..=hi).filter(|s| self.raga.has(s.rem_euclid(12) as u8)).collect();
        let w: Vec<f32> = cands
            .iter()
            .map(|s| {
                let d = (*s as f32 - self.range.centre) / 6.0;
                self.raga.emphasis(s.rem_euclid(12) as u8) * (-0.5 * d * d).exp()
            })
            .collect();
        cands.get(rng::weighted(self.rng, &w)).copied().unwrap_or(0)
    }

    /// A resting note in `lo..=hi` (clamped), falling back to any scale note.
    fn pick_rest(&mut self, lo: i32, hi: i32) -> i32 {
        let lo = lo.max(self.range.lo);
        let hi = hi.min(self.range.hi).max(lo);
        let cands: Vec<i32> =
            (lo..=hi).filter(|s| self.raga.has(s.rem_euclid(12) as u8) && self.is_rest_note(*s)).collect();
        if cands.is_empty() {
            return self.pick_note(lo, hi);
        }
        let w: Vec<f32> = cands.iter().map(|s| self.raga.emphasis(s.rem_euclid(12) as u8)).collect();
        cands[rng::weighted(self.rng, &w)]
    }

    /// Base pitch of a note in cents above the tonic, with this clip's intonation.
    fn cents(&mut self, st: i32) -> f32 {
        let pc = st.rem_euclid(12) as u8;
        let raga_offset = self.raga.cents_offset(pc);
        let tuning = if raga_offset != 0.0 { raga_offset } else { JUST_CENTS[pc as usize] * self.just };
        let jitter = (rng::gauss(self.rng) * self.jitter_cents).clamp(-8.0, 8.0);
        100.0 * st as f32 + tuning + jitter
    }

    /// The scale neighbour above (`dir > 0`) or below a note, in semitones.
    fn neighbour_gap(&self, st: i32, dir: i32) -> i32 {
        for k in 1..12 {
            if self.raga.has((st + dir * k).rem_euclid(12) as u8) {
                return k;
            }
        }
        12
    }

    /// Times and ornaments a written phrase starting at `t0`; `speed` > 1 for fast runs.
    fn time(&mut self, written: &[Written], t0: f64, speed: f64) -> Phrase {
        let style = self.raga.style;
        let mut notes: Vec<Timed> = Vec::with_capacity(written.len() * 2);
        let mut t = t0;
        let last = written.len().saturating_sub(1);
        let mut prev_st: Option<i32> = None;
        for (i, w) in written.iter().enumerate() {
            let pc = w.st.rem_euclid(12) as u8;
            let emph = self.raga.emphasis(pc);
            let base = self.beat * f64::from(w.beats) / speed;
            let shaping = if speed > 1.0 { emph.powf(0.15) } else { emph.powf(0.6) };
            let mut dur = base * f64::from(shaping * rng::uniform(self.rng, 0.75, 1.3));
            if i == last {
                dur *= if self.is_rest_note(w.st) {
                    rng::uniform64(self.rng, 1.6, 3.0)
                } else {
                    rng::uniform64(self.rng, 1.1, 1.6)
                };
            }
            dur = dur.max(0.07);

            // Glide into this note from the previous one.
            let interval = prev_st.map_or(0, |p| (w.st - p).abs());
            let meend;
            let mut glide = if prev_st.is_none() {
                meend = false;
                0.0
            } else if speed > 1.0 {
                meend = false;
                rng::uniform64(self.rng, 0.012, 0.03)
            } else if !self.carnatic && rng::chance(self.rng, style.glide) {
                meend = true;
                rng::uniform64(self.rng, 0.1, 0.3)
            } else if self.carnatic && interval >= 4 && rng::chance(self.rng, style.glide * 3.0) {
                meend = true; // jaru
                rng::uniform64(self.rng, 0.07, 0.18)
            } else {
                meend = false;
                rng::uniform64(self.rng, 0.02, 0.065)
            };
            glide = glide.min(0.4 * dur);
            let shape = Shape::ALL[rng::index(self.rng, Shape::ALL.len())];

            // Kan: a grace note from the upper neighbour just before the note.
            // Hindustani kan-swar; in carnatic the same touch from above is a nokku.
            let want_kan = w.kan || (speed == 1.0 && dur > 0.3 && rng::chance(self.rng, style.kan));
            if want_kan && prev_st.is_some() {
                let up = w.st + self.neighbour_gap(w.st, 1);
                if self.range.contains(up) {
                    let kd = rng::uniform64(self.rng, 0.035, 0.07);
                    let cents = self.cents(up);
                    notes.push(Timed {
                        t0: t,
                        dur: kd,
                        cents,
                        orn: Orn::None,
                        glide: glide.min(0.4 * kd).min(0.02),
                        shape,
                        gain: rng::uniform(self.rng, 0.75, 1.0),
                        onset: 0.0,
                    });
                    t += kd;
                    dur = (dur - kd).max(0.07);
                    glide = rng::uniform64(self.rng, 0.012, 0.03);
                }
            }

            let orn = if speed > 1.0 { Orn::None } else { self.ornament(w, dur) };
            // A meend or jaru is one gesture: no new syllable, bow or pluck.
            let onset = if prev_st.is_none() {
                1.0
            } else if meend {
                0.0
            } else {
                rng::uniform(self.rng, 0.5, 0.9)
            };
            let cents = self.cents(w.st);
            let gain = (0.72 + 0.08 * emph.min(2.0) + rng::uniform(self.rng, -0.08, 0.12)).min(1.0);
            notes.push(Timed { t0: t, dur, cents, orn, glide, shape, gain, onset });
            t += dur;
            prev_st = Some(w.st);
        }
        let attack = rng::uniform64(self.rng, 0.02, 0.12);
        let release = rng::uniform64(self.rng, 0.06, 0.3);
        Phrase { notes, attack, release }
    }

    /// The ornament of a note of length `dur` seconds.
    fn ornament(&mut self, w: &Written, dur: f64) -> Orn {
        let pc = w.st.rem_euclid(12) as u8;
        let style = self.raga.style;
        // The raga's own oscillated notes take it often; in carnatic any note but the
        // fixed Sa and Pa may take a lighter kampita now and then.
        let p_osc = if self.raga.oscillated.contains(&pc) {
            style.oscillation
        } else if self.carnatic && pc != 0 && pc != 7 {
            0.3 * style.oscillation
        } else {
            0.0
        };
        let wants_osc = w.osc || rng::chance(self.rng, p_osc);
        if wants_osc {
            let rate = rng::uniform(self.rng, style.rate_hz.0, style.rate_hz.1);
            if !self.carnatic && dur >= 0.5 {
                return Orn::Andolan {
                    rate,
                    cents: rng::uniform(self.rng, 14.0, 24.0),
                    phase: if rng::chance(self.rng, 0.5) { 0.0 } else { std::f32::consts::PI },
                };
            }
            if self.carnatic && dur >= 0.18 {
                let up = self.neighbour_gap(w.st, 1);
                let down = self.neighbour_gap(w.st, -1);
                let cents = if up <= 2 {
                    100.0 * up as f32
                } else if down <= 2 {
                    -100.0 * down as f32
                } else {
                    rng::uniform(self.rng, 30.0, 45.0)
                };
                // Whole cycles within 35–70% of the note, then a plain hold.
                let active = dur * rng::uniform64(self.rng, 0.35, 0.7);
                // A few swings (1–4; whole-tone swings 1–3), then the note is held.
                let most = if cents.abs() > 150.0 { 3 } else { 4 };
                let cycles =
                    ((active * f64::from(rate)).floor() as u32).min(1 + rng::index(self.rng, most) as u32);
                if cycles >= 1 {
                    return Orn::Kampita {
                        rate,
                        cents,
                        cycles,
                        // Wide swings move fast between dwells; semitone ones may be rounder.
                        sharp: if cents.abs() > 150.0 { 3 } else { 2 + rng::index(self.rng, 2) as u8 },
                        from_other: rng::chance(self.rng, 0.4),
                    };
                }
            }
        }
        // Carnatic music ornaments with gamakas rather than vibrato.
        let p_vibrato = self.hints.vibrato * if self.carnatic { 0.4 } else { 1.0 };
        if dur >= 0.45 && rng::chance(self.rng, p_vibrato) {
            return Orn::Vibrato {
                rate: rng::uniform(self.rng, 4.0, 7.0),
                cents: rng::uniform(self.rng, self.hints.vibrato_cents.0, self.hints.vibrato_cents.1),
                fade: rng::uniform(self.rng, 0.1, 0.4),
            };
        }
        Orn::None
    }
}

fn plain(st: i32) -> Written {
    Written { st, beats: 1.0, osc: false, kan: false }
}
