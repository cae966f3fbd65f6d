//! A training corpus on disk: `DIR/<raga>/*.{wav,flac,mp3,ogg}` plus an optional
//! `DIR/metadata.csv` (columns `file,raga,tradition,split`, optionally `tonic_hz`, others
//! ignored) — the layout
//! `ragasense synth` writes, and one a user can build from their own recordings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use raga_model::Tradition;
pub use raga_synth::Split;
use serde::Deserialize;

use crate::TrainError;

/// Audio file extensions the corpus picks up.
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// One labelled clip.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusClip {
    /// Absolute (or as given) path of the audio file.
    pub path: PathBuf,
    /// Path relative to the corpus root, `/`-separated (the metadata key).
    pub rel: String,
    /// Index into [`Corpus::labels`].
    pub label: usize,
    /// The clip's tradition (from metadata, else the raga's).
    pub tradition: Tradition,
    /// Its split.
    pub split: Split,
    /// The performer's Sa in Hz when metadata gives it: the trainer then learns from pitch
    /// relative to the true Sa (and teaches the tonic check with the estimator's wrong ones).
    pub tonic_hz: Option<f32>,
}

/// A scanned corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The folder scanned.
    pub root: PathBuf,
    /// Raga ids, the model's output order: known ragas in the catalogue's order, then others
    /// alphabetically.
    pub labels: Vec<String>,
    /// Each label's tradition.
    pub traditions: Vec<Tradition>,
    /// Every clip, sorted by path.
    pub clips: Vec<CorpusClip>,
}

#[derive(Debug, Deserialize)]
struct MetaRow {
    file: String,
    raga: Option<String>,
    tradition: Option<String>,
    split: Option<String>,
    tonic_hz: Option<String>,
}

impl Corpus {
    /// Scans `root`. Clips without a split in metadata.csv are assigned one from a hash of
    /// their path (80% train, 10% val, 10% test), so the assignment never changes between runs.
    pub fn scan(root: &Path) -> Result<Self, TrainError> {
        let read_dir = |dir: &Path| {
            std::fs::read_dir(dir)
                .map_err(|e| TrainError::Corpus(format!("{}: cannot list folder: {e}", dir.display())))
        };
        let meta = read_metadata(root)?;
        let mut found: Vec<(String, PathBuf, String)> = Vec::new(); // (raga, path, rel)
        for entry in read_dir(root)? {
            let entry = entry.map_err(|e| TrainError::Corpus(format!("{}: {e}", root.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            for file in read_dir(&entry.path())? {
                let file =
                    file.map_err(|e| TrainError::Corpus(format!("{}: {e}", entry.path().display())))?;
                let path = file.path();
                let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
                if ext.is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.as_str())) && path.is_file() {
                    let rel = format!("{name}/{}", file.file_name().to_string_lossy());
                    found.push((name.clone(), path, rel));
                }
            }
        }
        if found.is_empty() {
            return Err(TrainError::Corpus(format!(
                "{}: no audio files found; expected DIR/<raga>/*.{{{}}} (make one with `ragasense synth --out {}`)",
                root.display(),
                AUDIO_EXTENSIONS.join(","),
                root.display()
            )));
        }
        found.sort_by(|a, b| a.2.cmp(&b.2));

        // Labels: metadata's raga wins over the folder name.
        let raga_of = |(folder, _, rel): &(String, PathBuf, String)| {
            meta.get(rel)
                .and_then(|m| m.raga.clone())
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| folder.clone())
        };
        let mut labels: Vec<String> = found.iter().map(raga_of).collect();
        labels.sort();
        labels.dedup();
        labels.sort_by_key(|l| (raga_synth::raga_index(l).unwrap_or(usize::MAX), l.clone()));
        if labels.len() < 2 {
            return Err(TrainError::Corpus(format!(
                "{}: only one raga ({}); a classifier needs at least two",
                root.display(),
                labels.join("")
            )));
        }
        let mut label_tradition: Vec<Option<Tradition>> = labels
            .iter()
            .map(|l| {
                raga_synth::raga(l).map(|r| match r.tradition {
                    raga_synth::Tradition::Hindustani => Tradition::Hindustani,
                    raga_synth::Tradition::Carnatic => Tradition::Carnatic,
                })
            })
            .collect();

        let mut clips = Vec::with_capacity(found.len());
        for item in &found {
            let raga = raga_of(item);
            let (_, path, rel) = item;
            let label = labels
                .binary_search_by_key(&(raga_synth::raga_index(&raga).unwrap_or(usize::MAX), &raga), |l| {
                    (raga_synth::raga_index(l).unwrap_or(usize::MAX), l)
                });
            let label =
                label.map_err(|_| TrainError::Corpus(format!("internal: label {raga} not indexed")))?;
            let row = meta.get(rel);
            let tradition = match row.and_then(|m| m.tradition.as_deref()).filter(|t| !t.trim().is_empty()) {
                Some(t) => Tradition::parse(t).ok_or_else(|| {
                    TrainError::Corpus(format!(
                        "{}: metadata.csv gives tradition {t:?} for {rel}; use hindustani, carnatic or unknown",
                        root.display()
                    ))
                })?,
                None => label_tradition[label].unwrap_or(Tradition::Unknown),
            };
            if label_tradition[label].is_none() && tradition != Tradition::Unknown {
                label_tradition[label] = Some(tradition);
            }
            let split = match row.and_then(|m| m.split.as_deref()).filter(|s| !s.trim().is_empty()) {
                Some(s) => s.parse::<Split>().map_err(|_| {
                    TrainError::Corpus(format!(
                        "{}: metadata.csv gives split {s:?} for {rel}; use train, val or test",
                        root.display()
                    ))
                })?,
                None => hash_split(rel),
            };
            let tonic_hz = match row.and_then(|m| m.tonic_hz.as_deref()).map(str::trim).filter(|t| !t.is_empty()) {
                Some(t) => Some(t.parse::<f32>().ok().filter(|hz| hz.is_finite() && *hz > 0.0).ok_or_else(|| {
                    TrainError::Corpus(format!(
                        "{}: metadata.csv gives tonic_hz {t:?} for {rel}; use a frequency in Hz or leave it empty",
                        root.display()
                    ))
                })?),
                None => None,
            };
            clips.push(CorpusClip {
                path: path.clone(),
                rel: rel.clone(),
                label,
                tradition,
                split,
                tonic_hz,
            });
        }
        let traditions = label_tradition.into_iter().map(Option::unwrap_or_default).collect();
        Ok(Self { root: root.to_path_buf(), labels, traditions, clips })
    }

    /// Clips of one split.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &CorpusClip> {
        self.clips.iter().filter(move |c| c.split == split)
    }

    /// Number of clips per split.
    pub fn count(&self, split: Split) -> usize {
        self.split(split).count()
    }
}

fn read_metadata(root: &Path) -> Result<BTreeMap<String, MetaRow>, TrainError> {
    let path = root.join("metadata.csv");
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let mut reader = csv::Reader::from_path(&path)
        .map_err(|e| TrainError::Corpus(format!("{}: cannot read: {e}", path.display())))?;
    let mut rows = BTreeMap::new();
    for (i, row) in reader.deserialize::<MetaRow>().enumerate() {
        let row = row.map_err(|e| {
            TrainError::Corpus(format!(
                "{}: row {}: {e} (columns file,raga,tradition,split)",
                path.display(),
                i + 2
            ))
        })?;
        rows.insert(row.file.replace('\\', "/"), row);
    }
    Ok(rows)
}

/// 80/10/10 split from an FNV-1a hash of the relative path.
fn hash_split(rel: &str) -> Split {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rel.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    match h % 10 {
        0 => Split::Val,
        1 => Split::Test,
        _ => Split::Train,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }

    #[test]
    fn scans_folders_metadata_and_hash_splits() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("yaman/a.wav"));
        touch(&dir.path().join("yaman/b.flac"));
        touch(&dir.path().join("yaman/notes.txt"));
        touch(&dir.path().join("my_raga/c.mp3"));
        touch(&dir.path().join(".cache/x.wav"));
        std::fs::write(
            dir.path().join("metadata.csv"),
            "file,raga,tradition,split,extra,tonic_hz\nyaman/a.wav,yaman,,test,1,146.8\nmy_raga/c.mp3,my_raga,carnatic,,,\n",
        )
        .unwrap();
        let corpus = Corpus::scan(dir.path()).unwrap();
        assert_eq!(corpus.labels, ["yaman", "my_raga"]);
        assert_eq!(corpus.traditions, [Tradition::Hindustani, Tradition::Carnatic]);
        assert_eq!(corpus.clips.len(), 3);
        assert_eq!(corpus.clips[1].rel, "yaman/a.wav");
        assert_eq!(corpus.clips[1].split, Split::Test);
        assert_eq!(corpus.clips[0].label, 1);
        assert_eq!((corpus.clips[0].tonic_hz, corpus.clips[1].tonic_hz), (None, Some(146.8)));
    }

    #[test]
    fn empty_and_bad_metadata_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Corpus::scan(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no audio files found"), "{err}");
        touch(&dir.path().join("yaman/a.wav"));
        touch(&dir.path().join("bhairav/a.wav"));
        std::fs::write(
            dir.path().join("metadata.csv"),
            "file,raga,tradition,split\nyaman/a.wav,yaman,,holdout\n",
        )
        .unwrap();
        let err = Corpus::scan(dir.path()).unwrap_err().to_string();
        assert!(err.contains("split \"holdout\""), "{err}");
        std::fs::write(dir.path().join("metadata.csv"), "file,raga,tonic_hz\nyaman/a.wav,yaman,-3\n")
            .unwrap();
        let err = Corpus::scan(dir.path()).unwrap_err().to_string();
        assert!(err.contains("tonic_hz \"-3\""), "{err}");
        let err = Corpus::scan(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(err.contains("cannot list folder"), "{err}");
    }
}
