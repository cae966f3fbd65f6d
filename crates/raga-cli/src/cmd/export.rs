//! `ragasense export`: the built web app and one published model in a folder that any static
//! host serves, with no registry behind it. The model is fetched from the registry's
//! publication routes (what a browser fetches), every file checked against the manifest's
//! sha256; the site's `config.json` points the app at the local copy. The folder is written
//! beside `--out` and moved into place at the end, so a failed export leaves nothing half made.

use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use raga_model::Manifest;
use registry_server::client::{ClientError, RegistryClient};
use serde_json::{Value, json};

/// Where the model goes inside the site.
pub const MODEL_DIR: &str = "model";
/// Written into every export: says what it holds, and lets a later export replace it.
pub const MARKER: &str = "ragasense-export.json";

/// Arguments of `ragasense export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model: NAME@ALIAS, NAME/VERSION or NAME/STAGE (MLflow's `models:/` forms).
    #[arg(long, default_value = "raga-detector@production")]
    model: String,
    /// The site folder to write (an earlier export there is replaced; any other non-empty
    /// folder is refused).
    #[arg(long)]
    out: PathBuf,
    /// Registry URL (falls back to RAGASENSE_TRACKING_URI, then MLFLOW_TRACKING_URI, then
    /// http://127.0.0.1:5000).
    #[arg(long)]
    tracking_uri: Option<String>,
    /// The built web app (scripts/build-web.sh writes web/dist).
    #[arg(long, env = "RAGASENSE_WEB_DIR", default_value = "web/dist")]
    web_dir: PathBuf,
    /// Where the site sends telemetry (default: the registry's /v1/telemetry).
    #[arg(long, conflicts_with = "no_telemetry")]
    telemetry_url: Option<String>,
    /// The site sends no telemetry at all.
    #[arg(long)]
    no_telemetry: bool,
    /// A publishable telemetry key (`ragasense token create --scope telemetry --model NAME`)
    /// for a registry that checks tokens; it is written into the site's config.json.
    #[arg(long, env = "RAGASENSE_TELEMETRY_KEY", conflicts_with = "no_telemetry")]
    telemetry_key: Option<String>,
}

/// A registered model and which of its versions, in MLflow's `models:/` forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// Registered model name.
    pub name: String,
    /// What the publication URL takes: a version (`3`), a stage (`Production`) or `@alias`.
    pub selector: String,
}

impl ModelRef {
    /// Parses `NAME@ALIAS`, `NAME/VERSION` or `NAME/STAGE`, optionally after `models:/`.
    pub fn parse(s: &str) -> Result<Self> {
        let usage = "give NAME@ALIAS, NAME/VERSION or NAME/STAGE, e.g. raga-detector@production";
        let body = s.trim().strip_prefix("models:/").unwrap_or(s.trim());
        let (name, selector) = match (body.split_once('@'), body.split_once('/')) {
            (Some((name, alias)), None) if !alias.contains('@') => (name, format!("@{alias}")),
            (None, Some((name, which))) if !which.contains('/') => (name, which.to_string()),
            (None, None) => bail!("model '{s}' names no version: {usage} (e.g. {s}@production)"),
            _ => bail!("model '{s}': {usage}"),
        };
        if name.is_empty() || selector.is_empty() || selector == "@" {
            bail!("model '{s}': {usage}");
        }
        Ok(Self { name: name.to_string(), selector })
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.selector.strip_prefix('@') {
            Some(alias) => write!(f, "{}@{alias}", self.name),
            None => write!(f, "{}/{}", self.name, self.selector),
        }
    }
}

/// Where the site's telemetry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Telemetry {
    /// Nowhere.
    Off,
    /// To this `POST /v1/telemetry` endpoint, with this publishable key if any.
    To(String, Option<String>),
}

/// A published manifest made local: the same package, minus the registry's file URLs, so
/// each file is found beside the manifest.
#[derive(Debug)]
pub struct SiteModel {
    /// The checked manifest.
    pub manifest: Manifest,
    /// Its JSON as the site serves it (`registry: {model, version}` kept: the browser reports
    /// telemetry against that version).
    pub json: Vec<u8>,
    /// The registry version, when the manifest records it.
    pub version: Option<String>,
    /// Each listed file and the registry path it is fetched from, when the manifest gives one.
    pub files: Vec<(String, Option<String>)>,
}

/// Checks a published manifest as a loader would and makes it local (see [`SiteModel`]).
pub fn site_model(published: &[u8]) -> Result<SiteModel> {
    let manifest = Manifest::from_json(published).context("checking the published manifest")?;
    let mut doc: Value = serde_json::from_slice(published).context("reading the published manifest")?;
    let mut urls = Vec::new();
    strip_urls(&mut doc, &mut urls);
    let mut files = Vec::new();
    for entry in &manifest.files {
        safe_relative(&entry.path)?;
        let url = urls.iter().find(|(path, _)| *path == entry.path).map(|(_, url)| url.clone());
        files.push((entry.path.clone(), url));
    }
    let version = doc.get("registry").and_then(|r| r.get("version")).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let mut json = serde_json::to_vec_pretty(&doc).context("writing the manifest")?;
    json.push(b'\n');
    Ok(SiteModel { manifest, json, version, files })
}

/// Removes every `url` the registry added beside a file's `path`, collecting `(path, url)`.
fn strip_urls(value: &mut Value, urls: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(path)), Some(Value::String(url))) = (map.get("path"), map.get("url")) {
                urls.push((path.clone(), url.clone()));
                map.remove("url");
            }
            map.values_mut().for_each(|v| strip_urls(v, urls));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip_urls(v, urls)),
        _ => {}
    }
}

/// A manifest's file path as a path inside the site: relative, no `..`.
fn safe_relative(path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    if path.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("the manifest lists a file at '{path}', which is not a plain relative path");
    }
    Ok(p.to_path_buf())
}

/// The site's `config.json`: the app's own settings (`base`, the built app's config) with
/// the model source replaced by the local manifest and telemetry set as asked.
pub fn site_config(base: Option<Value>, telemetry: &Telemetry) -> Value {
    let mut config = match base {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    for key in ["registry", "model", "ref", "manifestUrl", "telemetry"] {
        config.remove(key);
    }
    config.insert("manifestUrl".into(), json!(format!("{MODEL_DIR}/manifest.json")));
    config.insert(
        "telemetry".into(),
        match telemetry {
            Telemetry::Off => json!(false),
            Telemetry::To(url, None) => json!({ "url": url }),
            Telemetry::To(url, Some(key)) => json!({ "url": url, "key": key }),
        },
    );
    Value::Object(config)
}

/// Fails unless `out` is absent, empty, or an earlier export.
pub fn check_out(out: &Path) -> Result<()> {
    if out.file_name().is_none() {
        bail!("--out {} must name a folder to write", out.display());
    }
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {} exists and is not a folder", out.display());
    }
    let empty = fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?.next().is_none();
    if !empty && !out.join(MARKER).is_file() {
        bail!(
            "refusing to write into {}: it is not empty and not an earlier `ragasense export` (choose another --out or empty it)",
            out.display()
        );
    }
    Ok(())
}

/// Fails unless `dir` holds a built web app.
pub fn check_web_dir(dir: &Path) -> Result<()> {
    if !dir.join("index.html").is_file() {
        bail!(
            "no built web app in {} (index.html is missing): run scripts/build-web.sh first, or pass --web-dir",
            dir.display()
        );
    }
    Ok(())
}

/// Copies the app, except what the export writes itself (`config.json`, the model, the marker).
pub fn copy_app(from: &Path, to: &Path) -> Result<()> {
    copy_tree(from, to, true)
}

fn copy_tree(from: &Path, to: &Path, top: bool) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let name = entry.file_name();
        if top && (name == "config.json" || name == MODEL_DIR || name == MARKER) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst, false)?;
        } else {
            fs::copy(&src, &dst)
                .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

/// Everything the site holds besides the app.
#[derive(Debug)]
pub struct Site<'a> {
    /// The model, made local.
    pub model: &'a SiteModel,
    /// Each listed file's verified bytes.
    pub files: &'a [(String, Vec<u8>)],
    /// `config.json`.
    pub config: &'a Value,
    /// The marker's content.
    pub about: &'a Value,
}

/// Writes the app and `site` into `out` (see [`check_out`]): into a sibling folder first,
/// moved into place once complete.
pub fn write_site(web_dir: &Path, out: &Path, site: &Site<'_>) -> Result<()> {
    check_out(out)?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let written = (|| -> Result<()> {
        if partial.exists() {
            fs::remove_dir_all(&partial).with_context(|| format!("removing {}", partial.display()))?;
        }
        copy_app(web_dir, &partial)?;
        let model_dir = partial.join(MODEL_DIR);
        fs::create_dir_all(&model_dir).with_context(|| format!("creating {}", model_dir.display()))?;
        write(&model_dir.join("manifest.json"), &site.model.json)?;
        for (path, bytes) in site.files {
            let dst = model_dir.join(safe_relative(path)?);
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            write(&dst, bytes)?;
        }
        write(&partial.join("config.json"), &pretty(site.config)?)?;
        write(&partial.join(MARKER), &pretty(site.about)?)?;
        if out.exists() {
            fs::remove_dir_all(out)
                .with_context(|| format!("removing the earlier export {}", out.display()))?;
        }
        fs::rename(&partial, out)
            .with_context(|| format!("moving {} to {}", partial.display(), out.display()))
    })();
    if written.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    written
}

fn pretty(value: &Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).context("writing JSON")?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// A published model fetched from a registry, every file checked against the manifest.
#[derive(Debug)]
pub struct FetchedModel {
    /// The manifest made local.
    pub local: SiteModel,
    /// Each listed file's verified bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// `MODEL from the registry at URL`, for messages.
    pub at: String,
}

/// Fetches `model`'s manifest and files from the publication routes (what a browser
/// fetches), checking each file's sha256 against the manifest.
pub async fn fetch_model(client: &RegistryClient, model: &ModelRef) -> Result<FetchedModel> {
    let at = format!("{model} from the registry at {}", client.base());
    let published = client.published_manifest(&model.name, &model.selector).await.map_err(|e| {
        // A failed connection names the registry already.
        let what = match e {
            ClientError::Transport { .. } => format!("fetching the manifest of {model}"),
            _ => format!("fetching the manifest of {at}"),
        };
        anyhow::Error::new(e).context(what)
    })?;
    let local = site_model(&published).with_context(|| format!("the manifest of {at}"))?;
    let pinned = local.version.clone().unwrap_or_else(|| model.selector.clone());
    let mut files = Vec::new();
    for (path, url) in &local.files {
        let url = url.clone().unwrap_or_else(|| format!("/v1/models/{}/{pinned}/files/{path}", model.name));
        let bytes =
            client.published_file(&url).await.with_context(|| format!("fetching {path} of {at} ({url})"))?;
        local.manifest.verify_file(path, &bytes).with_context(|| format!("checking {path} of {at}"))?;
        files.push((path.clone(), bytes));
    }
    Ok(FetchedModel { local, files, at })
}

/// `ragasense export`.
pub async fn run(args: Args) -> Result<()> {
    let model = ModelRef::parse(&args.model)?;
    check_web_dir(&args.web_dir)?;
    check_out(&args.out)?;
    let client = RegistryClient::from_env(args.tracking_uri.as_deref())?;
    let telemetry = match (&args.telemetry_url, args.no_telemetry) {
        (_, true) => Telemetry::Off,
        (Some(url), false) if url.starts_with("http://") || url.starts_with("https://") => {
            Telemetry::To(url.clone(), args.telemetry_key.clone())
        }
        (Some(url), false) => bail!("--telemetry-url '{url}' must be an absolute http(s) URL"),
        (None, false) => Telemetry::To(format!("{}/v1/telemetry", client.base()), args.telemetry_key.clone()),
    };

    let FetchedModel { local, files, .. } = fetch_model(&client, &model).await?;

    let base_config =
        fs::read(args.web_dir.join("config.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let config = site_config(base_config, &telemetry);
    let about = json!({
        "model": local.manifest.name,
        "registered_model": model.name,
        "ref": model.selector,
        "version": local.version,
        "registry": client.base(),
        "files": local.manifest.files,
        "exported_by": concat!("ragasense ", env!("CARGO_PKG_VERSION")),
    });
    let site = Site { model: &local, files: &files, config: &config, about: &about };
    write_site(&args.web_dir, &args.out, &site)
        .with_context(|| format!("writing the site to {}", args.out.display()))?;

    let version = local.version.as_deref().map_or(String::new(), |v| format!(" version {v}"));
    println!("exported {}{version} ({model}) with the web app to {}", model.name, args.out.display());
    for (path, bytes) in &files {
        println!("  {MODEL_DIR}/{path}: {} bytes, sha256 verified", bytes.len());
    }
    match &telemetry {
        Telemetry::Off => println!("  telemetry: off"),
        Telemetry::To(url, key) => {
            let key = if key.is_some() { ", with its telemetry key" } else { "" };
            println!(
                "  telemetry: {url}{key} (--telemetry-url URL, --telemetry-key KEY or --no-telemetry to change)"
            )
        }
    }
    println!("serve it from any static host, e.g. python3 -m http.server -d {} 8000", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/model-small-int8");

    fn check_ref(input: &str, expected: Result<(&str, &str), &str>) {
        match (ModelRef::parse(input), expected) {
            (Ok(r), Ok((name, selector))) => {
                assert_eq!((r.name.as_str(), r.selector.as_str()), (name, selector), "{input}");
            }
            (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{input}: {e}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn model_refs_take_mlflows_forms() {
        check_ref("raga-detector@production", Ok(("raga-detector", "@production")));
        check_ref("models:/raga-detector@champion", Ok(("raga-detector", "@champion")));
        check_ref("raga-detector/3", Ok(("raga-detector", "3")));
        check_ref("models:/raga-detector/Production", Ok(("raga-detector", "Production")));
        check_ref("raga-detector", Err("names no version"));
        check_ref("raga-detector@", Err("NAME@ALIAS"));
        check_ref("@production", Err("NAME@ALIAS"));
        check_ref("raga-detector/", Err("NAME/VERSION"));
        check_ref("a/b/c", Err("NAME/STAGE"));
        check_ref("a@b@c", Err("NAME@ALIAS"));
        check_ref("a@b/3", Err("NAME@ALIAS"));
        assert_eq!(
            ModelRef::parse("m@production").map(|r| r.to_string()).ok().as_deref(),
            Some("m@production")
        );
        assert_eq!(ModelRef::parse("m/3").map(|r| r.to_string()).ok().as_deref(), Some("m/3"));
    }

    /// The fixture package's manifest as the registry publishes it.
    fn published(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let raw = fs::read(format!("{FIXTURE}/manifest.json")).expect("fixture manifest");
        let mut doc: Value = serde_json::from_slice(&raw).expect("json");
        let hash = doc["files"][0]["sha256"].as_str().expect("sha256").to_string();
        doc["files"][0]["url"] = json!(format!("/v1/blobs/sha256/{hash}"));
        doc["registry"] = json!({"model": "raga-detector", "version": "7"});
        edit(&mut doc);
        serde_json::to_vec(&doc).expect("json")
    }

    #[test]
    fn a_published_manifest_is_made_local() {
        let local = site_model(&published(|_| {})).expect("site model");
        let hash = &local.manifest.files[0].sha256;
        assert_eq!(local.files, vec![("model.bpk".to_string(), Some(format!("/v1/blobs/sha256/{hash}")))]);
        assert_eq!(local.version.as_deref(), Some("7"));
        let doc: Value = serde_json::from_slice(&local.json).expect("json");
        assert_eq!(doc["files"][0], json!({"path": "model.bpk", "sha256": hash, "size": 323668}));
        assert_eq!(doc["registry"]["version"], "7", "the version stays for telemetry");
        // The local copy is still a package a loader accepts, and the weights verify against it.
        let again = Manifest::from_json(&local.json).expect("loads");
        let weights = fs::read(format!("{FIXTURE}/model.bpk")).expect("weights");
        again.verify_file("model.bpk", &weights).expect("verifies");
        let err = again.verify_file("model.bpk", &weights[..1000]).expect_err("truncated").to_string();
        assert!(err.contains("corrupt or truncated"), "{err}");
    }

    #[test]
    fn a_numeric_version_and_no_registry_block_are_fine() {
        let local = site_model(&published(|d| d["registry"]["version"] = json!(3))).expect("numeric");
        assert_eq!(local.version.as_deref(), Some("3"));
        let local = site_model(&published(|d| {
            d.as_object_mut().expect("object").remove("registry");
        }))
        .expect("no registry block");
        assert_eq!(local.version, None);
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let check = |bytes: Vec<u8>, part: &str| {
            let err = format!("{:#}", site_model(&bytes).expect_err("refused"));
            assert!(err.contains(part), "{err}");
        };
        check(b"<html>".to_vec(), "not JSON");
        check(published(|d| d["format"] = json!("other/9")), "unsupported package format");
        check(published(|d| d["files"][0]["path"] = json!("weights.bin")), "files does not list the weights");
        for path in ["../../etc/passwd", "/etc/passwd", "a/../../b", ""] {
            let extra = json!({"path": path, "sha256": "00".repeat(32), "size": 1});
            check(
                published(|d| d["files"].as_array_mut().expect("files").push(extra)),
                "not a plain relative path",
            );
        }
    }

    #[test]
    fn the_site_config_points_at_the_local_manifest() {
        let base = json!({"registry": "/", "model": "raga-detector", "ref": "@production", "backend": "cpu", "telemetry": true});
        assert_eq!(
            site_config(Some(base.clone()), &Telemetry::Off),
            json!({"backend": "cpu", "manifestUrl": "model/manifest.json", "telemetry": false})
        );
        assert_eq!(
            site_config(Some(base), &Telemetry::To("https://r.example/v1/telemetry".into(), None)),
            json!({"backend": "cpu", "manifestUrl": "model/manifest.json", "telemetry": {"url": "https://r.example/v1/telemetry"}})
        );
        assert_eq!(
            site_config(
                None,
                &Telemetry::To("https://r.example/v1/telemetry".into(), Some("rsp_1_x".into()))
            )["telemetry"],
            json!({"url": "https://r.example/v1/telemetry", "key": "rsp_1_x"})
        );
        assert_eq!(
            site_config(Some(json!("not an object")), &Telemetry::Off),
            json!({"manifestUrl": "model/manifest.json", "telemetry": false})
        );
    }

    fn web_build(dir: &Path) {
        fs::create_dir_all(dir.join("model")).expect("mkdir");
        fs::create_dir_all(dir.join("icons")).expect("mkdir");
        for (path, text) in [
            ("index.html", "<!doctype html>"),
            ("app.js", "app"),
            ("config.json", "{\"registry\": \"/\"}"),
            ("icons/a.svg", "<svg/>"),
            ("model/stale.bin", "old"),
        ] {
            fs::write(dir.join(path), text).expect("write");
        }
    }

    fn site<'a>(model: &'a SiteModel, files: &'a [(String, Vec<u8>)], config: &'a Value) -> Site<'a> {
        static ABOUT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        Site { model, files, config, about: ABOUT.get_or_init(|| json!({"model": "raga-detector"})) }
    }

    #[test]
    fn the_site_holds_the_app_the_model_and_its_config() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (web, out) = (tmp.path().join("dist"), tmp.path().join("site"));
        web_build(&web);
        check_web_dir(&web).expect("built");
        let local = site_model(&published(|_| {})).expect("site model");
        let files =
            vec![("model.bpk".to_string(), fs::read(format!("{FIXTURE}/model.bpk")).expect("weights"))];
        let config = site_config(None, &Telemetry::Off);
        write_site(&web, &out, &site(&local, &files, &config)).expect("written");

        let read = |p: &str| fs::read_to_string(out.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(read("index.html"), "<!doctype html>");
        assert_eq!(read("icons/a.svg"), "<svg/>");
        assert!(!out.join("model/stale.bin").exists(), "the app's own model/ is not copied");
        let config: Value = serde_json::from_str(&read("config.json")).expect("config");
        assert_eq!(config["manifestUrl"], "model/manifest.json");
        Manifest::from_json(read("model/manifest.json").as_bytes())
            .expect("manifest")
            .verify_file("model.bpk", &fs::read(out.join("model/model.bpk")).expect("weights"))
            .expect("weights verify");
        assert!(out.join(MARKER).is_file());
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        // A second export replaces the first.
        fs::write(web.join("app.js"), "app v2").expect("write");
        write_site(&web, &out, &site(&local, &files, &config)).expect("replaced");
        assert_eq!(read("app.js"), "app v2");
    }

    #[test]
    fn only_an_empty_folder_or_an_earlier_export_is_written_over() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let theirs = tmp.path().join("theirs");
        fs::create_dir_all(&theirs).expect("mkdir");
        check_out(&theirs).expect("empty is fine");
        fs::write(theirs.join("notes.txt"), "mine").expect("write");
        let err = check_out(&theirs).expect_err("refused").to_string();
        assert!(err.contains("not empty and not an earlier `ragasense export`"), "{err}");
        fs::write(theirs.join(MARKER), "{}").expect("write");
        check_out(&theirs).expect("an earlier export");
        let file = tmp.path().join("file");
        fs::write(&file, "x").expect("write");
        assert!(check_out(&file).expect_err("a file").to_string().contains("is not a folder"));
        assert!(check_out(Path::new("/")).is_err());
        assert!(check_out(&tmp.path().join("new")).is_ok());
    }

    #[test]
    fn a_missing_web_build_says_how_to_make_one() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = check_web_dir(&tmp.path().join("dist")).expect_err("missing").to_string();
        assert!(err.contains("run scripts/build-web.sh"), "{err}");
    }

    #[test]
    fn a_failed_write_leaves_no_partial_folder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (web, out) = (tmp.path().join("dist"), tmp.path().join("site"));
        web_build(&web);
        let local = site_model(&published(|_| {})).expect("site model");
        let files = vec![("../escape".to_string(), vec![1, 2, 3])];
        let config = site_config(None, &Telemetry::Off);
        let err = write_site(&web, &out, &site(&local, &files, &config)).expect_err("refused").to_string();
        assert!(err.contains("not a plain relative path"), "{err}");
        assert!(!out.exists());
        assert_eq!(fs::read_dir(tmp.path()).expect("list").count(), 1, "only dist/ remains");
    }
}
