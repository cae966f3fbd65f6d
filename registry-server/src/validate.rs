//! MLflow's validation rules for names, keys and value lengths, with its messages.

use crate::error::{Error, Result};
use crate::extract::missing;

/// Longest metric / param / tag key.
pub const MAX_KEY_LEN: usize = 250;
/// Longest param value.
pub const MAX_PARAM_VALUE_LEN: usize = 6000;
/// Longest run tag value.
pub const MAX_TAG_VALUE_LEN: usize = 8000;

fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
}

/// Checks a metric, param or tag name: allowed characters and no path tricks.
pub fn name(value: Option<&str>, path: &str) -> Result<String> {
    let Some(name) = value.filter(|n| !n.is_empty()) else {
        return Err(missing(path));
    };
    let ok_chars =
        name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':'));
    if !ok_chars {
        return Err(Error::invalid(format!(
            "Invalid value {} for parameter '{path}' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).",
            quoted(name)
        )));
    }
    if !is_normal_path(name) {
        return Err(Error::invalid(format!(
            "Invalid value {} for parameter '{path}' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '{}'",
            quoted(name),
            normalize(name)
        )));
    }
    if name.chars().count() > MAX_KEY_LEN {
        return Err(Error::invalid(format!(
            "'{path}' exceeds the maximum length of {MAX_KEY_LEN} characters"
        )));
    }
    Ok(name.to_string())
}

/// Tag keys follow the same rules as names.
pub fn tag_key<'a>(value: Option<&'a str>, path: &str) -> Result<&'a str> {
    name(value, path)?;
    value.ok_or_else(|| missing(path))
}

/// Fails when `value` is longer than `limit` characters.
pub fn max_len(path: &str, value: &str, limit: usize) -> Result<()> {
    if value.chars().count() > limit {
        return Err(Error::invalid(format!("'{path}' exceeds the maximum length of {limit} characters")));
    }
    Ok(())
}

/// True when `posixpath.normpath(name) == name` and it stays relative and non-trivial.
fn is_normal_path(name: &str) -> bool {
    if name.starts_with('/') || name.ends_with('/') {
        return false;
    }
    name.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

fn normalize(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in name.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if name.starts_with('/') {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// A relative artifact path that cannot escape its root: no `..`, no absolute path, no
/// backslash, no `#`, no NUL. An empty path means the root.
pub fn artifact_path(path: &str) -> Result<String> {
    let bad = || {
        Error::invalid(format!(
            "Invalid path '{path}': artifact paths are relative, use '/' separators, and may not contain '..', '\\', '#' or control characters"
        ))
    };
    if path.contains('\\') || path.contains('#') || path.chars().any(char::is_control) {
        return Err(bad());
    }
    if path.starts_with('/') || (path.len() >= 2 && path.as_bytes()[1] == b':') {
        return Err(bad());
    }
    let mut parts = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(bad()),
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["loss", "train/loss", "a.b-c d:e", "ünï"] {
            assert!(name(Some(ok), "key").is_ok(), "{ok}");
        }
        for bad in ["", "a//b", "/a", "a/", "../a", "a/./b", "a*b", "a\nb"] {
            assert!(name(Some(bad), "key").is_err(), "{bad}");
        }
    }

    #[test]
    fn artifact_paths() {
        assert_eq!(artifact_path("a/b.txt").ok().as_deref(), Some("a/b.txt"));
        assert_eq!(artifact_path("").ok().as_deref(), Some(""));
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\\b", "C:x", "a#b", "a/../b"] {
            assert!(artifact_path(bad).is_err(), "{bad}");
        }
    }
}
