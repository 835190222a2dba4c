//! Printing results: a JSON object as the last stdout line, or a human summary.

use serde_json::{Map, Value};

/// Metrics collected by a command, by name (printed in the order of their names).
#[derive(Default)]
pub struct Metrics(Map<String, Value>);

impl Metrics {
    /// The metrics every training command reports: `train_seconds` and
    /// `seconds_per_epoch`.
    pub fn training(train_seconds: f64, seconds_per_epoch: f64) -> Self {
        let mut metrics = Self::default();
        metrics
            .number("train_seconds", train_seconds)
            .number("seconds_per_epoch", seconds_per_epoch);
        metrics
    }
    /// Add a number (non-finite numbers become JSON null).
    pub fn number(&mut self, key: &str, value: f64) -> &mut Self {
        let v = serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or(Value::Null);
        self.0.insert(key.to_string(), v);
        self
    }
    /// Add an integer.
    pub fn integer(&mut self, key: &str, value: u64) -> &mut Self {
        self.0.insert(key.to_string(), Value::from(value));
        self
    }
    /// Add a string.
    pub fn text(&mut self, key: &str, value: &str) -> &mut Self {
        self.0.insert(key.to_string(), Value::from(value));
        self
    }
    /// Print as one JSON line (`json`) or as aligned `key: value` lines.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", Value::Object(self.0.clone()));
        } else {
            for (k, v) in &self.0 {
                match v {
                    Value::Number(n) if n.is_f64() => {
                        println!("{k:>20}: {:.6}", n.as_f64().unwrap_or(f64::NAN))
                    }
                    Value::String(s) => println!("{k:>20}: {s}"),
                    other => println!("{k:>20}: {other}"),
                }
            }
        }
    }
}
