//! The pooling family: max and average pooling over a [`Window2d`] geometry.

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
    fn max_pool2d(
        x: &Self::Storage,
        y: &mut Self::Storage,
        argmax: &mut Self::Storage,
        g: Window2d,
    );
    /// Max-pool backward: routes each `dy` to its argmax (overwrites `dx`).
    fn max_pool2d_backward(
        dy: &Self::Storage,
        argmax: &Self::Storage,
        dx: &mut Self::Storage,
        g: Window2d,
    );
    /// Average pooling, dividing by the full window (PyTorch's `count_include_pad=True`).
    fn avg_pool2d(x: &Self::Storage, y: &mut Self::Storage, g: Window2d);
    /// Average-pool backward (overwrites `dx`).
    fn avg_pool2d_backward(dy: &Self::Storage, dx: &mut Self::Storage, g: Window2d);
}
