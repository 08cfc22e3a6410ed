//! Profiling one step of [`fit`](super::fit): which step, and what is done with its profile.

use std::path::PathBuf;

use crate::error::Result;
use crate::profile::Profile;

/// Which training step [`fit`](super::fit) profiles, and where its Chrome trace goes.
///
/// ```
/// use shapeflow_core::fit::{FitConfig, ProfileStep};
/// // The second step (the first takes fresh memory the later ones reuse).
/// let cfg = FitConfig { profile: Some(ProfileStep { step: 2, trace: None }), ..Default::default() };
/// assert_eq!(cfg.profile.unwrap().step, 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileStep {
    /// The step, counted from 1 over the whole run.
    pub step: usize,
    /// Write the step's Chrome trace (`chrome://tracing`, Perfetto) here.
    pub trace: Option<PathBuf>,
}

/// Prints the table of the profiled step (when `print`) and writes its trace (when asked).
pub(crate) fn report_profile(
    prof: &Profile,
    want: &ProfileStep,
    step: usize,
    print: bool,
) -> Result<()> {
    if print {
        println!("\nstep {step}: {prof}");
    }
    if let Some(path) = &want.trace {
        prof.write_chrome_trace(path)?;
        if print {
            println!("Chrome trace of step {step}: {}", path.display());
        }
    }
    Ok(())
}
