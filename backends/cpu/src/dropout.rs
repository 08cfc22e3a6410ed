//! dropout_mask: `1/(1−p)` where kept, `0` where dropped, from the counter-based RNG.

use shapeflow_core::Elem;
use shapeflow_core::rng::hash_uniform;

/// Fills `mask` for drop probability `p` from `seed` (element `i` uses counter `i`).
pub(crate) fn dropout_mask<E: Elem>(mask: &mut [E], p: f64, seed: u64) {
    let keep = E::from_f64(1.0 / (1.0 - p));
    for (i, m) in mask.iter_mut().enumerate() {
        *m = if hash_uniform(seed, i as u64) < p { E::zero() } else { keep };
    }
}
