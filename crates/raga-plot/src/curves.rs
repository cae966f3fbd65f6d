//! Loss and accuracy over epochs: two panels side by side, train against validation.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{FONT, Figure, PlotError, base_path, bold, write_figure};

/// One epoch's numbers for the curves.
///
/// Non-finite values (a diverged loss, an epoch without validation) are left out of
/// the plot; the line breaks there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    /// Fraction correct, `0..=1`.
    pub train_accuracy: f64,
    /// Fraction correct, `0..=1`.
    pub val_accuracy: f64,
}

/// Writes `<stem>.svg` and `<stem>.png` into `dir` (created if missing): two panels
/// side by side, loss (train vs val) and accuracy (train vs val, y axis `0..1`) over
/// epochs, with legends, axis labels and `title`. `best_epoch`, when given and inside
/// the plotted epochs, is marked with a dashed vertical line in both panels.
///
/// Returns the paths written, SVG first.
///
/// # Errors
///
/// [`PlotError::NoPoints`] for an empty `points`, [`PlotError::AccuracyOutOfRange`] for
/// a finite accuracy outside `0..=1`, [`PlotError::InvalidStem`] for a stem that is not
/// a plain file name, and the drawing or writing errors of [`PlotError`].
pub fn training_curves(
    dir: &Path,
    stem: &str,
    title: &str,
    points: &[CurvePoint],
    best_epoch: Option<usize>,
) -> Result<Vec<PathBuf>, PlotError> {
    let base = base_path(dir, stem)?;
    if points.is_empty() {
        return Err(PlotError::NoPoints { path: base });
    }
    for p in points {
        for (which, value) in [("train", p.train_accuracy), ("validation", p.val_accuracy)] {
            if value.is_finite() && !(0.0..=1.0).contains(&value) {
                return Err(PlotError::AccuracyOutOfRange { path: base, which, epoch: p.epoch, value });
            }
        }
    }
    let mut points = points.to_vec();
    points.sort_by_key(|p| p.epoch);
    let (first, last) = (points[0].epoch, points[points.len() - 1].epoch);
    let best_epoch = best_epoch.filter(|e| (first..=last).contains(e));
    write_figure(dir, stem, &Curves { title, points, best_epoch })
}

/// A validated, epoch-sorted set of points ready to draw.
struct Curves<'a> {
    title: &'a str,
    points: Vec<CurvePoint>,
    best_epoch: Option<usize>,
}

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 560;
const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VAL: RGBColor = RGBColor(255, 127, 14);
const BEST: RGBColor = RGBColor(90, 90, 90);

impl Figure for Curves<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let body = root.margin(12, 0, 0, 0).titled(self.title, bold(24.0))?;
        let body = body.margin(4, 12, 12, 20);
        let (loss_area, accuracy_area) = body.split_horizontally(WIDTH / 2);

        let loss = |p: &CurvePoint| (p.train_loss, p.val_loss);
        let (low, high) = loss_range(&self.points);
        self.panel(&loss_area, "loss", low..high, loss, SeriesLabelPosition::UpperRight)?;
        let accuracy = |p: &CurvePoint| (p.train_accuracy, p.val_accuracy);
        self.panel(&accuracy_area, "accuracy", 0.0..1.0, accuracy, SeriesLabelPosition::LowerRight)
    }
}

impl Curves<'_> {
    /// One panel: train and validation values of `pick` over epochs, in `y_range`.
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y_name: &str,
        y_range: std::ops::Range<f64>,
        pick: impl Fn(&CurvePoint) -> (f64, f64),
        legend_at: SeriesLabelPosition,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (first, last) = (self.points[0].epoch, self.points[self.points.len() - 1].epoch);
        // A single epoch still gets an x axis around it.
        let x_range = if first == last { first.saturating_sub(1)..last + 1 } else { first..last };
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .margin_right(24)
            .caption(y_name, (FONT, 20))
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range, y_range.clone())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_name)
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 14))
            .x_labels(10)
            .y_labels(8)
            .y_label_formatter(&|y| format_tick(*y))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;

        if let Some(best) = self.best_epoch {
            chart
                .draw_series(DashedLineSeries::new(
                    [(best, y_range.start), (best, y_range.end)],
                    6,
                    4,
                    BEST.stroke_width(2),
                ))?
                .label(format!("best epoch {best}"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BEST.stroke_width(2)));
        }
        for (name, color, is_train) in [("train", TRAIN, true), ("validation", VAL, false)] {
            let value = |p: &CurvePoint| if is_train { pick(p).0 } else { pick(p).1 };
            let finite: Vec<(usize, f64)> =
                self.points.iter().map(|p| (p.epoch, value(p))).filter(|(_, v)| v.is_finite()).collect();
            chart.draw_series(finite.iter().map(|&(x, y)| Circle::new((x, y), 3, color.filled())))?;
            for run in finite_runs(&self.points, &value) {
                chart.draw_series(LineSeries::new(run, color.stroke_width(2)))?;
            }
            // One empty series carries the legend entry, so it appears even without lines.
            chart
                .draw_series(std::iter::empty::<Circle<(usize, f64), i32>>())?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .position(legend_at)
            .margin(12)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
    }
}

/// Runs of consecutive epochs whose value is finite, as `(epoch, value)` lines.
fn finite_runs(points: &[CurvePoint], value: &dyn Fn(&CurvePoint) -> f64) -> Vec<Vec<(usize, f64)>> {
    let mut runs = vec![Vec::new()];
    for p in points {
        let v = value(p);
        match runs.last_mut() {
            Some(run) if v.is_finite() => run.push((p.epoch, v)),
            Some(run) if !run.is_empty() => runs.push(Vec::new()),
            _ => {}
        }
    }
    runs.retain(|run| run.len() > 1);
    runs
}

/// The loss axis: finite losses with a little headroom, `0..1` when there are none.
fn loss_range(points: &[CurvePoint]) -> (f64, f64) {
    let finite = points.iter().flat_map(|p| [p.train_loss, p.val_loss]).filter(|v| v.is_finite());
    let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        return (0.0, 1.0);
    }
    let pad = if high > low { (high - low) * 0.08 } else { (high.abs() * 0.1).max(0.1) };
    // Losses are usually non-negative; keep the axis from dipping below zero for padding alone.
    let bottom = if low >= 0.0 { (low - pad).max(0.0) } else { low - pad };
    (bottom, high + pad)
}

/// Tick labels with as few decimals as read well.
fn format_tick(y: f64) -> String {
    let text = format!("{y:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{inked_fraction, png_size, read_outputs, svg_texts};

    fn point(epoch: usize, loss: f64, accuracy: f64) -> CurvePoint {
        CurvePoint {
            epoch,
            train_loss: loss,
            val_loss: loss * 1.1 + 0.05,
            train_accuracy: accuracy,
            val_accuracy: accuracy * 0.9,
        }
    }

    fn history(epochs: usize) -> Vec<CurvePoint> {
        (1..=epochs)
            .map(|e| point(e, 3.0 * (-(e as f64) / 8.0).exp(), 1.0 - 0.95 * (-(e as f64) / 6.0).exp()))
            .collect()
    }

    /// Draws `points` and checks both files; returns the texts of the SVG.
    fn check(points: &[CurvePoint], best: Option<usize>) -> Vec<String> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let title = "raga-cnn — seed 7";
        let paths = training_curves(tmp.path(), "curves", title, points, best).expect("plot");
        let (svg, png) = read_outputs(tmp.path(), "curves", &paths);
        assert_eq!(png_size(&png), (WIDTH, HEIGHT));
        assert!(inked_fraction(&png) > 0.01, "png looks blank");
        let texts = svg_texts(&svg);
        for text in [title, "epoch", "loss", "accuracy", "train", "validation"] {
            assert!(texts.iter().any(|t| t == text), "{text} missing");
        }
        texts
    }

    #[test]
    fn writes_svg_and_png_with_labels_and_best_epoch() {
        let texts = check(&history(40), Some(23));
        assert!(texts.contains(&"best epoch 23".to_owned()));
    }

    #[test]
    fn single_epoch_plots() {
        let texts = check(&[point(0, 2.0, 0.3)], Some(0));
        assert!(texts.contains(&"best epoch 0".to_owned()));
    }

    #[test]
    fn nan_values_are_skipped() {
        let mut points = history(12);
        points[3].val_loss = f64::NAN;
        points[4].val_accuracy = f64::NAN;
        points[5].train_loss = f64::INFINITY;
        for p in &mut points[8..] {
            p.val_loss = f64::NAN;
            p.val_accuracy = f64::NAN;
        }
        let texts = check(&points, None);
        assert!(texts.iter().all(|t| !t.contains("NaN") && !t.contains("inf") && !t.contains("best epoch")));
    }

    #[test]
    fn all_nan_losses_still_plot() {
        let points: Vec<_> = (1..4).map(|e| point(e, f64::NAN, f64::NAN)).collect();
        check(&points, Some(2));
    }

    #[test]
    fn best_epoch_outside_the_points_is_not_drawn() {
        let texts = check(&history(5), Some(50));
        assert!(texts.iter().all(|t| !t.contains("best epoch")));
    }

    #[test]
    fn empty_points_are_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = training_curves(tmp.path(), "curves", "t", &[], None).expect_err("empty");
        assert!(matches!(err, PlotError::NoPoints { .. }));
        assert!(err.to_string().contains("curves"), "{err}");
        assert_eq!(std::fs::read_dir(tmp.path()).expect("read dir").count(), 0);
    }

    #[test]
    fn accuracy_outside_unit_range_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let points = [point(1, 1.0, 0.5), point(2, 1.0, 87.0)];
        let err = training_curves(tmp.path(), "curves", "t", &points, None).expect_err("percent");
        assert_eq!(
            err.to_string(),
            format!(
                "train accuracy 87 at epoch 2 is outside 0..=1 for {}",
                tmp.path().join("curves").display()
            )
        );
    }

    #[test]
    fn runs_break_at_non_finite_values() {
        let mut points = history(6);
        points[2].train_loss = f64::NAN;
        let runs = finite_runs(&points, &|p| p.train_loss);
        let epochs: Vec<Vec<usize>> = runs.iter().map(|r| r.iter().map(|(e, _)| *e).collect()).collect();
        assert_eq!(epochs, [vec![1, 2], vec![4, 5, 6]]);
    }

    #[test]
    fn tick_labels_are_short() {
        for (y, text) in [(0.0, "0"), (0.5, "0.5"), (1.25, "1.25"), (2.0, "2"), (-0.0001, "0")] {
            assert_eq!(format_tick(y), text);
        }
    }
}
