//! Training plots of the raga trainer, written as SVG and PNG with an embedded font.
//!
//! Plain data goes in, files come out: [`training_curves`] draws loss and accuracy over
//! epochs, [`confusion_matrix`] draws a row-normalised heat map of truth against
//! prediction. Each call writes `<stem>.svg` and `<stem>.png` into a folder and returns
//! their paths.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (through `plotters`'
//! `ab_glyph` feature), so the PNGs look the same on a machine without any fonts. The
//! SVGs name the generic `sans-serif` family and leave the glyphs to the viewer.

mod confusion;
mod curves;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

pub use confusion::confusion_matrix;
pub use curves::{CurvePoint, training_curves};

/// Why a plot could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The output stem is empty or would leave the output folder.
    #[error("invalid plot name {stem:?} for {dir}: expected a plain file stem without separators")]
    InvalidStem { dir: PathBuf, stem: String },
    /// No epochs were given to [`training_curves`].
    #[error("no training curve points to plot for {path}")]
    NoPoints { path: PathBuf },
    /// An accuracy outside `0..=1` was given to [`training_curves`].
    #[error("{which} accuracy {value} at epoch {epoch} is outside 0..=1 for {path}")]
    AccuracyOutOfRange { path: PathBuf, which: &'static str, epoch: usize, value: f64 },
    /// No labels were given to [`confusion_matrix`].
    #[error("no labels for the confusion matrix {path}")]
    NoLabels { path: PathBuf },
    /// The counts do not form a square matrix with one row and column per label.
    #[error("confusion matrix {path} has {labels} labels but {what}")]
    ShapeMismatch { path: PathBuf, labels: usize, what: String },
    /// The embedded font could not be loaded (a build problem, not a data problem).
    #[error("cannot load the embedded font to draw {path}")]
    Font { path: PathBuf },
    /// The plotting library failed while drawing.
    #[error("cannot draw {path}: {message}")]
    Render { path: PathBuf, message: String },
    /// The PNG encoder failed.
    #[error("cannot encode {path}")]
    EncodePng {
        path: PathBuf,
        #[source]
        source: png::EncodingError,
    },
    /// The output folder or file could not be written.
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Font family every figure draws with; registered once with the embedded DejaVu Sans.
const FONT: &str = "sans-serif";

/// Registers DejaVu Sans (regular and bold) as [`FONT`], for drawing and measuring text.
///
/// `plotters` keeps registered fonts in a global table, so this runs once per process;
/// `path` names the figure in the error.
fn register_fonts(path: &Path) -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if registered { Ok(()) } else { Err(PlotError::Font { path: path.to_path_buf() }) }
}

/// A figure that can draw itself on any `plotters` backend.
trait Figure {
    /// Canvas size in pixels (SVG user units), width then height.
    fn size(&self) -> (u32, u32);

    /// Draws the whole figure on `root`, which has [`Figure::size`].
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// `dir/stem` with a validated stem, used in error messages before any file exists.
fn base_path(dir: &Path, stem: &str) -> Result<PathBuf, PlotError> {
    let plain = !stem.is_empty()
        && stem != "."
        && stem != ".."
        && !stem.contains(['/', '\\'])
        && Path::new(stem).file_name().is_some_and(|name| name == stem);
    if plain {
        Ok(dir.join(stem))
    } else {
        Err(PlotError::InvalidStem { dir: dir.to_path_buf(), stem: stem.to_owned() })
    }
}

/// Renders `figure` to `<stem>.svg` and `<stem>.png` in `dir` (created if missing).
fn write_figure(dir: &Path, stem: &str, figure: &impl Figure) -> Result<Vec<PathBuf>, PlotError> {
    let base = base_path(dir, stem)?;
    let svg_path = base.with_file_name(format!("{stem}.svg"));
    let png_path = base.with_file_name(format!("{stem}.png"));
    register_fonts(&base)?;
    let render_error = |path: &Path, message: String| PlotError::Render { path: path.to_path_buf(), message };

    let (width, height) = figure.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        figure.draw(&root).map_err(|e| render_error(&svg_path, e.to_string()))?;
        root.present().map_err(|e| render_error(&svg_path, e.to_string()))?;
    }

    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        figure.draw(&root).map_err(|e| render_error(&png_path, e.to_string()))?;
        root.present().map_err(|e| render_error(&png_path, e.to_string()))?;
    }
    let png = encode_png(&rgb, width, height)
        .map_err(|source| PlotError::EncodePng { path: png_path.clone(), source })?;

    fs::create_dir_all(dir).map_err(|source| PlotError::Write { path: dir.to_path_buf(), source })?;
    fs::write(&svg_path, svg).map_err(|source| PlotError::Write { path: svg_path.clone(), source })?;
    fs::write(&png_path, png).map_err(|source| PlotError::Write { path: png_path.clone(), source })?;
    Ok(vec![svg_path, png_path])
}

/// Encodes 8-bit RGB pixels, row by row, as a PNG file.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// The bold face of [`FONT`] at `size` pixels.
///
/// `FontDesc::style` keeps the regular glyphs in the bitmap backend, so the face is
/// chosen when the font is made.
fn bold(size: f64) -> FontDesc<'static> {
    (FONT, size, FontStyle::Bold).into_font()
}

/// Width and height in pixels of `text` drawn in `font`; a rough guess if the font fails.
///
/// Measures with the embedded font, so [`register_fonts`] must have run.
fn text_size(text: &str, font: &FontDesc<'_>) -> (u32, u32) {
    font.box_size(text).unwrap_or_else(|_| {
        let size = font.get_size();
        ((text.chars().count() as f64 * size * 0.6) as u32, size as u32)
    })
}

#[cfg(test)]
mod test_support {
    //! Checks on written figures shared by the unit tests.

    use std::path::{Path, PathBuf};

    /// Asserts that `paths` are `<stem>.svg` and `<stem>.png` in `dir` and returns their contents.
    pub(crate) fn read_outputs(dir: &Path, stem: &str, paths: &[PathBuf]) -> (String, Vec<u8>) {
        assert_eq!(paths, [dir.join(format!("{stem}.svg")), dir.join(format!("{stem}.png"))]);
        let svg = std::fs::read_to_string(&paths[0]).expect("svg written");
        let png = std::fs::read(&paths[1]).expect("png written");
        (svg, png)
    }

    /// The contents of every `<text>` element, trimmed (plotters puts them on their own line).
    pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|element| {
                let (_, rest) = element.split_once('>')?;
                let (content, _) = rest.split_once("</text>")?;
                Some(content.trim().to_owned())
            })
            .collect()
    }

    /// Width and height from a PNG header, after checking the magic bytes.
    pub(crate) fn png_size(png: &[u8]) -> (u32, u32) {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a png");
        assert_eq!(&png[12..16], b"IHDR");
        let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        (be(16), be(20))
    }

    /// Fraction of PNG pixels that are not pure white: a figure with text and lines has many.
    pub(crate) fn inked_fraction(png: &[u8]) -> f64 {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
        let info = reader.next_frame(&mut buf).expect("png frame");
        let pixels = buf[..info.buffer_size()].chunks(3);
        let total = pixels.len();
        let inked = pixels.filter(|p| p != &[255, 255, 255]).count();
        inked as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_that_would_leave_the_folder_are_rejected() {
        let dir = Path::new("out");
        for stem in ["", ".", "..", "a/b", "a\\b", "/abs"] {
            let err = base_path(dir, stem).expect_err(stem);
            assert!(err.to_string().starts_with("invalid plot name"), "{err}");
        }
        assert_eq!(base_path(dir, "curves").expect("plain stem"), dir.join("curves"));
    }

    #[test]
    fn write_errors_name_the_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blocker = tmp.path().join("file");
        std::fs::write(&blocker, b"x").expect("write blocker");
        let points =
            [CurvePoint { epoch: 1, train_loss: 1.0, val_loss: 1.0, train_accuracy: 0.5, val_accuracy: 0.5 }];
        let err = training_curves(&blocker.join("sub"), "c", "t", &points, None).expect_err("not a dir");
        assert!(matches!(err, PlotError::Write { .. }), "{err:?}");
        assert!(err.to_string().contains("file"), "{err}");
    }
}
