//! Row softmax / log-softmax (stable: the row maximum is subtracted) and their backward passes.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};
use shapeflow_core::Elem;

fn views<'a, E>(
    x: &'a [E],
    y: &'a mut [E],
    rows: usize,
    cols: usize,
) -> Option<(ArrayView2<'a, E>, ArrayViewMut2<'a, E>)> {
    let xv = ArrayView2::from_shape((rows, cols), x).ok()?;
    let yv = ArrayViewMut2::from_shape((rows, cols), y).ok()?;
    Some((xv, yv))
}

fn row_max<E: Elem>(row: ndarray::ArrayView1<'_, E>) -> E {
    row.iter().fold(E::neg_infinity(), |m, &v| if v > m { v } else { m })
}

/// Softmax of each row.
pub(crate) fn softmax_rows<E: Elem>(x: &[E], y: &mut [E], rows: usize, cols: usize) {
    let Some((xv, mut yv)) = views(x, y, rows, cols) else { return };
    Zip::from(xv.axis_iter(Axis(0))).and(yv.axis_iter_mut(Axis(0))).for_each(|xr, mut yr| {
        let m = row_max(xr);
        let mut total = E::zero();
        for (o, &v) in yr.iter_mut().zip(xr.iter()) {
            *o = (v - m).exp();
            total = total + *o;
        }
        let inv = E::one() / total;
        yr.iter_mut().for_each(|o| *o = *o * inv);
    });
}

/// Log-softmax of each row: `x − m − ln Σ e^(x−m)`.
pub(crate) fn log_softmax_rows<E: Elem>(x: &[E], y: &mut [E], rows: usize, cols: usize) {
    let Some((xv, mut yv)) = views(x, y, rows, cols) else { return };
    Zip::from(xv.axis_iter(Axis(0))).and(yv.axis_iter_mut(Axis(0))).for_each(|xr, mut yr| {
        let m = row_max(xr);
        let total: E = xr.iter().map(|&v| (v - m).exp()).sum();
        let lse = m + total.ln();
        for (o, &v) in yr.iter_mut().zip(xr.iter()) {
            *o = v - lse;
        }
    });
}

/// Calls `row(y_row, dy_row, dx_row)` for every row of the three `rows × cols` buffers.
fn each_row_backward<E: Elem>(
    y: &[E],
    dy: &[E],
    dx: &mut [E],
    rows: usize,
    cols: usize,
    row: impl Fn(ndarray::ArrayView1<'_, E>, ndarray::ArrayView1<'_, E>, ndarray::ArrayViewMut1<'_, E>),
) {
    let (Ok(yv), Ok(gv), Ok(mut dv)) = (
        ArrayView2::from_shape((rows, cols), y),
        ArrayView2::from_shape((rows, cols), dy),
        ArrayViewMut2::from_shape((rows, cols), dx),
    ) else {
        return;
    };
    Zip::from(yv.axis_iter(Axis(0)))
        .and(gv.axis_iter(Axis(0)))
        .and(dv.axis_iter_mut(Axis(0)))
        .for_each(row);
}

/// `dx = y ⊙ (dy − Σ dy⊙y)` per row.
pub(crate) fn softmax_backward_rows<E: Elem>(
    y: &[E],
    dy: &[E],
    dx: &mut [E],
    rows: usize,
    cols: usize,
) {
    each_row_backward(y, dy, dx, rows, cols, |yr, gr, mut dr| {
        let dot: E = yr.iter().zip(gr.iter()).map(|(&a, &b)| a * b).sum();
        Zip::from(&mut dr).and(&yr).and(&gr).for_each(|o, &yy, &g| *o = yy * (g - dot));
    });
}

/// `dx = dy − e^y · Σ dy` per row (y is the log-softmax output).
pub(crate) fn log_softmax_backward_rows<E: Elem>(
    y: &[E],
    dy: &[E],
    dx: &mut [E],
    rows: usize,
    cols: usize,
) {
    each_row_backward(y, dy, dx, rows, cols, |yr, gr, mut dr| {
        let total: E = gr.iter().copied().sum();
        Zip::from(&mut dr).and(&yr).and(&gr).for_each(|o, &yy, &g| *o = g - yy.exp() * total);
    });
}
