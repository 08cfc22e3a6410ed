//! Request counts, latency and batch-size histograms, written in Prometheus' text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BOUNDS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Upper bounds of the batch-size buckets.
const BATCH_BOUNDS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A cumulative histogram over fixed bounds.
#[derive(Clone, Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self { bounds, counts: vec![0; bounds.len()], sum: 0.0, count: 0 }
    }

    fn observe(&mut self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| v <= b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// What the server counts.
struct Counts {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
    batch: Histogram,
}

/// The server's metrics: requests by endpoint and status, latency by endpoint, and the size of
/// every forward pass. [`Metrics::render`] writes them for `GET /metrics`.
///
/// ```
/// use std::time::Duration;
/// let m = shapeflow_serve::Metrics::new("mnist");
/// m.record_request("predict", 200, Duration::from_millis(3));
/// m.record_batch(8);
/// let text = m.render();
/// assert!(text.contains("shapeflow_requests_total{model=\"mnist\",endpoint=\"predict\",code=\"200\"} 1"));
/// assert!(text.contains("shapeflow_batch_size_bucket{model=\"mnist\",le=\"8\"} 1"));
/// ```
pub struct Metrics {
    model: String,
    counts: Mutex<Counts>,
}

impl Metrics {
    /// Empty metrics for the model named `model`.
    pub fn new(model: &str) -> Self {
        let counts = Counts {
            requests: BTreeMap::new(),
            latency: BTreeMap::new(),
            batch: Histogram::new(&BATCH_BOUNDS),
        };
        Self { model: model.to_string(), counts: Mutex::new(counts) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Counts) -> R) -> R {
        let mut guard = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Counts one answered request to `endpoint` with HTTP status `code`, which took `latency`.
    pub fn record_request(&self, endpoint: &'static str, code: u16, latency: Duration) {
        self.with(|c| {
            *c.requests.entry((endpoint, code)).or_default() += 1;
            c.latency
                .entry(endpoint)
                .or_insert_with(|| Histogram::new(&LATENCY_BOUNDS))
                .observe(latency.as_secs_f64());
        });
    }

    /// Counts one forward pass over `size` samples.
    pub fn record_batch(&self, size: usize) {
        self.with(|c| c.batch.observe(size as f64));
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let model = &self.model;
        let mut out = String::new();
        self.with(|c| {
            out.push_str("# HELP shapeflow_requests_total Requests answered, by endpoint and HTTP status.\n");
            out.push_str("# TYPE shapeflow_requests_total counter\n");
            for ((endpoint, code), n) in &c.requests {
                let _ = writeln!(
                    out,
                    "shapeflow_requests_total{{model=\"{model}\",endpoint=\"{endpoint}\",code=\"{code}\"}} {n}"
                );
            }
            out.push_str("# HELP shapeflow_request_latency_seconds Time from request to answer, by endpoint.\n");
            out.push_str("# TYPE shapeflow_request_latency_seconds histogram\n");
            for (endpoint, h) in &c.latency {
                let labels = format!("model=\"{model}\",endpoint=\"{endpoint}\"");
                h.write(&mut out, "shapeflow_request_latency_seconds", &labels);
            }
            out.push_str("# HELP shapeflow_batch_size Samples per forward pass.\n");
            out.push_str("# TYPE shapeflow_batch_size histogram\n");
            c.batch.write(&mut out, "shapeflow_batch_size", &format!("model=\"{model}\""));
        });
        out
    }
}
