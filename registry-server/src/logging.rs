//! Log output of the server on stderr: human-readable text, or one JSON object per line for
//! log collectors (`--log-format json`). `RAGASENSE_LOG` (an `EnvFilter`) picks what is shown.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// What `RAGASENSE_LOG` is when unset: the server's own lines at `info`, which includes one
/// access line per request (target `registry_server::access`; silence it with
/// `RAGASENSE_LOG=registry_server=info,registry_server::access=warn`).
pub const DEFAULT_FILTER: &str = "registry_server=info,tower_http=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO request{method=GET route=/health}: registry_server::access: status=200 …`
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message`, the event's
    /// fields, and `span` (the request's `method` and `route`).
    Json,
}

/// Installs the global subscriber, unless one is already installed (then nothing changes:
/// tests and `ragasense` may have set their own).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("RAGASENSE_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        }
    };
}
