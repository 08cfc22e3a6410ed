//! `History::plot`: loss and accuracy panels with plotters' SVG backend.

use std::path::Path;

#[cfg(not(target_arch = "wasm32"))]
use plotters::prelude::*;

use super::history::History;
use crate::error::{Error, Result};

impl History {
    /// Draws loss and accuracy per epoch, training and validation, as an SVG file (written
    /// atomically).
    ///
    /// ```
    /// use shapeflow_core::fit::History;
    /// let mut h = History::default();
    /// h.push([("loss".to_string(), 0.9), ("val_loss".to_string(), 1.0)].into());
    /// h.push([("loss".to_string(), 0.5), ("val_loss".to_string(), 0.7)].into());
    /// let path = std::env::temp_dir().join("shapeflow-doc-history.svg");
    /// h.plot(&path).unwrap();
    /// assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
    /// ```
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        plot(self, path.as_ref())
    }
}

/// On WebAssembly, where plotters needs a JavaScript host: an error saying so.
#[cfg(target_arch = "wasm32")]
fn plot(_: &History, path: &Path) -> Result<()> {
    Err(Error::Unsupported(format!(
        "History::plot ({}): plots are not drawn on wasm32",
        path.display()
    )))
}

#[cfg(not(target_arch = "wasm32"))]
fn plot(history: &History, path: &Path) -> Result<()> {
    let mut svg = String::new();
    draw(history, &mut svg)
        .map_err(|message| Error::Format { path: path.display().to_string(), message })?;
    let tmp = path.with_extension("svg.tmp");
    let io = |source| Error::Io { path: path.display().to_string(), source };
    std::fs::write(&tmp, svg).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(not(target_arch = "wasm32"))]
fn draw(history: &History, out: &mut String) -> std::result::Result<(), String> {
    let root = SVGBackend::with_string(out, (1000, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, 2));
    for (area, metric) in panels.iter().zip(["loss", "accuracy"]) {
        let series: Vec<(String, Vec<f64>, RGBColor)> = [
            (format!("train {metric}"), history.get(metric), RGBColor(31, 119, 180)),
            (
                format!("validation {metric}"),
                history.get(&format!("val_{metric}")),
                RGBColor(255, 127, 14),
            ),
        ]
        .into_iter()
        .filter(|(_, v, _)| !v.is_empty())
        .collect();
        if series.is_empty() {
            continue;
        }
        let all = series.iter().flat_map(|(_, v, _)| v.iter().copied()).filter(|v| v.is_finite());
        let (lo, hi) =
            all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let pad = ((hi - lo) * 0.05).max(1e-6);
        let epochs = history.len().max(2) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(metric, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(1.0..epochs, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels(history.len().clamp(2, 20))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, values, color) in series {
            let points: Vec<(f64, f64)> =
                values.iter().enumerate().map(|(i, &v)| (i as f64 + 1.0, v)).collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
