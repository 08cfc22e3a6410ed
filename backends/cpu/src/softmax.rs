//! Row softmax / log-softmax (stable: the row maximum is subtracted) and their backward passes.

use shapeflow_core::Elem;

/// The rows of `x` and `y` (`rows × cols` each) side by side; none when either is smaller.
fn row_pairs<'a, E>(
    x: &'a [E],
    y: &'a mut [E],
    rows: usize,
    cols: usize,
) -> Option<impl Iterator<Item = (&'a [E], &'a mut [E])>> {
    let n = rows * cols;
    if cols == 0 || x.len() < n || y.len() < n {
        debug_assert!(cols == 0 || rows == 0, "softmax: buffers smaller than {rows}×{cols}");
        return None;
    }
    Some(x[..n].chunks_exact(cols).zip(y[..n].chunks_exact_mut(cols)))
}

fn row_max<E: Elem>(row: &[E]) -> E {
    row.iter().fold(E::neg_infinity(), |m, &v| if v > m { v } else { m })
}

/// Softmax of each row.
pub(crate) fn softmax_rows<E: Elem>(x: &[E], y: &mut [E], rows: usize, cols: usize) {
    let Some(pairs) = row_pairs(x, y, rows, cols) else { return };
    for (xr, yr) in pairs {
        let m = row_max(xr);
        let mut total = E::zero();
        for (o, &v) in yr.iter_mut().zip(xr) {
            *o = (v - m).exp();
            total = total + *o;
        }
        let inv = E::one() / total;
        yr.iter_mut().for_each(|o| *o = *o * inv);
    }
}

/// Log-softmax of each row: `x − m − ln Σ e^(x−m)`.
pub(crate) fn log_softmax_rows<E: Elem>(x: &[E], y: &mut [E], rows: usize, cols: usize) {
    let Some(pairs) = row_pairs(x, y, rows, cols) else { return };
    for (xr, yr) in pairs {
        let m = row_max(xr);
        let total: E = xr.iter().map(|&v| (v - m).exp()).sum();
        let lse = m + total.ln();
        for (o, &v) in yr.iter_mut().zip(xr) {
            *o = v - lse;
        }
    }
}

/// Calls `row(y_row, dy_row, dx_row)` for every row of the three `rows × cols` buffers.
fn each_row_backward<E: Elem>(
    y: &[E],
    dy: &[E],
    dx: &mut [E],
    rows: usize,
    cols: usize,
    row: impl Fn(&[E], &[E], &mut [E]),
) {
    let n = rows * cols;
    if cols == 0 || y.len() < n || dy.len() < n || dx.len() < n {
        debug_assert!(
            cols == 0 || rows == 0,
            "softmax backward: buffers smaller than {rows}×{cols}"
        );
        return;
    }
    let rows = y[..n].chunks_exact(cols).zip(dy[..n].chunks_exact(cols));
    for ((yr, gr), dr) in rows.zip(dx[..n].chunks_exact_mut(cols)) {
        row(yr, gr, dr);
    }
}

/// `dx = y ⊙ (dy − Σ dy⊙y)` per row.
pub(crate) fn softmax_backward_rows<E: Elem>(
    y: &[E],
    dy: &[E],
    dx: &mut [E],
    rows: usize,
    cols: usize,
) {
    each_row_backward(y, dy, dx, rows, cols, |yr, gr, dr| {
        let dot: E = yr.iter().zip(gr).map(|(&a, &b)| a * b).sum();
        for ((o, &yy), &g) in dr.iter_mut().zip(yr).zip(gr) {
            *o = yy * (g - dot);
        }
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
    each_row_backward(y, dy, dx, rows, cols, |yr, gr, dr| {
        let total: E = gr.iter().copied().sum();
        for ((o, &yy), &g) in dr.iter_mut().zip(yr).zip(gr) {
            *o = g - yy.exp() * total;
        }
    });
}
