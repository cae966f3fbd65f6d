//! Confusion matrix heat map: rows are the true raga, columns the predicted one.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{FONT, Figure, PlotError, base_path, bold, register_fonts, text_size, write_figure};

/// Writes `<stem>.svg` and `<stem>.png` into `dir` (created if missing): a heat map of
/// `counts[truth][predicted]`, coloured by the share of each true raga's clips (so every
/// row reads on the same scale), with the count printed in each cell, `labels` on both
/// axes (the predicted ones turned vertical), each row's recall on the right, and
/// `title` followed by the overall accuracy. A row without clips is drawn blank.
///
/// Returns the paths written, SVG first.
///
/// # Errors
///
/// [`PlotError::NoLabels`] for no labels, [`PlotError::ShapeMismatch`] when `counts` is
/// not a square matrix with one row and one column per label, [`PlotError::InvalidStem`]
/// for a stem that is not a plain file name, and the drawing or writing errors of
/// [`PlotError`].
pub fn confusion_matrix(
    dir: &Path,
    stem: &str,
    title: &str,
    labels: &[String],
    counts: &[Vec<u64>],
) -> Result<Vec<PathBuf>, PlotError> {
    let path = base_path(dir, stem)?;
    let n = labels.len();
    if n == 0 {
        return Err(PlotError::NoLabels { path });
    }
    if counts.len() != n {
        let what = format!("{} rows of counts", counts.len());
        return Err(PlotError::ShapeMismatch { path, labels: n, what });
    }
    if let Some((row, cells)) = counts.iter().enumerate().find(|(_, cells)| cells.len() != n) {
        let what = format!("row {row} ({}) has {} counts", labels[row], cells.len());
        return Err(PlotError::ShapeMismatch { path, labels: n, what });
    }
    // The layout measures the labels with the embedded font.
    register_fonts(&path)?;
    write_figure(dir, stem, &Matrix::new(title, labels, counts))
}

/// The matrix with its layout worked out, in pixels.
struct Matrix<'a> {
    title: String,
    labels: &'a [String],
    counts: &'a [Vec<u64>],
    row_totals: Vec<u64>,
    /// Side of one cell.
    cell: i32,
    /// Top-left corner of the grid.
    origin: (i32, i32),
    size: (u32, u32),
}

const MARGIN: i32 = 24;
const GAP: i32 = 10;
const TITLE_SIZE: f64 = 22.0;
const AXIS_TITLE_SIZE: f64 = 17.0;
const LABEL_SIZE: f64 = 14.0;
const RECALL_HEADER: &str = "recall";
const INK: RGBColor = RGBColor(33, 33, 33);
const FAINT: RGBColor = RGBColor(175, 175, 175);
const GRID: RGBColor = RGBColor(255, 255, 255);
const FRAME: RGBColor = RGBColor(120, 120, 120);

impl<'a> Matrix<'a> {
    fn new(title: &str, labels: &'a [String], counts: &'a [Vec<u64>]) -> Self {
        let row_totals: Vec<u64> = counts.iter().map(|row| row.iter().sum()).collect();
        let total: u64 = row_totals.iter().sum();
        let correct: u64 = counts.iter().enumerate().map(|(i, row)| row[i]).sum();
        let accuracy = if total == 0 {
            "accuracy n/a (no clips)".to_owned()
        } else {
            format!("accuracy {:.1}% ({correct}/{total})", 100.0 * correct as f64 / total as f64)
        };
        let title = if title.is_empty() { accuracy } else { format!("{title} — {accuracy}") };

        let n = labels.len() as i32;
        let cell = (760 / n).clamp(22, 64);
        let label_font = (FONT, LABEL_SIZE).into_font();
        let label_width = labels.iter().map(|l| text_size(l, &label_font).0).max().unwrap_or(0) as i32;
        let axis_title_height = text_size("Ag", &(FONT, AXIS_TITLE_SIZE).into_font()).1 as i32;
        let title_font = bold(TITLE_SIZE);
        let (title_width, title_height) = text_size(&title, &title_font);
        let recall_width =
            text_size(RECALL_HEADER, &label_font).0.max(text_size("100%", &label_font).0) as i32;

        let left = MARGIN + axis_title_height + GAP + label_width + GAP;
        let top = MARGIN + title_height as i32 + 2 * GAP + text_size("Ag", &label_font).1 as i32;
        let grid = n * cell;
        let right = GAP + recall_width + MARGIN;
        let bottom = GAP + label_width + GAP + axis_title_height + MARGIN;
        let width = (left + grid + right).max(title_width as i32 + 2 * MARGIN);
        Matrix {
            title,
            labels,
            counts,
            row_totals,
            cell,
            origin: (left, top),
            size: (width as u32, (top + grid + bottom) as u32),
        }
    }

    /// Pixel centre of cell `(row, col)`.
    fn centre(&self, row: usize, col: usize) -> (i32, i32) {
        let (x0, y0) = self.origin;
        (x0 + col as i32 * self.cell + self.cell / 2, y0 + row as i32 * self.cell + self.cell / 2)
    }
}

impl Figure for Matrix<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let n = self.labels.len();
        let (x0, y0) = self.origin;
        let grid = n as i32 * self.cell;
        let (width, height) = (self.size.0 as i32, self.size.1 as i32);
        let anchored = |size: f64, h: HPos, v: VPos| (FONT, size).into_font().color(&INK).pos(Pos::new(h, v));

        // Title, centred over the grid when it fits there, else over the canvas.
        let title_style = bold(TITLE_SIZE).color(&INK);
        let title_width = text_size(&self.title, &title_style.font).0 as i32;
        let grid_centre = x0 + grid / 2;
        let title_x = grid_centre.clamp(MARGIN + title_width / 2, width - MARGIN - title_width / 2);
        root.draw(&Text::new(
            self.title.as_str(),
            (title_x, MARGIN),
            title_style.pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;

        // Cells: colour by share of the row, count on top.
        let count_font_size = (f64::from(self.cell) * 0.36).min(LABEL_SIZE);
        for (row, cells) in self.counts.iter().enumerate() {
            let total = self.row_totals[row];
            for (col, &count) in cells.iter().enumerate() {
                let share = if total == 0 { 0.0 } else { count as f64 / total as f64 };
                let (cx, cy) = self.centre(row, col);
                let half = self.cell / 2;
                let corner = (cx - half, cy - half);
                root.draw(&Rectangle::new(
                    [corner, (corner.0 + self.cell, corner.1 + self.cell)],
                    blues(share).filled(),
                ))?;
                let ink = if count == 0 {
                    FAINT
                } else if share > 0.5 {
                    WHITE
                } else {
                    INK
                };
                let text = count.to_string();
                let mut font = (FONT, count_font_size).into_font();
                // Shrink long counts until they fit the cell.
                while text_size(&text, &font).0 as i32 > self.cell - 4 && font.get_size() > 6.0 {
                    font = (FONT, font.get_size() - 1.0).into_font();
                }
                root.draw(&Text::new(
                    text,
                    (cx, cy),
                    font.color(&ink).pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        for i in 0..=n as i32 {
            let at = i * self.cell;
            root.draw(&PathElement::new([(x0 + at, y0), (x0 + at, y0 + grid)], GRID))?;
            root.draw(&PathElement::new([(x0, y0 + at), (x0 + grid, y0 + at)], GRID))?;
        }
        root.draw(&Rectangle::new([(x0, y0), (x0 + grid, y0 + grid)], FRAME))?;

        // Labels: true ragas left of the rows, predicted ones below the columns, read downwards.
        for (i, label) in self.labels.iter().enumerate() {
            let (cx, cy) = self.centre(i, i);
            let row_label = anchored(LABEL_SIZE, HPos::Right, VPos::Center);
            root.draw(&Text::new(label.as_str(), (x0 - GAP, cy), row_label))?;
            let col_label = (FONT, LABEL_SIZE)
                .into_font()
                .transform(FontTransform::Rotate90)
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(label.as_str(), (cx, y0 + grid + GAP), col_label))?;
        }

        // Recall per true raga, right of the rows.
        let recall_x = x0 + grid + GAP;
        root.draw(&Text::new(
            RECALL_HEADER,
            (recall_x, y0 - 6),
            anchored(LABEL_SIZE, HPos::Left, VPos::Bottom),
        ))?;
        for (row, &total) in self.row_totals.iter().enumerate() {
            let text = if total == 0 {
                "–".to_owned()
            } else {
                format!("{:.0}%", 100.0 * self.counts[row][row] as f64 / total as f64)
            };
            let (_, cy) = self.centre(row, row);
            root.draw(&Text::new(text, (recall_x, cy), anchored(LABEL_SIZE, HPos::Left, VPos::Center)))?;
        }

        // Axis titles.
        let axis_font = bold(AXIS_TITLE_SIZE);
        root.draw(&Text::new(
            "predicted raga",
            (grid_centre, height - MARGIN),
            axis_font.color(&INK).pos(Pos::new(HPos::Center, VPos::Bottom)),
        ))?;
        root.draw(&Text::new(
            "true raga",
            (MARGIN, y0 + grid / 2),
            axis_font.transform(FontTransform::Rotate270).color(&INK).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        Ok(())
    }
}

/// A white-to-dark-blue ramp (after matplotlib's "Blues") for a share in `0..=1`.
fn blues(share: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] =
        [(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)];
    let t = if share.is_finite() { share.clamp(0.0, 1.0) } else { 0.0 } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{inked_fraction, png_size, read_outputs, svg_texts};

    const RAGAS: [&str; 20] = [
        "yaman",
        "bhairavi",
        "mayamalavagowla",
        "shankarabharanam",
        "miyan_ki_todi",
        "kalyani",
        "bhupali",
        "darbari_kanada",
        "kharaharapriya",
        "todi",
        "malkauns",
        "bageshri",
        "hamsadhwani",
        "mohanam",
        "kafi",
        "khamaj",
        "desh",
        "bihag",
        "marwa",
        "puriya_dhanashri",
    ];

    fn labels(n: usize) -> Vec<String> {
        // Past 20, repeat the names with a suffix so every label stays unique.
        (0..n)
            .map(|i| if i < 20 { RAGAS[i].to_owned() } else { format!("{}_{}", RAGAS[i % 20], i / 20) })
            .collect()
    }

    /// A plausible matrix: mostly right, some confusion with the next raga, one empty row.
    fn counts(n: usize) -> Vec<Vec<u64>> {
        (0..n)
            .map(|r| {
                (0..n)
                    .map(|c| match (r, c) {
                        (3, _) => 0,
                        _ if r == c => 40 + (r as u64 * 7) % 11,
                        _ if c == (r + 1) % n => (r as u64 * 5) % 9,
                        _ if c == (r + 7) % n => 1,
                        _ => 0,
                    })
                    .collect()
            })
            .collect()
    }

    fn check(labels: &[String], counts: &[Vec<u64>], title: &str) -> Vec<String> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let paths = confusion_matrix(tmp.path(), "confusion", title, labels, counts).expect("plot");
        let (svg, png) = read_outputs(tmp.path(), "confusion", &paths);
        let matrix = Matrix::new(title, labels, counts);
        assert_eq!(png_size(&png), matrix.size);
        assert!(inked_fraction(&png) > 0.05, "png looks blank");
        let texts = svg_texts(&svg);
        let count = |text: &str| texts.iter().filter(|t| *t == text).count();
        for text in [matrix.title.as_str(), "predicted raga", "true raga", "recall"] {
            assert_eq!(count(text), 1, "{text}");
        }
        for label in labels {
            assert_eq!(count(label), 2, "{label} on both axes");
        }
        // One count per cell, one recall per row, and the texts above.
        assert_eq!(texts.len(), labels.len() * labels.len() + labels.len() * 3 + 4);
        texts
    }

    #[test]
    fn twenty_ragas_with_counts_and_accuracy() {
        let texts = check(&labels(20), &counts(20), "validation, epoch 23");
        let has = |text: &str| texts.iter().any(|t| t == text);
        assert!(has("shankarabharanam") && has("miyan_ki_todi"));
        let (correct, total) = counts(20)
            .iter()
            .enumerate()
            .fold((0, 0), |(c, t), (i, row)| (c + row[i], t + row.iter().sum::<u64>()));
        let accuracy = format!("accuracy {:.1}% ({correct}/{total})", 100.0 * correct as f64 / total as f64);
        assert!(has(&format!("validation, epoch 23 — {accuracy}")), "{accuracy}");
        assert!(has("45"), "counts printed in the cells");
        assert!(has("–"), "empty row has no recall");
    }

    #[test]
    fn single_raga_and_all_zero_matrix() {
        check(&labels(1), &[vec![5]], "one");
        let texts = check(&labels(3), &vec![vec![0; 3]; 3], "nothing yet");
        assert!(texts.contains(&"nothing yet — accuracy n/a (no clips)".to_owned()));
    }

    #[test]
    fn large_counts_and_many_labels_fit() {
        let mut big = counts(40);
        big[0][0] = 1_234_567;
        check(&labels(40), &big, "");
    }

    #[test]
    fn shape_errors_name_the_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("confusion");
        let err = |labels: &[String], counts: &[Vec<u64>]| {
            confusion_matrix(tmp.path(), "confusion", "t", labels, counts).expect_err("bad shape").to_string()
        };
        let p = path.display();
        assert_eq!(err(&[], &[]), format!("no labels for the confusion matrix {p}"));
        assert_eq!(
            err(&labels(3), &counts(2)),
            format!("confusion matrix {p} has 3 labels but 2 rows of counts")
        );
        let mut ragged = counts(3);
        ragged[1].push(9);
        assert_eq!(
            err(&labels(3), &ragged),
            format!("confusion matrix {p} has 3 labels but row 1 (bhairavi) has 4 counts")
        );
        assert_eq!(std::fs::read_dir(tmp.path()).expect("read dir").count(), 0);
    }

    #[test]
    fn colour_ramp_ends() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(f64::NAN), blues(0.0));
        assert_eq!(blues(7.0), blues(1.0));
    }
}
