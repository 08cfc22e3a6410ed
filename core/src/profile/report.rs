//! A [`Profile`] as a table (per layer, sorted by time) and as a Chrome trace.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::{Phase, Profile};
use crate::error::Result;

/// One layer's totals over the recording: every call of it, per phase.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileRow {
    /// The layer's path (`layer2.0.conv1`), or `loss` / `update`.
    pub path: String,
    /// Its kind as declared.
    pub kind: String,
    /// Time in its forward passes.
    pub forward: Duration,
    /// Time in its backward passes.
    pub backward: Duration,
    /// The loss's or the optimizer's time (rows `loss` and `update`).
    pub other: Duration,
    /// How many spans of it finished (a reused layer: one per use and pass).
    pub calls: usize,
    /// Bytes of the buffers it took ([`super::Record::buffer_bytes`]).
    pub buffer_bytes: u64,
    /// Of those, fresh memory ([`super::Record::new_bytes`]).
    pub new_bytes: u64,
}

impl ProfileRow {
    /// Forward, backward and other time together.
    pub fn total(&self) -> Duration {
        self.forward + self.backward + self.other
    }
}

impl Profile {
    /// One row per layer (the innermost spans: layers, not the models and sequences holding
    /// them), slowest first.
    ///
    /// ```
    /// use shapeflow_core::profile::{self, Phase};
    /// let ((), prof) = profile::record(|| {
    ///     let _block = profile::enter("block", "Block", Phase::Forward);
    ///     drop(profile::enter("conv", "Conv2d<3, 8, 3>", Phase::Forward));
    /// });
    /// let rows = prof.rows();
    /// assert_eq!(rows.len(), 1);
    /// assert_eq!((rows[0].path.as_str(), rows[0].calls), ("block.conv", 1));
    /// ```
    pub fn rows(&self) -> Vec<ProfileRow> {
        let mut rows: Vec<ProfileRow> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for r in self.records.iter().filter(|r| r.leaf) {
            let k = *index.entry(r.path.as_str()).or_insert_with(|| {
                rows.push(ProfileRow {
                    path: r.path.clone(),
                    kind: r.kind.to_string(),
                    ..ProfileRow::default()
                });
                rows.len() - 1
            });
            let row = &mut rows[k];
            match r.phase {
                Phase::Forward => row.forward += r.duration,
                Phase::Backward => row.backward += r.duration,
                Phase::Loss | Phase::Update => row.other += r.duration,
            }
            row.calls += 1;
            row.buffer_bytes += r.buffer_bytes;
            row.new_bytes += r.new_bytes;
        }
        rows.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.path.cmp(&b.path)));
        rows
    }

    /// Time inside no span: the closure's own work (data, metrics), unaccounted.
    pub fn outside_layers(&self) -> Duration {
        let inside: Duration = self
            .records
            .iter()
            .filter(|r| r.depth == 0 && r.thread == self.first_thread())
            .map(|r| r.duration)
            .sum();
        self.total.saturating_sub(inside)
    }

    fn first_thread(&self) -> u64 {
        self.records.iter().filter(|r| r.depth == 0).map(|r| r.thread).min().unwrap_or(0)
    }

    /// The recording as Chrome's trace-event JSON (complete events, one per span, nested by
    /// time), which `chrome://tracing` and <https://ui.perfetto.dev> open.
    ///
    /// ```
    /// use shapeflow_core::profile::{self, Phase};
    /// let ((), prof) = profile::record(|| drop(profile::enter("fc", "Linear<4, 2>", Phase::Forward)));
    /// let trace: serde_json::Value = serde_json::from_str(&prof.chrome_trace()).unwrap();
    /// assert_eq!(trace["traceEvents"][0]["name"], "fc");
    /// assert_eq!(trace["traceEvents"][0]["ph"], "X");
    /// ```
    pub fn chrome_trace(&self) -> String {
        let events: Vec<serde_json::Value> = self
            .records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.path,
                    "cat": r.phase.name(),
                    "ph": "X",
                    "ts": r.start.as_secs_f64() * 1e6,
                    "dur": r.duration.as_secs_f64() * 1e6,
                    "pid": 1,
                    "tid": r.thread,
                    "args": {"kind": r.kind, "buffer_bytes": r.buffer_bytes, "new_bytes": r.new_bytes},
                })
            })
            .collect();
        serde_json::json!({"traceEvents": events, "displayTimeUnit": "ms"}).to_string()
    }

    /// Writes [`Profile::chrome_trace`] to `path` (to a temporary file beside it, then renamed,
    /// so a failed write leaves no half-written trace).
    pub fn write_chrome_trace(&self, path: impl AsRef<Path>) -> Result<()> {
        let text = self.chrome_trace();
        crate::checkpoint::write_file_atomic(path.as_ref(), |f| {
            std::io::Write::write_all(f, text.as_bytes())
        })
    }
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v >= 100.0 { format!("{v:.0} ms") } else { format!("{v:.2} ms") }
}

fn bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b} B")
    }
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let head: String = s.chars().take(width - 1).collect();
        format!("{head}…")
    }
}

/// The table: a header line with the totals, then one row per layer, slowest first.
impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = self.rows();
        let (fwd, bwd, other): (Duration, Duration, Duration) = rows
            .iter()
            .fold(Default::default(), |(a, b, c), r| (a + r.forward, b + r.backward, c + r.other));
        writeln!(
            f,
            "Profile: {} in all; layers forward {}, backward {}; loss and update {}; outside them {}",
            ms(self.total),
            ms(fwd),
            ms(bwd),
            ms(other),
            ms(self.outside_layers())
        )?;
        let path_w = rows.iter().map(|r| r.path.chars().count()).max().unwrap_or(5).clamp(5, 28);
        let kind_w = rows.iter().map(|r| r.kind.chars().count()).max().unwrap_or(4).clamp(4, 40);
        writeln!(
            f,
            "{:<path_w$}  {:<kind_w$}  {:>10}  {:>10}  {:>10}  {:>6}  {:>9}  {:>9}",
            "Layer", "Kind", "Forward", "Backward", "Total", "%", "Buffers", "New"
        )?;
        let total = self.total.as_secs_f64().max(1e-12);
        for r in &rows {
            writeln!(
                f,
                "{:<path_w$}  {:<kind_w$}  {:>10}  {:>10}  {:>10}  {:>5.1}%  {:>9}  {:>9}",
                clip(&r.path, path_w),
                clip(&r.kind, kind_w),
                if r.forward.is_zero() { "-".to_string() } else { ms(r.forward) },
                if r.backward.is_zero() { "-".to_string() } else { ms(r.backward) },
                ms(r.total()),
                100.0 * r.total().as_secs_f64() / total,
                bytes(r.buffer_bytes),
                bytes(r.new_bytes),
            )?;
        }
        Ok(())
    }
}
