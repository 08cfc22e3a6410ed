//! The training history: every logged value per epoch (its plot is in `history_plot.rs`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::profile::Profile;

/// One epoch's logs: `loss`, metrics, `val_*`, `lr`, `time_s`.
pub type EpochLogs = BTreeMap<String, f64>;

/// Every epoch's logs, in order.
///
/// ```
/// use shapeflow_core::fit::History;
/// let mut h = History::default();
/// h.push([("loss".to_string(), 0.5)].into());
/// assert_eq!(h.get("loss"), vec![0.5]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    epochs: Vec<EpochLogs>,
    profile: Option<Profile>,
}

impl History {
    /// Appends an epoch.
    pub fn push(&mut self, logs: EpochLogs) {
        self.epochs.push(logs);
    }
    /// Every epoch's logs.
    pub fn epochs(&self) -> &[EpochLogs] {
        &self.epochs
    }
    /// One metric across epochs (epochs without it are skipped).
    pub fn get(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.get(name).copied()).collect()
    }
    /// The last epoch's value of a metric.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.epochs.last().and_then(|e| e.get(name).copied())
    }
    /// The step [`FitConfig::profile`](super::FitConfig::profile) asked for, profiled.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }
    /// Keeps a step's profile.
    pub(crate) fn set_profile(&mut self, profile: Profile) {
        self.profile = Some(profile);
    }
    /// Number of epochs.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }
    /// Whether no epoch has run.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// As JSON (stored in training checkpoints).
    ///
    /// ```
    /// use shapeflow_core::fit::History;
    /// let mut h = History::default();
    /// h.push([("loss".to_string(), 0.25)].into());
    /// assert_eq!(History::from_json(&h.to_json()).unwrap(), h);
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.epochs).unwrap_or_else(|_| "[]".into())
    }
    /// From [`History::to_json`].
    pub fn from_json(text: &str) -> Result<History> {
        let epochs = serde_json::from_str(text)
            .map_err(|e| Error::Format { path: "history".into(), message: e.to_string() })?;
        Ok(History { epochs, profile: None })
    }
}
