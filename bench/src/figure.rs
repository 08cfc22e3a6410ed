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
    /// With `--rounds`: shapeflow's ratio to this figure within each round (above 1: shapeflow
    /// better), so that a slow spell of a noisy machine weighs on both sides of a ratio.
    pub paired: Vec<f64>,
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
            paired: Vec::new(),
        }
    }

    /// Whether a smaller value is better (latencies, memory).
    pub fn lower_is_better(&self) -> bool {
        matches!(self.unit.as_str(), "us" | "ms" | "MiB")
    }

    /// One JSON object.
    pub fn json(&self) -> String {
        serde_json::json!({"impl": self.implementation, "workload": self.workload, "param": self.param,
            "unit": self.unit, "median": self.median, "min": self.min, "max": self.max,
            "paired_ratios": self.paired})
        .to_string()
    }

    /// Shapeflow's ratio to `other` (above 1: shapeflow better), `self` being shapeflow's figure.
    fn ratio_to(&self, other: &Figure) -> f64 {
        if self.lower_is_better() { other.median / self.median } else { self.median / other.median }
    }

    fn same_measure(&self, other: &Figure) -> bool {
        self.workload == other.workload && self.param == other.param && self.unit == other.unit
    }
}

/// Several rounds of the same figures as one: the median of the rounds' medians, the rounds'
/// extremes, and every figure's ratios to shapeflow's in the same round ([`Figure::paired`]).
/// One round is returned as it is.
pub fn combine(mut rounds: Vec<Vec<Figure>>) -> Vec<Figure> {
    if rounds.len() < 2 {
        return rounds.pop().unwrap_or_default();
    }
    let first = &rounds[0];
    let same = |a: &Figure, b: &Figure| a.implementation == b.implementation && a.same_measure(b);
    first
        .iter()
        .map(|f| {
            let mine: Vec<&Figure> =
                rounds.iter().filter_map(|r| r.iter().find(|g| same(g, f))).collect();
            let mut combined = Figure::new(
                &f.implementation,
                &f.workload,
                &f.param,
                &f.unit,
                mine.iter().map(|g| g.median),
            );
            combined.min = mine.iter().map(|g| g.min).fold(f64::INFINITY, f64::min);
            combined.max = mine.iter().map(|g| g.max).fold(f64::NEG_INFINITY, f64::max);
            combined.paired = rounds
                .iter()
                .filter_map(|r| {
                    let theirs = r.iter().find(|g| same(g, f))?;
                    let ours =
                        r.iter().find(|g| g.implementation == "shapeflow" && g.same_measure(f))?;
                    Some(ours.ratio_to(theirs))
                })
                .collect();
            combined
        })
        .collect()
}

/// The process's peak resident set (VmHWM), in MiB, where /proc has it.
/// Starts a new peak: the kernel's high-water mark is reset to the current resident size
/// (Linux; elsewhere nothing happens and [`peak_rss_mib`] keeps the process's peak).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The table for people: every figure, and shapeflow's ratio to it (above 1: shapeflow better);
/// where a workload also ran as a replayed CUDA graph (`shapeflow-graph`), its ratio too.
/// Shapeflow's ratio to `peer` (above 1: shapeflow better): the paired per-round ratios'
/// median and range where there were rounds, else the medians' ratio; `-` without a shapeflow
/// figure for the same measure.
fn ratio_to_peer(figures: &[Figure], peer: &Figure) -> String {
    let Some(ours) =
        figures.iter().find(|g| g.implementation == "shapeflow" && g.same_measure(peer))
    else {
        return "-".to_string();
    };
    if peer.implementation != "shapeflow" && peer.paired.len() > 1 {
        let mut p = peer.paired.clone();
        p.sort_by(f64::total_cmp);
        return format!("{:.2}x ({:.2}–{:.2})", p[p.len() / 2], p[0], p[p.len() - 1]);
    }
    format!("{:.2}x", ours.ratio_to(peer))
}

/// The CPU as `/proc/cpuinfo` gives it: its model name, family and model numbers, and whether
/// it has AVX-512 (a cloud CPU's name alone may not tell its generation).
fn cpu_name() -> String {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return "an unknown CPU".to_string();
    };
    let field = |key: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
            .and_then(|l| l.split(':').nth(1))
            .map_or("?".to_string(), |v| v.trim().to_string())
    };
    let avx512 = if field("flags").split(' ').any(|f| f == "avx512f") { ", AVX-512" } else { "" };
    format!(
        "{} (family {}, model {}{avx512})",
        field("model name"),
        field("cpu family"),
        field("model")
    )
}

/// The figures as a Markdown table for the README: one row per shapeflow measure with each
/// peer's figure and shapeflow's ratio to it, under a line naming the machine.
pub fn print_markdown(figures: &[Figure]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "`shapeflow-bench {}` on {} ({threads} threads), medians; ratios above 1 mean shapeflow is ahead.\n",
        std::env::args().skip(1).filter(|a| a != "--markdown").collect::<Vec<_>>().join(" "),
        cpu_name()
    );
    let version = |name: &str| {
        figures
            .iter()
            .find(|g| g.implementation.starts_with(name))
            .map_or(String::new(), |g| format!(" ({})", g.implementation))
    };
    println!(
        "| workload | measure | shapeflow | PyTorch{} | vs PyTorch | JAX{} | vs JAX |",
        version("pytorch"),
        version("jax")
    );
    println!("|---|---|---|---|---|---|---|");
    for f in figures.iter().filter(|f| f.implementation == "shapeflow") {
        let peer = |name: &str| {
            figures
                .iter()
                .find(|g| g.implementation.starts_with(name) && g.same_measure(f))
                .map_or(("-".to_string(), "-".to_string()), |g| {
                    (format!("{:.1}", g.median), ratio_to_peer(figures, g))
                })
        };
        let ((torch, vs_torch), (jax, vs_jax)) = (peer("pytorch"), peer("jax"));
        println!(
            "| {} | {} {} | {:.1} | {torch} | {vs_torch} | {jax} | {vs_jax} |",
            f.workload, f.param, f.unit, f.median
        );
    }
}

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
            if implementation == "shapeflow" {
                return ratio_to_peer(figures, f);
            }
            figures
                .iter()
                .find(|g| g.implementation == implementation && g.same_measure(f))
                .map_or("-".to_string(), |o| format!("{:.2}x", o.ratio_to(f)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn round(ours: f64, theirs: f64) -> Vec<Figure> {
        vec![
            Figure::new("shapeflow", "w7", "b64", "samples/s", [ours]),
            Figure::new("pytorch", "w7", "b64", "samples/s", [theirs]),
            Figure::new("shapeflow", "w4", "b1", "us", [ours]),
            Figure::new("pytorch", "w4", "b1", "us", [theirs]),
        ]
    }

    #[test]
    fn rounds_pair_each_ratio_with_its_own_round() {
        // A slow spell halves both sides in round two: the paired ratios stay 2, the ratio of
        // the medians would not.
        let figures = combine(vec![round(200.0, 100.0), round(100.0, 50.0), round(220.0, 110.0)]);
        let peer = &figures[1];
        assert_eq!((peer.median, peer.min, peer.max), (100.0, 50.0, 110.0));
        assert_eq!(peer.paired, vec![2.0, 2.0, 2.0]);
        // Lower is better for latencies: shapeflow's 200 µs against 100 µs is 0.5.
        assert_eq!(figures[3].paired, vec![0.5, 0.5, 0.5]);
        assert_eq!(figures[0].paired, vec![1.0, 1.0, 1.0]);
    }

    #[test]
    fn one_round_is_returned_as_it_is() {
        let figures = combine(vec![round(200.0, 100.0)]);
        assert!(figures.iter().all(|f| f.paired.is_empty()));
        assert_eq!(figures[1].median, 100.0);
    }
}
