//! Which binary the kernels load as on a device: CUBIN, machine code for the device's exact
//! architecture, when NVRTC knows it (it then loads on any driver that knows the GPU); else
//! PTX for the newest architecture NVRTC knows below it, compiled by the driver when loaded.
//! A driver reads only PTX from a toolkit no newer than itself (NVRTC 13.2 writes PTX 9.2,
//! a 13.0 driver reads up to 9.0), so that path checks the two versions first and names both.

/// How the kernels are built for one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Machine code for `sm_<n>` (90 is sm_90).
    Cubin(i32),
    /// PTX for `compute_<n>`, compiled by the driver when it is loaded.
    Ptx(i32),
}

impl Target {
    /// NVRTC's `--gpu-architecture` value.
    ///
    /// ```
    /// use shapeflow_cuda::arch::Target;
    /// assert_eq!(Target::Cubin(90).nvrtc_arch(), "sm_90");
    /// assert_eq!(Target::Ptx(89).nvrtc_arch(), "compute_89");
    /// ```
    pub fn nvrtc_arch(self) -> String {
        match self {
            Target::Cubin(n) => format!("sm_{n}"),
            Target::Ptx(n) => format!("compute_{n}"),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Cubin(n) => write!(f, "CUBIN for sm_{n}"),
            Target::Ptx(n) => write!(f, "PTX for compute_{n}, compiled by the driver"),
        }
    }
}

/// The NVRTC and driver versions, as (major, minor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    /// `nvrtcVersion`.
    pub nvrtc: (i32, i32),
    /// `cuDriverGetVersion` (13000 is 13.0).
    pub driver: (i32, i32),
}

impl Versions {
    /// From the driver's single number (`1000 × major + 10 × minor`).
    ///
    /// ```
    /// let v = shapeflow_cuda::arch::Versions::new((13, 2), 13000);
    /// assert_eq!(v.driver, (13, 0));
    /// ```
    pub fn new(nvrtc: (i32, i32), driver: i32) -> Versions {
        Versions { nvrtc, driver: (driver / 1000, (driver % 1000) / 10) }
    }
}

/// The oldest compute capability the kernels support (their atomics and shuffles).
const OLDEST: i32 = 80;

/// The binary for a device of compute capability `cc`, given the architectures this NVRTC
/// supports (`nvrtcGetSupportedArchs`, e.g. `[75, 80, 86, 89, 90, 100, 120]`).
///
/// ```
/// use shapeflow_cuda::arch::{Target, Versions, choose};
/// let v = Versions::new((13, 0), 13000);
/// assert_eq!(choose((9, 0), &[80, 86, 89, 90], v), Ok(Target::Cubin(90)));
/// // A GPU newer than this NVRTC: PTX for the newest architecture it knows.
/// assert_eq!(choose((10, 0), &[80, 86, 89, 90], v), Ok(Target::Ptx(90)));
/// ```
pub fn choose(cc: (i32, i32), nvrtc_archs: &[i32], v: Versions) -> Result<Target, String> {
    let n = capability(cc)?;
    if nvrtc_archs.contains(&n) {
        return Ok(Target::Cubin(n));
    }
    ptx_for(cc, nvrtc_archs, v)
}

/// The PTX to load when the CUBIN for `cc` could not be built or loaded: for the newest
/// architecture NVRTC knows up to the device's, if the driver can read this NVRTC's PTX.
///
/// ```
/// use shapeflow_cuda::arch::{Target, Versions, ptx_for};
/// assert_eq!(ptx_for((9, 0), &[80, 90], Versions::new((13, 0), 13000)), Ok(Target::Ptx(90)));
/// let err = ptx_for((9, 0), &[80, 90], Versions::new((13, 2), 13000)).unwrap_err();
/// assert!(err.contains("NVRTC 13.2") && err.contains("driver 13.0"), "{err}");
/// ```
pub fn ptx_for(cc: (i32, i32), nvrtc_archs: &[i32], v: Versions) -> Result<Target, String> {
    let n = capability(cc)?;
    let Some(best) = nvrtc_archs.iter().copied().filter(|&a| (OLDEST..=n).contains(&a)).max()
    else {
        return Err(format!(
            "NVRTC {}.{} builds for architectures {nvrtc_archs:?}, none of them from {OLDEST} \
             up to this GPU's {n} (compute capability {}.{})",
            v.nvrtc.0, v.nvrtc.1, cc.0, cc.1
        ));
    };
    if v.nvrtc > v.driver {
        return Err(format!(
            "NVRTC {}.{} writes PTX that the CUDA driver {}.{} cannot read (a driver reads PTX \
             from toolkits up to its own version), and no CUBIN for sm_{n} could be used: \
             put an NVRTC of {}.{} or older first on LD_LIBRARY_PATH, or update the driver",
            v.nvrtc.0, v.nvrtc.1, v.driver.0, v.driver.1, v.driver.0, v.driver.1
        ));
    }
    Ok(Target::Ptx(best))
}

/// `major·10 + minor`, or `Err` for devices older than the kernels support.
fn capability((major, minor): (i32, i32)) -> Result<i32, String> {
    let n = major * 10 + minor;
    if n < OLDEST {
        return Err(format!(
            "GPU of compute capability {major}.{minor}: shapeflow's CUDA kernels need 8.0 or newer"
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCHS: [i32; 7] = [75, 80, 86, 87, 89, 90, 100];

    #[test]
    fn known_architectures_get_their_own_cubin() {
        let v = Versions::new((13, 0), 13000);
        for (cc, n) in [((8, 0), 80), ((8, 6), 86), ((8, 9), 89), ((9, 0), 90), ((10, 0), 100)] {
            assert_eq!(choose(cc, &ARCHS, v), Ok(Target::Cubin(n)));
        }
    }

    #[test]
    fn unknown_architectures_fall_back_to_the_newest_ptx_below_them() {
        let v = Versions::new((13, 0), 13000);
        assert_eq!(choose((8, 8), &ARCHS, v), Ok(Target::Ptx(87)));
        assert_eq!(choose((12, 0), &ARCHS, v), Ok(Target::Ptx(100)));
        // An older driver reads an older NVRTC's PTX.
        assert_eq!(choose((12, 0), &ARCHS, Versions::new((12, 8), 13000)), Ok(Target::Ptx(100)));
    }

    #[test]
    fn ptx_newer_than_the_driver_is_a_clear_error() {
        let err = choose((12, 0), &ARCHS, Versions::new((13, 2), 13000)).unwrap_err();
        assert!(err.contains("NVRTC 13.2") && err.contains("driver 13.0"), "{err}");
        assert!(err.contains("13.0 or older"), "{err}");
    }

    #[test]
    fn old_devices_and_empty_lists_are_clear_errors() {
        let v = Versions::new((13, 0), 13000);
        let err = choose((7, 5), &ARCHS, v).unwrap_err();
        assert!(err.contains("7.5") && err.contains("8.0"), "{err}");
        let err = choose((8, 6), &[75], v).unwrap_err();
        assert!(err.contains("[75]") && err.contains("8.6"), "{err}");
    }
}
