//! The pooling family: max and average pooling over a [`Window2d`] geometry.

use super::contract::{contract, count};
use super::{Device, Window2d};

/// Max and average pooling, forward and backward.
///
/// ```
/// use shapeflow_core::backend::{Device, Pool, Window2d};
/// use shapeflow_cpu::Cpu;
/// let g = Window2d::new([1, 1, 2, 2], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
/// let x = Cpu::default().upload(&[1.0, 2.0, 3.0, 4.0]);
/// let mut y = Cpu::default().zeros(1);
/// Cpu::avg_pool2d(&x, &mut y, g);
/// assert_eq!(Cpu::to_host(&y), vec![2.5]);
/// ```
pub trait Pool: Device {
    /// Max pooling; `argmax` receives, for the backward pass, which tap of its window won
    /// (`i·kw + j`, as an element value: exact for any window, whatever the plane's size).
    /// Padding never wins.
    #[track_caller]
    fn max_pool2d(
        x: &Self::Storage,
        y: &mut Self::Storage,
        argmax: &mut Self::Storage,
        g: Window2d,
    ) {
        let (x_len, y_len) = (count(&[g.n, g.c, g.h, g.w]), count(&[g.n, g.c, g.oh, g.ow]));
        contract!("Pool::max_pool2d", g; x => at_least(x_len), y => at_least(y_len), argmax => at_least(y_len));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::max_pool2d_unchecked(x, y, argmax, g) }
    }

    /// The kernel behind [`Pool::max_pool2d`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Pool::max_pool2d`] checks.
    unsafe fn max_pool2d_unchecked(
        x: &Self::Storage,
        y: &mut Self::Storage,
        argmax: &mut Self::Storage,
        g: Window2d,
    );
    /// Max-pool backward: routes each `dy` to its argmax (overwrites `dx`).
    #[track_caller]
    fn max_pool2d_backward(
        dy: &Self::Storage,
        argmax: &Self::Storage,
        dx: &mut Self::Storage,
        g: Window2d,
    ) {
        let (x_len, y_len) = (count(&[g.n, g.c, g.h, g.w]), count(&[g.n, g.c, g.oh, g.ow]));
        contract!("Pool::max_pool2d_backward", g; dy => at_least(y_len), argmax => at_least(y_len), dx => at_least(x_len));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::max_pool2d_backward_unchecked(dy, argmax, dx, g) }
    }

    /// The kernel behind [`Pool::max_pool2d_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Pool::max_pool2d_backward`] checks.
    unsafe fn max_pool2d_backward_unchecked(
        dy: &Self::Storage,
        argmax: &Self::Storage,
        dx: &mut Self::Storage,
        g: Window2d,
    );
    /// Average pooling, dividing by the full window (PyTorch's `count_include_pad=True`).
    #[track_caller]
    fn avg_pool2d(x: &Self::Storage, y: &mut Self::Storage, g: Window2d) {
        let (x_len, y_len) = (count(&[g.n, g.c, g.h, g.w]), count(&[g.n, g.c, g.oh, g.ow]));
        contract!("Pool::avg_pool2d", g; x => at_least(x_len), y => at_least(y_len));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::avg_pool2d_unchecked(x, y, g) }
    }

    /// The kernel behind [`Pool::avg_pool2d`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Pool::avg_pool2d`] checks.
    unsafe fn avg_pool2d_unchecked(x: &Self::Storage, y: &mut Self::Storage, g: Window2d);
    /// Average-pool backward (overwrites `dx`).
    #[track_caller]
    fn avg_pool2d_backward(dy: &Self::Storage, dx: &mut Self::Storage, g: Window2d) {
        let (x_len, y_len) = (count(&[g.n, g.c, g.h, g.w]), count(&[g.n, g.c, g.oh, g.ow]));
        contract!("Pool::avg_pool2d_backward", g; dy => at_least(y_len), dx => at_least(x_len));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::avg_pool2d_backward_unchecked(dy, dx, g) }
    }

    /// The kernel behind [`Pool::avg_pool2d_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Pool::avg_pool2d_backward`] checks.
    unsafe fn avg_pool2d_backward_unchecked(
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        g: Window2d,
    );
}
