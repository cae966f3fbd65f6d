//! The table of the 20 ragas: scales, movement rules, emphasised notes, phrases and ornament style.
//!
//! Phrases, aroha and avaroha are written in a small sargam notation read by
//! [`crate::notation`]: `S r R g G m M P d D n N` (lowercase = komal, `M` = tivra Ma; for
//! carnatic ragas R1=`r` R2=`R` G2=`g` G3=`G` M1=`m` M2=`M` D1=`d` D2=`D` N2=`n` N3=`N`),
//! a `.` after a note puts it in the mandra (lower) octave and a `'` in the taar (upper)
//! octave, `~` asks for the raga's oscillation (andolan or kampita), each `-` holds the note
//! one beat longer, and a leading `^` adds a kan (grace note) from the upper neighbour.

use crate::Tradition;

/// Where in the range a raga's melody dwells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    /// Low: mandra saptak and the lower half of madhya (e.g. darbari kanada, puriya).
    Mandra,
    /// The lower half of the middle octave and the top of mandra (e.g. bhoopali).
    Purvanga,
    /// The middle octave, with excursions either side.
    Madhya,
    /// The upper tetrachord and the taar saptak (e.g. deshkar).
    Uttaranga,
}

/// How a raga is ornamented: probabilities (0..1) for each ornament where it may apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrnamentStyle {
    /// Long meend (slow glide) into a note (hindustani) or jaru slide (carnatic).
    pub glide: f32,
    /// Kan-swar (a grace note touched just before the note).
    pub kan: f32,
    /// Oscillation on the raga's oscillated notes: andolan (hindustani) or kampita (carnatic).
    pub oscillation: f32,
    /// Fast runs (taans, brikkas) instead of phrase-paced notes.
    pub fast_runs: f32,
    /// Andolan/kampita rate in Hz (low, high).
    pub rate_hz: (f32, f32),
}

/// One raga: its label, tradition and everything the melody generator needs to sound like it.
#[derive(Debug, PartialEq)]
pub struct Raga {
    /// Label id, e.g. `"miyan_ki_todi"`; what the classifier predicts.
    pub id: &'static str,
    /// Display name, e.g. `"Miyan ki Todi"`.
    pub name: &'static str,
    /// Hindustani or carnatic.
    pub tradition: Tradition,
    /// Parent scale: hindustani thaat or carnatic melakarta.
    pub parent: &'static str,
    /// Scale notes in semitones from Sa (0..12), ascending.
    pub scale: &'static [u8],
    /// Ascent in sargam notation; its notes are the ones allowed when moving up.
    pub aroha: &'static str,
    /// Descent in sargam notation; its notes are the ones allowed when moving down.
    pub avaroha: &'static str,
    /// Most important note (hindustani vadi; for carnatic the main jiva swara).
    pub vadi: u8,
    /// Second most important note (samvadi / second jiva swara).
    pub samvadi: u8,
    /// Resting notes where phrases end (nyas).
    pub nyas: &'static [u8],
    /// Notes touched only briefly (durbal swaras), e.g. R in deshkar, Sa in marwa.
    pub weak: &'static [u8],
    /// Notes that take the raga's oscillation (andolan or kampita).
    pub oscillated: &'static [u8],
    /// Characteristic phrases (pakad, chalan, prayogas) in sargam notation.
    pub phrases: &'static [&'static str],
    /// Register emphasis.
    pub register: Register,
    /// Intonation offsets in cents for particular notes (e.g. ati-komal Ga in darbari).
    pub intonation: &'static [(u8, i8)],
    /// Ornament style.
    pub style: OrnamentStyle,
}

impl Raga {
    /// Whether the pitch class (0..12) belongs to the scale.
    pub fn has(&self, pitch_class: u8) -> bool {
        self.scale.contains(&(pitch_class % 12))
    }

    /// The emphasis weight of a pitch class: vadi > samvadi > nyas > ordinary > weak.
    pub fn emphasis(&self, pitch_class: u8) -> f32 {
        let pc = pitch_class % 12;
        if self.weak.contains(&pc) {
            0.35
        } else if pc == self.vadi {
            2.2
        } else if pc == self.samvadi {
            1.6
        } else if self.nyas.contains(&pc) {
            1.3
        } else {
            1.0
        }
    }

    /// Intonation offset in cents for a pitch class (0 unless the table says otherwise).
    pub fn cents_offset(&self, pitch_class: u8) -> f32 {
        let pc = pitch_class % 12;
        self.intonation.iter().find(|(n, _)| *n == pc).map_or(0.0, |(_, c)| f32::from(*c))
    }
}

const MEEND: OrnamentStyle =
    OrnamentStyle { glide: 0.35, kan: 0.2, oscillation: 0.8, fast_runs: 0.1, rate_hz: (0.6, 1.3) };
const GAMAKA: OrnamentStyle =
    OrnamentStyle { glide: 0.12, kan: 0.08, oscillation: 0.75, fast_runs: 0.3, rate_hz: (4.0, 7.0) };

/// The 20 ragas, in label order.
pub static RAGAS: [Raga; 20] = [
    Raga {
        id: "yaman",
        name: "Yaman",
        tradition: Tradition::Hindustani,
        parent: "Kalyan thaat",
        scale: &[0, 2, 4, 6, 7, 9, 11],
        // Sa and Pa are skipped going up: N. R G M' D N S'.
        aroha: "N. R G M D N S'",
        avaroha: "S' N D P M G R S",
        vadi: 4,
        samvadi: 11,
        nyas: &[4, 7, 11, 2],
        weak: &[],
        oscillated: &[],
        phrases: &[
            "N. R G- R S-",
            "N. R G R N. R S-",
            "N. D. N. R S-",
            "N. R G M P-",
            "P M G R G- R S-",
            "N. R G P- R S-",
            "G M D N D P-",
            "M D N S'-",
            "G M D N R' S'-",
            "N R' G' R' S'-",
            "S' N D P M G R S-",
            "M G R G- ^R S-",
        ],
        register: Register::Madhya,
        intonation: &[(4, -6), (11, -6), (6, 4)],
        style: MEEND,
    },
    Raga {
        id: "bhoopali",
        name: "Bhoopali",
        tradition: Tradition::Hindustani,
        parent: "Kalyan thaat",
        scale: &[0, 2, 4, 7, 9],
        aroha: "S R G P D S'",
        avaroha: "S' D P G R S",
        vadi: 4,
        samvadi: 9,
        nyas: &[4, 7, 0],
        weak: &[],
        oscillated: &[],
        phrases: &[
            "G R S D. S R G-",
            "S R G R S D.-",
            "P. D. S R G-",
            "D. S R G R S-",
            "P G- D P G-",
            "G P D P G R S-",
            "G R G P G-",
            "S R G P D P G-",
            "D P G R S-",
            "S D. P.- D. S-",
            "S' D P G R S-",
        ],
        register: Register::Purvanga,
        intonation: &[(4, -6), (9, -6)],
        style: MEEND,
    },
    Raga {
        id: "deshkar",
        name: "Deshkar",
        tradition: Tradition::Hindustani,
        parent: "Bilawal thaat",
        scale: &[0, 2, 4, 7, 9],
        // Re is left out going up and only touched coming down.
        aroha: "S G P D S'",
        avaroha: "S' D P G R S",
        vadi: 9,
        samvadi: 4,
        nyas: &[9, 7],
        weak: &[2],
        oscillated: &[],
        phrases: &[
            "G P D- P-",
            "S G P D S'-",
            "P D S' D- P-",
            "D S' R' S' D-",
            "D S' R' S' D P-",
            "P D S' R' S' D-",
            "G P D S' D P-",
            "D P G P D-",
            "S' D P G P- G ^R S-",
            "P D S' G' R' S'-",
            "S G P D- S' D P-",
        ],
        register: Register::Uttaranga,
        intonation: &[(4, -4), (9, -4)],
        style: MEEND,
    },
    Raga {
        id: "bhairav",
        name: "Bhairav",
        tradition: Tradition::Hindustani,
        parent: "Bhairav thaat",
        scale: &[0, 1, 4, 5, 7, 8, 11],
        aroha: "S r G m P d N S'",
        avaroha: "S' N d P m G r S",
        vadi: 8,
        samvadi: 1,
        nyas: &[8, 1, 5, 0],
        weak: &[],
        oscillated: &[1, 8],
        phrases: &[
            "G m d~- P-",
            "G m r~- S-",
            "S r~ G m P-",
            "m P d~ N S'-",
            "d~ N S' r'~ S'-",
            "S' N d~ P m G m r~ S-",
            "N. S r~- S-",
            "P d~ m P G m r~ S-",
            "G m d~ N d~ P-",
            "d. N. S r~ G m-",
        ],
        register: Register::Madhya,
        intonation: &[(1, -14), (8, -14)],
        style: OrnamentStyle { oscillation: 0.9, ..MEEND },
    },
    Raga {
        id: "miyan_ki_todi",
        name: "Miyan ki Todi",
        tradition: Tradition::Hindustani,
        parent: "Todi thaat",
        scale: &[0, 1, 3, 6, 7, 8, 11],
        // Pa is skipped going up and only lightly touched coming down.
        aroha: "S r g M d N S'",
        avaroha: "S' N d P M g r S",
        vadi: 8,
        samvadi: 3,
        nyas: &[3, 8, 0],
        weak: &[7],
        oscillated: &[3],
        phrases: &[
            "d. N. S r g- r S-",
            "r g M g r g- r S-",
            "g M d- M g r g-",
            "M d N S'-",
            "d N S' r' g' r' S'-",
            "S' N d M g-",
            "g M d P M g-",
            "S' N d P M g r S-",
            "N. S r g M d-",
            "d. N. S r g-",
        ],
        register: Register::Madhya,
        intonation: &[(1, -18), (3, -12), (8, -8)],
        style: OrnamentStyle { oscillation: 0.5, ..MEEND },
    },
    Raga {
        id: "darbari_kanada",
        name: "Darbari Kanada",
        tradition: Tradition::Hindustani,
        parent: "Asavari thaat",
        scale: &[0, 2, 3, 5, 7, 8, 10],
        aroha: "n. S R g m P d n S'",
        avaroha: "S' d n P m P g m R S",
        vadi: 2,
        samvadi: 7,
        nyas: &[2, 7, 0, 10],
        weak: &[],
        oscillated: &[3, 8],
        phrases: &[
            "R g~- m R S-",
            "S d.~ n. P.-",
            "m. P. d.~ n. S-",
            "n. S R g~- m R S-",
            "n. S R- n. S-",
            "d.~ n. R S-",
            "m P d~- n P-",
            "m P g~ m R S-",
            "S' d~ n P-",
            "d~ n S' R' S'-",
            "P. d.~ n. S R S-",
            "g~ m R S d.~ n. P.-",
        ],
        register: Register::Mandra,
        intonation: &[(3, -14), (8, -14)],
        style: OrnamentStyle { oscillation: 0.95, rate_hz: (0.4, 0.9), fast_runs: 0.03, ..MEEND },
    },
    Raga {
        id: "malkauns",
        name: "Malkauns",
        tradition: Tradition::Hindustani,
        parent: "Bhairavi thaat",
        scale: &[0, 3, 5, 8, 10],
        aroha: "n. S g m d n S'",
        avaroha: "S' n d m g S",
        vadi: 5,
        samvadi: 0,
        nyas: &[5, 0, 8],
        weak: &[],
        oscillated: &[],
        phrases: &[
            "d. n. S m-",
            "g m d m-",
            "g m g S-",
            "d. n. S m g m d m-",
            "m d n d m-",
            "d n S'-",
            "m g m d n S'-",
            "S' n d m g m g S-",
            "n S' g' S' n d m-",
            "S n. d. n. S-",
        ],
        register: Register::Madhya,
        intonation: &[(3, 10), (8, 10)],
        style: OrnamentStyle { glide: 0.5, ..MEEND },
    },
    Raga {
        id: "marwa",
        name: "Marwa",
        tradition: Tradition::Hindustani,
        parent: "Marwa thaat",
        scale: &[0, 1, 4, 6, 9, 11],
        // Sa is avoided: phrases rest on komal Re and Dha.
        aroha: "N. r G M D N r'",
        avaroha: "r' N D M G r",
        vadi: 1,
        samvadi: 9,
        nyas: &[1, 9],
        weak: &[0],
        oscillated: &[],
        phrases: &[
            "N. r G M D-",
            "M D N D- M G r-",
            "D M G r-",
            "G M G r-",
            "r N. D.-",
            "D. N. r G r-",
            "M. D. N. r-",
            "M D r'- N D-",
            "r' N D M G r-",
            "N. D. r- S-",
        ],
        register: Register::Madhya,
        intonation: &[(1, -8)],
        style: MEEND,
    },
    Raga {
        id: "puriya",
        name: "Puriya",
        tradition: Tradition::Hindustani,
        parent: "Marwa thaat",
        scale: &[0, 1, 4, 6, 9, 11],
        aroha: "N. r G M D N S'",
        avaroha: "S' N D M G r S",
        vadi: 4,
        samvadi: 11,
        nyas: &[4, 11, 0],
        weak: &[9],
        oscillated: &[],
        phrases: &[
            "N. r G-",
            "M G r G- M G-",
            "N. D. N. r S-",
            "M. D. S-",
            "G M D G- M G-",
            "M D N D M G-",
            "G M D N-",
            "M D N r' N-",
            "M G r S-",
            "N. r G M G r S-",
            "M G r S N.-",
            "r N. D. N.-",
            "G r N.- S-",
        ],
        register: Register::Mandra,
        intonation: &[(4, -6), (11, -6)],
        style: MEEND,
    },
    Raga {
        id: "bageshri",
        name: "Bageshri",
        tradition: Tradition::Hindustani,
        parent: "Kafi thaat",
        scale: &[0, 2, 3, 5, 7, 9, 10],
        // Re and Pa are skipped going up; Pa is touched only in m P D.
        aroha: "S g m D n S'",
        avaroha: "S' n D m P D m g R S",
        vadi: 5,
        samvadi: 0,
        nyas: &[5, 9, 0],
        weak: &[7],
        oscillated: &[],
        phrases: &[
            "D. n. S g m-",
            "g m D n D m-",
            "m D n S'-",
            "S' n D m-",
            "m P D m g-",
            "g m g R S-",
            "m g R S-",
            "D n S' m' g' R' S'-",
            "S' n D m g R S-",
            "n. D. S-",
        ],
        register: Register::Madhya,
        intonation: &[(3, 6), (10, 6)],
        style: MEEND,
    },
    Raga {
        id: "mohanam",
        name: "Mohanam",
        tradition: Tradition::Carnatic,
        parent: "janya of mela 28 (Harikambhoji)",
        scale: &[0, 2, 4, 7, 9],
        aroha: "S R G P D S'",
        avaroha: "S' D P G R S",
        vadi: 4,
        samvadi: 9,
        nyas: &[4, 7, 9, 0],
        weak: &[],
        oscillated: &[2, 9],
        phrases: &[
            "S R G P D S'-",
            "S' D P G R S-",
            "G P D S' R' S'-",
            "D S' D P G-",
            "P D S' D P G R G-",
            "G R S D. S-",
            "G P D P G R S-",
            "S R G R G P D P-",
            "D. S R G P-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: GAMAKA,
    },
    Raga {
        id: "kalyani",
        name: "Kalyani",
        tradition: Tradition::Carnatic,
        parent: "mela 65 (Mechakalyani)",
        scale: &[0, 2, 4, 6, 7, 9, 11],
        aroha: "S R G M P D N S'",
        avaroha: "S' N D P M G R S",
        vadi: 4,
        samvadi: 11,
        nyas: &[4, 7, 11, 0, 2],
        weak: &[],
        oscillated: &[4, 6, 9, 11],
        phrases: &[
            "N. R G M P-",
            "G M P D N S'-",
            "S' N D P M G R S-",
            "S R G M P D N S'-",
            "D N R' S'-",
            "P D N D P M G-",
            "M G R S N. D.-",
            "G M D N D P M G-",
            "N. R G M- D N S'-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: GAMAKA,
    },
    Raga {
        id: "shankarabharanam",
        name: "Shankarabharanam",
        tradition: Tradition::Carnatic,
        parent: "mela 29 (Dheerashankarabharanam)",
        scale: &[0, 2, 4, 5, 7, 9, 11],
        aroha: "S R G m P D N S'",
        avaroha: "S' N D P m G R S",
        vadi: 4,
        samvadi: 11,
        nyas: &[7, 0, 4, 2],
        weak: &[],
        oscillated: &[4, 9, 11],
        phrases: &[
            "S R G m P D N S'-",
            "S' N D P m G R S-",
            "G m P D N D P-",
            "P D N S' R' S'-",
            "m G R G m P-",
            "D N S' N D P m G-",
            "S N. D. P.- D. N. S-",
            "G m P m G R S-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: GAMAKA,
    },
    Raga {
        id: "mayamalavagowla",
        name: "Mayamalavagowla",
        tradition: Tradition::Carnatic,
        parent: "mela 15",
        scale: &[0, 1, 4, 5, 7, 8, 11],
        aroha: "S r G m P d N S'",
        avaroha: "S' N d P m G r S",
        vadi: 4,
        samvadi: 11,
        nyas: &[0, 7, 4],
        weak: &[],
        oscillated: &[4, 11],
        phrases: &[
            "S r G m P d N S'-",
            "S' N d P m G r S-",
            "S r G m P-",
            "G m P d N S'-",
            "d N S' r' S'-",
            "S' N d P m G-",
            "m G r S N. d. N. S-",
            "P d P m G m P-",
            "G m G r S-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: OrnamentStyle { fast_runs: 0.45, ..GAMAKA },
    },
    Raga {
        id: "hindolam",
        name: "Hindolam",
        tradition: Tradition::Carnatic,
        parent: "janya of mela 20 (Natabhairavi)",
        scale: &[0, 3, 5, 8, 10],
        aroha: "S g m d n S'",
        avaroha: "S' n d m g S",
        vadi: 5,
        samvadi: 10,
        nyas: &[5, 0, 3],
        weak: &[],
        oscillated: &[3, 8, 10],
        phrases: &[
            "S g m d n S'-",
            "S' n d m g S-",
            "g m d n d m-",
            "m g S n. d. n. S-",
            "d n S' g' S' n d-",
            "m d n S'-",
            "g m g S-",
            "n. S g m d m g-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: OrnamentStyle { oscillation: 0.9, ..GAMAKA },
    },
    Raga {
        id: "kharaharapriya",
        name: "Kharaharapriya",
        tradition: Tradition::Carnatic,
        parent: "mela 22",
        scale: &[0, 2, 3, 5, 7, 9, 10],
        aroha: "S R g m P D n S'",
        avaroha: "S' n D P m g R S",
        vadi: 3,
        samvadi: 10,
        nyas: &[7, 0, 2, 3],
        weak: &[],
        oscillated: &[2, 3, 10],
        phrases: &[
            "S R g m P D n S'-",
            "S' n D P m g R S-",
            "R g m P D n D P-",
            "P D n S' R' S'-",
            "m g R g R S-",
            "S n. D. n. S R g-",
            "g m P D n D P m g R-",
            "D n S' R' g' R' S'-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: GAMAKA,
    },
    Raga {
        id: "hanumatodi",
        name: "Hanumatodi",
        tradition: Tradition::Carnatic,
        parent: "mela 8",
        scale: &[0, 1, 3, 5, 7, 8, 10],
        aroha: "S r g m P d n S'",
        avaroha: "S' n d P m g r S",
        vadi: 3,
        samvadi: 8,
        nyas: &[3, 8, 5, 0],
        weak: &[],
        oscillated: &[3, 8, 10],
        phrases: &[
            "S r g m P-",
            "g m P d n S'-",
            "S' n d P m g r S-",
            "d n S' r' S'-",
            "g r S n. d.-",
            "m g r g m-",
            "P d n d P m g-",
            "d. n. S r g-",
        ],
        register: Register::Madhya,
        intonation: &[(1, -8), (3, -6)],
        style: OrnamentStyle { oscillation: 0.9, ..GAMAKA },
    },
    Raga {
        id: "hamsadhwani",
        name: "Hamsadhwani",
        tradition: Tradition::Carnatic,
        parent: "janya of mela 29 (Dheerashankarabharanam)",
        scale: &[0, 2, 4, 7, 11],
        aroha: "S R G P N S'",
        avaroha: "S' N P G R S",
        vadi: 7,
        samvadi: 2,
        nyas: &[7, 0, 4],
        weak: &[],
        oscillated: &[4, 11],
        phrases: &[
            "S R G P N S'-",
            "S' N P G R S-",
            "P N S' R' S'-",
            "G P N P G R-",
            "R G P G R S-",
            "N. S R G P-",
            "G R S N. P.-",
            "P N S' N P G-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: OrnamentStyle { oscillation: 0.5, fast_runs: 0.4, ..GAMAKA },
    },
    Raga {
        id: "abhogi",
        name: "Abhogi",
        tradition: Tradition::Carnatic,
        parent: "janya of mela 22 (Kharaharapriya)",
        scale: &[0, 2, 3, 5, 9],
        aroha: "S R g m D S'",
        avaroha: "S' D m g R S",
        vadi: 5,
        samvadi: 3,
        nyas: &[5, 0, 2],
        weak: &[],
        oscillated: &[3, 9],
        phrases: &[
            "S R g m D S'-",
            "S' D m g R S-",
            "g m D S' R' S'-",
            "D S' D m g-",
            "m g R S D. S-",
            "R g m g R S-",
            "g m D m g R-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: GAMAKA,
    },
    Raga {
        id: "kambhoji",
        name: "Kambhoji",
        tradition: Tradition::Carnatic,
        parent: "janya of mela 28 (Harikambhoji)",
        scale: &[0, 2, 4, 5, 7, 9, 10],
        // Ni is left out going up; N2 appears in descent (S' n D P) and in S n. P. D. S.
        aroha: "S R G m P D S'",
        avaroha: "S' n D P m G R S",
        vadi: 4,
        samvadi: 9,
        nyas: &[7, 0, 4, 9],
        weak: &[],
        oscillated: &[4, 10],
        phrases: &[
            "S R G m P D S'-",
            "S' n D P m G R S-",
            "S n. P. D. S-",
            "G m P D S'-",
            "D S' R' S' n D P-",
            "P D S' n D P m G-",
            "G m P D P m G R S-",
            "S R G m G R S-",
        ],
        register: Register::Madhya,
        intonation: &[],
        style: GAMAKA,
    },
];

/// Looks a raga up by its label id.
pub fn raga(id: &str) -> Option<&'static Raga> {
    RAGAS.iter().find(|r| r.id == id)
}

/// The position of a raga in [`RAGAS`] (its class index).
pub fn raga_index(id: &str) -> Option<usize> {
    RAGAS.iter().position(|r| r.id == id)
}
