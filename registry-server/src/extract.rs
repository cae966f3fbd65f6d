//! Request parsing the way MLflow's server does it: query string for GET, JSON body
//! otherwise, lenient scalar types, and errors in MLflow's format that name the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::Error;

/// Tail MLflow appends to every parameter error.
pub const API_DOCS_HINT: &str = "See the API docs for more information about request parameters.";

/// A request message: query parameters merged with the JSON body, deserialized into `T`.
///
/// Repeated query keys become arrays, a double-encoded JSON string body is decoded once
/// more (old clients do that), an empty body is `{}`. Any failure is an
/// `INVALID_PARAMETER_VALUE` naming the offending field.
#[derive(Debug)]
pub struct Msg<T>(pub T);

impl<S, T> FromRequest<S> for Msg<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut object = query_object(req.uri().query());
        let bytes = read_body(req, state, "request body is larger than the server accepts").await?;
        merge_body(&mut object, &bytes)?;
        parse_value(Value::Object(object)).map(Msg)
    }
}

/// axum's `Path` with its rejection (a segment that is not valid UTF-8 after
/// percent-decoding, say) in the server's JSON error shape instead of plain text.
#[derive(Debug)]
pub struct UrlPath<T>(pub T);

impl<S, T> FromRequestParts<S> for UrlPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status().is_server_error() => {
                Err(Error::internal(rejection.body_text()))
            }
            Err(rejection) => Err(Error::invalid(format!("Invalid URL path: {}", rejection.body_text()))),
        }
    }
}

/// Reads the whole request body; past the route's body limit the error is
/// [`Error::PayloadTooLarge`] with `too_large` as its message.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S, too_large: &str) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge(too_large.to_string())
        } else {
            Error::invalid(format!("could not read the request body: {rejection}"))
        }
    })
}

/// Parses a JSON object into `T`, reporting the failing field like MLflow does.
pub fn parse_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        if path == "." {
            Error::invalid(format!("Invalid request: {inner}. {API_DOCS_HINT}"))
        } else {
            Error::invalid(format!("Invalid value for parameter '{path}' supplied: {inner}. {API_DOCS_HINT}"))
        }
    })
}

/// Query string → JSON object (repeated keys become arrays of strings).
pub fn query_object(query: Option<&str>) -> Map<String, Value> {
    let mut object = Map::new();
    let Some(query) = query else { return object };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = Value::String(value.into_owned());
        match object.get_mut(key.as_ref()) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                object.insert(key.into_owned(), value);
            }
        }
    }
    object
}

/// Merges a JSON request body (if any) over the query parameters.
fn merge_body(object: &mut Map<String, Value>, bytes: &[u8]) -> Result<(), Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let mut value: Value = serde_json::from_slice(bytes).map_err(|err| {
        Error::invalid(format!(
            "Malformed JSON in request body: {err}. Send a JSON object such as {{\"name\": \"my-experiment\"}}."
        ))
    })?;
    if let Value::String(inner) = &value {
        value = serde_json::from_str(inner)
            .map_err(|err| Error::invalid(format!("Malformed double-encoded JSON in request body: {err}")))?;
    }
    match value {
        Value::Object(body) => {
            object.extend(body);
            Ok(())
        }
        Value::Null => Ok(()),
        other => {
            Err(Error::invalid(format!("The request body must be a JSON object, got {}.", kind_of(&other))))
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Fails with MLflow's message when a required field is absent or empty.
pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, Error> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(missing(name)),
    }
}

/// MLflow's "missing value" error.
pub fn missing(name: &str) -> Error {
    Error::invalid(format!("Missing value for required parameter '{name}'. {API_DOCS_HINT}"))
}

// ---- lenient scalar deserializers (proto JSON accepts these spellings) ----

/// An optional int64 given as a JSON number or a decimal string.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Some(f as i64)),
                _ => Err(de::Error::custom(format!("expected an integer, got {n}"))),
            },
        },
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected an integer, got \"{s}\""))),
        Some(other) => Err(de::Error::custom(format!("expected an integer, got {}", kind_of(&other)))),
    }
}

/// An optional double given as a number, a numeric string, or "NaN" / "Infinity" / "-Infinity".
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| de::Error::custom("expected a double")),
        Some(Value::String(s)) => parse_f64(&s)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a double, got \"{s}\""))),
        Some(other) => Err(de::Error::custom(format!(
            "expected a double (64-bit floating point), got {}",
            kind_of(&other)
        ))),
    }
}

/// Parses proto-JSON spellings of a double.
pub fn parse_f64(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse::<f64>().ok(),
    }
}

/// An optional bool given as true/false or "true"/"false" (any case).
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(de::Error::custom(format!("Invalid boolean value: {s}, must be 'true' or 'false'"))),
        },
        Some(other) => Err(de::Error::custom(format!("expected a boolean, got {}", kind_of(&other)))),
    }
}

/// An optional string; numbers are refused with a clear message (as MLflow does).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => {
            Err(de::Error::custom(format!("expected a string, got {} ({other})", kind_of(&other))))
        }
    }
}

/// A list of strings; a single string (one query parameter) counts as a list of one.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                other => {
                    Err(de::Error::custom(format!("item {i} must be a string, got {}", kind_of(&other))))
                }
            })
            .collect(),
        Some(other) => Err(de::Error::custom(format!("expected a list of strings, got {}", kind_of(&other)))),
    }
}

/// A key/value pair as MLflow sends tags and params.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct KeyValue {
    /// The key.
    #[serde(default, deserialize_with = "opt_string")]
    pub key: Option<String>,
    /// The value.
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
}

/// Serializes a double the way protobuf JSON does: NaN and infinities as strings.
pub fn ser_f64<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        s.serialize_str("NaN")
    } else if value.is_infinite() && *value > 0.0 {
        s.serialize_str("Infinity")
    } else if value.is_infinite() {
        s.serialize_str("-Infinity")
    } else {
        s.serialize_f64(*value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "opt_f64")]
        x: Option<f64>,
        #[serde(default, deserialize_with = "string_list")]
        ids: Vec<String>,
    }

    fn check(input: Value, expected: Result<(Option<i64>, Vec<String>), &str>) {
        let got: Result<Probe, Error> = parse_value(input);
        match (got, expected) {
            (Ok(p), Ok((n, ids))) => {
                assert_eq!(p.n, n);
                assert_eq!(p.ids, ids);
            }
            (Err(e), Err(fragment)) => {
                assert!(e.to_string().contains(fragment), "{e}");
            }
            (got, expected) => panic!("got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn lenient_scalars() {
        check(serde_json::json!({"n": "12"}), Ok((Some(12), vec![])));
        check(serde_json::json!({"n": 12, "ids": "0"}), Ok((Some(12), vec!["0".into()])));
        check(serde_json::json!({"ids": ["1", "2"]}), Ok((None, vec!["1".into(), "2".into()])));
        check(serde_json::json!({"n": "x"}), Err("parameter 'n'"));
        check(serde_json::json!({"x": "abc"}), Err("parameter 'x'"));
        let p: Probe = parse_value(serde_json::json!({"x": "NaN"})).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.x.is_some_and(f64::is_nan));
    }

    #[test]
    fn query_repeats_become_arrays() {
        let o = query_object(Some("a=1&b=2&a=3"));
        assert_eq!(o["a"], serde_json::json!(["1", "3"]));
        assert_eq!(o["b"], serde_json::json!("2"));
    }
}
