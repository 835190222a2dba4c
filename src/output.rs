//! Printing results: a JSON object as the last stdout line, or a human summary.

use serde_json::{Map, Value};
use std::io::Write;

/// Write `args` to stdout: the one place the CLI writes its results. A closed stdout (a
/// broken pipe, e.g. `ebm ... | head -1`) ends the process quietly with the shell's
/// status for SIGPIPE (141); another write error ends it with a one-line error (exit 1).
pub fn write_stdout(args: std::fmt::Arguments) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// `print!` through [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` through [`write_stdout`].
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

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
        self.0.insert(key.to_string(), json_number(value));
        self
    }
    /// Add a list of numbers (non-finite ones become JSON null).
    pub fn numbers(&mut self, key: &str, values: &[f64]) -> &mut Self {
        let list = values.iter().map(|&v| json_number(v)).collect();
        self.0.insert(key.to_string(), Value::Array(list));
        self
    }
    /// Add an integer.
    pub fn integer(&mut self, key: &str, value: u64) -> &mut Self {
        self.0.insert(key.to_string(), Value::from(value));
        self
    }
    /// Add a boolean.
    pub fn flag(&mut self, key: &str, value: bool) -> &mut Self {
        self.0.insert(key.to_string(), Value::from(value));
        self
    }
    /// Add a string.
    pub fn text(&mut self, key: &str, value: &str) -> &mut Self {
        self.0.insert(key.to_string(), Value::from(value));
        self
    }
    /// Add every metric of `other` (replacing those of the same name).
    pub fn extend(&mut self, other: Metrics) -> &mut Self {
        self.0.extend(other.0);
        self
    }
    /// The metrics as one JSON object on one line.
    pub fn json_line(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
    /// Print as one JSON line (`json`) or as aligned `key: value` lines.
    pub fn print(&self, json: bool) {
        if json {
            outln!("{}", self.json_line());
        } else {
            for (k, v) in &self.0 {
                match v {
                    Value::Number(n) if n.is_f64() => {
                        outln!("{k:>20}: {:.6}", n.as_f64().unwrap_or(f64::NAN))
                    }
                    Value::String(s) => outln!("{k:>20}: {s}"),
                    other => outln!("{k:>20}: {other}"),
                }
            }
        }
    }
}

/// `value` as a JSON number, or null when it is not finite (JSON has no NaN or infinity).
fn json_number(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
