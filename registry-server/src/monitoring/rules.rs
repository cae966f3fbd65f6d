//! Alert rules: what the evaluator checks, read from a TOML file (`--alert-rules`), with the
//! defaults of a fresh server when there is none.
//!
//! ```toml
//! interval_s = 30                          # how often the rules are evaluated
//! webhook = "https://hooks.example/alerts" # POSTed on every firing and resolution
//!
//! [[rules]]
//! name = "low-online-accuracy"
//! metric = "online_accuracy"   # see `Metric`
//! op = "<"                     # "<" or ">"
//! threshold = 0.87
//! window_s = 3600              # the data the metric is computed over
//! min_samples = 20             # fewer samples in the window: no data, the rule stays quiet
//! # model = "raga-detector"    # only this model (default: every model)
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The alerting configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Seconds between two evaluations.
    #[serde(default = "default_interval")]
    pub interval_s: f64,
    /// URL every firing and resolved alert is POSTed to.
    #[serde(default)]
    pub webhook: Option<String>,
    /// The rules.
    #[serde(default = "default_rules")]
    pub rules: Vec<Rule>,
}

/// One rule: `metric op threshold` over the last `window_s` seconds of each model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name, shown in alerts.
    pub name: String,
    /// What is measured.
    pub metric: Metric,
    /// The comparison that fires the alert.
    pub op: Op,
    /// The limit.
    pub threshold: f64,
    /// Window length in seconds.
    #[serde(default = "default_window")]
    pub window_s: f64,
    /// Samples the metric needs in the window (requests, clips with statistics, or
    /// feedback answers, by metric) before the rule is judged.
    #[serde(default = "default_min_samples")]
    pub min_samples: u64,
    /// Only this registered model; every model when absent.
    #[serde(default)]
    pub model: Option<String>,
}

/// What a rule measures, per model version and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Share of predictions with feedback that were right (samples: feedback answers).
    OnlineAccuracy,
    /// Input drift score, the largest PSI of the feature groups (samples: clips with statistics).
    DriftPsi,
    /// Share of requests that failed (samples: requests).
    ErrorRate,
    /// Median end-to-end latency, ms.
    LatencyP50Ms,
    /// 95th percentile end-to-end latency, ms.
    LatencyP95Ms,
    /// 99th percentile end-to-end latency, ms.
    LatencyP99Ms,
    /// Mean confidence of the answers.
    MeanConfidence,
    /// Requests in the window.
    Requests,
}

impl Metric {
    /// The name used in rules and alerts.
    pub fn name(self) -> &'static str {
        match self {
            Self::OnlineAccuracy => "online_accuracy",
            Self::DriftPsi => "drift_psi",
            Self::ErrorRate => "error_rate",
            Self::LatencyP50Ms => "latency_p50_ms",
            Self::LatencyP95Ms => "latency_p95_ms",
            Self::LatencyP99Ms => "latency_p99_ms",
            Self::MeanConfidence => "mean_confidence",
            Self::Requests => "requests",
        }
    }
}

/// The comparison of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Fires while the metric is below the threshold.
    #[serde(rename = "<")]
    Below,
    /// Fires while the metric is above the threshold.
    #[serde(rename = ">")]
    Above,
}

impl Op {
    /// Whether `value` breaches `threshold`.
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Below => value < threshold,
            Self::Above => value > threshold,
        }
    }

    /// `<` or `>`.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Below => "<",
            Self::Above => ">",
        }
    }
}

fn default_interval() -> f64 {
    30.0
}

fn default_window() -> f64 {
    3600.0
}

fn default_min_samples() -> u64 {
    20
}

fn rule(name: &str, metric: Metric, op: Op, threshold: f64, window_s: f64) -> Rule {
    Rule {
        name: name.into(),
        metric,
        op,
        threshold,
        window_s,
        min_samples: default_min_samples(),
        model: None,
    }
}

/// The rules of a server started without `--alert-rules`: online accuracy under the
/// product's 87%, drift PSI over 0.2, more than 5% failed requests, p95 over 3 s.
pub fn default_rules() -> Vec<Rule> {
    vec![
        rule("low-online-accuracy", Metric::OnlineAccuracy, Op::Below, 0.87, 3600.0),
        // Sampling noise alone moves a 20-clip mean by ~0.2 standard deviations; 50 clips
        // keep in-distribution traffic well under 0.2.
        Rule { min_samples: 50, ..rule("input-drift", Metric::DriftPsi, Op::Above, 0.2, 3600.0) },
        rule("error-rate", Metric::ErrorRate, Op::Above, 0.05, 900.0),
        rule("slow-p95", Metric::LatencyP95Ms, Op::Above, 3000.0, 900.0),
    ]
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self { interval_s: default_interval(), webhook: None, rules: default_rules() }
    }
}

impl AlertConfig {
    /// Parses and checks a rules file's text.
    ///
    /// # Errors
    /// A message naming the offending line or rule and what is allowed.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the numbers, names and webhook URL.
    ///
    /// # Errors
    /// What is wrong, naming the rule.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.interval_s.is_finite() && self.interval_s >= 0.05 && self.interval_s <= 86_400.0) {
            return Err(format!(
                "interval_s must be between 0.05 and 86400 seconds (got {})",
                self.interval_s
            ));
        }
        if let Some(url) = &self.webhook
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!("webhook must be an http:// or https:// URL (got '{url}')"));
        }
        let mut names = BTreeSet::new();
        for r in &self.rules {
            if r.name.trim().is_empty() {
                return Err("every rule needs a name".into());
            }
            if !names.insert(r.name.as_str()) {
                return Err(format!("rule name '{}' is used twice: names must be unique", r.name));
            }
            if !r.threshold.is_finite() {
                return Err(format!("rule '{}': threshold must be a finite number", r.name));
            }
            if !(r.window_s.is_finite() && r.window_s >= 1.0 && r.window_s <= 90.0 * 86_400.0) {
                return Err(format!(
                    "rule '{}': window_s must be between 1 second and 90 days (got {})",
                    r.name, r.window_s
                ));
            }
            if r.min_samples == 0 {
                return Err(format!("rule '{}': min_samples must be at least 1", r.name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_file_parses_and_fills_defaults() {
        let config = AlertConfig::from_toml(
            r#"
            interval_s = 5
            webhook = "http://127.0.0.1:9/hook"
            [[rules]]
            name = "drift"
            metric = "drift_psi"
            op = ">"
            threshold = 0.25
            "#,
        )
        .expect("valid");
        assert_eq!(config.interval_s, 5.0);
        assert_eq!(config.rules.len(), 1);
        assert_eq!(config.rules[0].window_s, 3600.0);
        assert_eq!(config.rules[0].min_samples, 20);
        assert!(config.rules[0].op.breached(0.3, 0.25));
        let defaults = AlertConfig::from_toml("").expect("empty file");
        assert_eq!(defaults, AlertConfig::default());
        assert_eq!(defaults.rules.len(), 4);
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let err = |text: &str| AlertConfig::from_toml(text).err().unwrap_or_default();
        assert!(
            err("[[rules]]\nname='x'\nmetric='accuracy'\nop='<'\nthreshold=1").contains("unknown variant")
        );
        assert!(
            err("[[rules]]\nname='x'\nmetric='error_rate'\nop='<='\nthreshold=1").contains("unknown variant")
        );
        assert!(err("interval_s = 0").contains("interval_s must be"));
        assert!(err("webhook = 'ftp://x'").contains("webhook must be"));
        let twice = "[[rules]]\nname='x'\nmetric='requests'\nop='>'\nthreshold=1\n".repeat(2);
        assert!(err(&twice).contains("used twice"));
        assert!(
            err("[[rules]]\nname='x'\nmetric='requests'\nop='>'\nthreshold=1\nwindow_s=0")
                .contains("window_s")
        );
        assert!(err("colour = 'red'").contains("unknown field"));
    }
}
