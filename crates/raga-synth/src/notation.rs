//! A small sargam notation reader: turns phrases such as `"N. R G- ^R S-"` into notes.

/// One written note of a phrase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Written {
    /// Semitones from madhya Sa (negative = mandra, >= 12 = taar).
    pub st: i32,
    /// Length in beats (1 + number of `-`).
    pub beats: f32,
    /// `~`: ask for the raga's oscillation on this note.
    pub osc: bool,
    /// `^`: a kan (grace note) from the upper neighbour before this note.
    pub kan: bool,
}

/// Semitones from Sa of a swara letter.
fn swara(c: char) -> Option<i32> {
    Some(match c {
        'S' => 0,
        'r' => 1,
        'R' => 2,
        'g' => 3,
        'G' => 4,
        'm' => 5,
        'M' => 6,
        'P' => 7,
        'd' => 8,
        'D' => 9,
        'n' => 10,
        'N' => 11,
        _ => return None,
    })
}

/// Reads one token; `None` if it is not valid notation.
fn token(tok: &str) -> Option<Written> {
    let mut chars = tok.chars().peekable();
    let mut kan = false;
    if chars.peek() == Some(&'^') {
        kan = true;
        chars.next();
    }
    let mut st = swara(chars.next()?)?;
    let mut beats = 1.0;
    let mut osc = false;
    for c in chars {
        match c {
            '.' => st -= 12,
            '\'' => st += 12,
            '~' => osc = true,
            '-' => beats += 1.0,
            _ => return None,
        }
    }
    Some(Written { st, beats, osc, kan })
}

/// Reads a whitespace-separated phrase; `None` if any token is not valid notation.
pub(crate) fn parse(phrase: &str) -> Option<Vec<Written>> {
    phrase.split_whitespace().map(token).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[(i32, f32, bool, bool)]) {
        let got = parse(input).unwrap_or_default();
        let got: Vec<_> = got.iter().map(|w| (w.st, w.beats, w.osc, w.kan)).collect();
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn reads_octaves_lengths_and_ornaments() {
        check(
            "N. R G-- ^R S' d.~",
            &[
                (-1, 1.0, false, false),
                (2, 1.0, false, false),
                (4, 3.0, false, false),
                (2, 1.0, false, true),
                (12, 1.0, false, false),
                (-4, 1.0, true, false),
            ],
        );
    }

    #[test]
    fn rejects_unknown_letters() {
        assert!(parse("S X R").is_none());
        assert!(parse("S R,").is_none());
    }
}
