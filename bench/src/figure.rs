//! One measured figure, its JSON line, and the table with ratios against peers.

/// Median, min and max of repeated measurements of one workload.
pub struct Figure {
    pub implementation: String,
    pub workload: String,
    pub param: String,
    pub unit: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Figure {
    /// From raw samples (sorted here).
    pub fn new(
        implementation: &str,
        workload: &str,
        param: &str,
        unit: &str,
        samples: impl IntoIterator<Item = f64>,
    ) -> Figure {
        let mut v: Vec<f64> = samples.into_iter().collect();
        v.sort_by(f64::total_cmp);
        let (median, min, max) = match v.len() {
            0 => (f64::NAN, f64::NAN, f64::NAN),
            n => (v[n / 2], v[0], v[n - 1]),
        };
        Figure {
            implementation: implementation.into(),
            workload: workload.into(),
            param: param.into(),
            unit: unit.into(),
            median,
            min,
            max,
        }
    }

    /// Whether a smaller value is better (latencies, memory).
    pub fn lower_is_better(&self) -> bool {
        matches!(self.unit.as_str(), "us" | "ms" | "MiB")
    }

    /// One JSON object.
    pub fn json(&self) -> String {
        serde_json::json!({"impl": self.implementation, "workload": self.workload, "param": self.param,
            "unit": self.unit, "median": self.median, "min": self.min, "max": self.max})
        .to_string()
    }
}

/// The process's peak resident set (VmHWM), in MiB, where /proc has it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The table for people: every figure, and shapeflow's ratio to it (above 1: shapeflow better);
/// where a workload also ran as a replayed CUDA graph (`shapeflow-graph`), its ratio too.
pub fn print_table(figures: &[Figure]) {
    println!("threads: {}", std::thread::available_parallelism().map_or(1, |n| n.get()));
    let graphs = figures.iter().any(|f| f.implementation == "shapeflow-graph");
    println!(
        "{:<16} {:<10} {:<7} {:>12} {:>12} {:>12} {:<10} {:>10}{}",
        "impl",
        "workload",
        "param",
        "median",
        "min",
        "max",
        "unit",
        "sf/impl",
        if graphs { "  sf-graph/impl" } else { "" }
    );
    for f in figures {
        let ratio = |implementation: &str| {
            figures
                .iter()
                .find(|g| {
                    g.implementation == implementation
                        && g.workload == f.workload
                        && g.param == f.param
                })
                .map_or("-".to_string(), |o| {
                    let r =
                        if f.lower_is_better() { f.median / o.median } else { o.median / f.median };
                    format!("{r:.2}x")
                })
        };
        let graph =
            if graphs { format!(" {:>14}", ratio("shapeflow-graph")) } else { String::new() };
        println!(
            "{:<16} {:<10} {:<7} {:>12.1} {:>12.1} {:>12.1} {:<10} {:>10}{graph}",
            f.implementation,
            f.workload,
            f.param,
            f.median,
            f.min,
            f.max,
            f.unit,
            ratio("shapeflow")
        );
    }
}
