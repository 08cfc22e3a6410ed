//! shapeflow's shape arithmetic in plain numbers, written once.
//!
//! The `model!` macro uses these functions for its compile-time errors, the layers use them to
//! build their geometry at run time (`Window2d::new`), and the typenum twin in
//! `shapeflow_core::dim_arith` is checked against them by `tests/model/shape_rules_agree.rs`.
//! The crate has no dependencies so a proc-macro crate can use it too.
#![warn(missing_docs)]
#![no_std]

/// PyTorch's window rule for convolutions and pools along one dimension:
/// `(size + 2·padding − dilation·(kernel − 1) − 1) / stride + 1`.
///
/// `None` when the (dilated) kernel is larger than the padded input, or a kernel, stride or
/// dilation is 0.
///
/// ```
/// use shapeflow_rules::window_out;
/// assert_eq!(window_out(28, 5, 1, 0, 1), Some(24));
/// assert_eq!(window_out(24, 2, 2, 0, 1), Some(12));
/// assert_eq!(window_out(3, 5, 1, 0, 1), None);
/// ```
pub const fn window_out(
    size: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Option<usize> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let reach = dilation * (kernel - 1) + 1;
    let padded = size + 2 * padding;
    if reach > padded {
        return None;
    }
    Some((padded - reach) / stride + 1)
}

/// The span of a dilated kernel: `dilation·(kernel − 1) + 1` (for messages).
///
/// ```
/// assert_eq!(shapeflow_rules::kernel_reach(3, 2), 5);
/// ```
pub const fn kernel_reach(kernel: usize, dilation: usize) -> usize {
    dilation * kernel.saturating_sub(1) + 1
}

/// PyTorch's rule for pools: padding at most half the kernel size.
///
/// ```
/// assert!(shapeflow_rules::pool_padding_ok(2, 1));
/// assert!(!shapeflow_rules::pool_padding_ok(2, 2));
/// ```
pub const fn pool_padding_ok(kernel: usize, padding: usize) -> bool {
    2 * padding <= kernel
}

/// The flat size of a per-sample shape: the product of its sizes (`Flatten`).
///
/// ```
/// assert_eq!(shapeflow_rules::flat_size(&[16, 4, 4]), 256);
/// ```
pub const fn flat_size(shape: &[usize]) -> usize {
    let mut p = 1;
    let mut i = 0;
    while i < shape.len() {
        p *= shape[i];
        i += 1;
    }
    p
}
