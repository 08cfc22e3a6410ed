//! `impl Norm for Cuda`, kernels in `kernels/norm.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use shapeflow_core::backend::{
    BatchNormGeom, BatchNormGrads, Channels, LayerNormGrads, Moments, Norm, RowNorm, RowStats,
    RowStatsMut,
};

impl Norm for Cuda {
    unsafe fn channel_moments_unchecked(
        x: &CudaBuf,
        mean: &mut CudaBuf,
        var: &mut CudaBuf,
        g: Channels,
    ) {
        let Channels { outer, channels, inner } = g;
        let rt = mean.rt.clone();
        let splits = crate::shapes::channel_splits(channels, outer * inner);
        let Some(mut part) = rt.take_partials(3 * channels * splits) else { return };
        if let (Some(xd), Some(md), Some(vd)) =
            (x.data.as_ref(), mean.data.as_mut(), var.data.as_mut())
        {
            let cfg = crate::shapes::channel_chunks(channels, splits).into();
            launch!(
                &rt,
                "channel_moments_partial",
                cfg,
                xd,
                &mut part,
                &outer,
                &channels,
                &inner,
                &splits
            );
            let cfg = Runtime::grid(channels);
            launch!(&rt, "channel_moments_finish", cfg, &part, md, vd, &channels, &splits);
        }
        rt.give_partials(part);
    }
    unsafe fn batch_norm_apply_unchecked(
        x: &CudaBuf,
        stats: Moments<'_, CudaBuf>,
        gamma: &CudaBuf,
        beta: &CudaBuf,
        y: &mut CudaBuf,
        g: BatchNormGeom,
    ) {
        let (Moments { mean, var }, eps) = (stats, g.eps);
        let Channels { outer, channels, inner } = g.shape;
        let rt = y.rt.clone();
        let n = outer * channels * inner;
        if let (Some(xd), Some(md), Some(vd), Some(gd), Some(bd), Some(yd)) = (
            x.data.as_ref(),
            mean.data.as_ref(),
            var.data.as_ref(),
            gamma.data.as_ref(),
            beta.data.as_ref(),
            y.data.as_mut(),
        ) {
            launch!(
                &rt,
                "batch_norm_apply",
                Runtime::grid(n),
                xd,
                md,
                vd,
                gd,
                bd,
                yd,
                &eps,
                &outer,
                &channels,
                &inner
            );
        }
    }
    unsafe fn batch_norm_backward_unchecked(
        x: &CudaBuf,
        dy: &CudaBuf,
        stats: Moments<'_, CudaBuf>,
        gamma: &CudaBuf,
        grads: BatchNormGrads<'_, CudaBuf>,
        g: BatchNormGeom,
    ) {
        let (Moments { mean, var }, eps) = (stats, g.eps);
        let Channels { outer, channels, inner } = g.shape;
        let BatchNormGrads { dx, dgamma, dbeta } = grads;
        let rt = dx.rt.clone();
        let splits = crate::shapes::channel_splits(channels, outer * inner);
        let sums = 2 * channels * splits;
        let Some(mut part) = rt.take_partials(sums + 2 * channels) else { return };
        if let (Some(xd), Some(gd), Some(md), Some(vd), Some(ga), Some(dd), Some(dg), Some(db)) = (
            x.data.as_ref(),
            dy.data.as_ref(),
            mean.data.as_ref(),
            var.data.as_ref(),
            gamma.data.as_ref(),
            dx.data.as_mut(),
            dgamma.data.as_mut(),
            dbeta.data.as_mut(),
        ) {
            // Per chunk: (sum dy, sum dy · xhat); per channel: dbeta, dgamma and the totals in
            // double; then dx element by element.
            let cfg = crate::shapes::channel_chunks(channels, splits).into();
            let dy_too = 0i32;
            launch!(
                &rt,
                "channel_sums_partial",
                cfg,
                xd,
                gd,
                md,
                vd,
                &mut part,
                &eps,
                &outer,
                &channels,
                &inner,
                &splits,
                &dy_too
            );
            let has_second = 1i32;
            let cfg = Runtime::grid(channels);
            launch!(
                &rt,
                "channel_sums_finish",
                cfg,
                &mut part,
                db,
                dg,
                &channels,
                &splits,
                &has_second
            );
            let totals = part.slice(sums..);
            let n = outer * channels * inner;
            launch!(
                &rt,
                "batch_norm_backward_apply",
                Runtime::grid(n),
                xd,
                gd,
                md,
                vd,
                ga,
                &totals,
                dd,
                &eps,
                &outer,
                &channels,
                &inner
            );
        }
        rt.give_partials(part);
    }
    unsafe fn layer_norm_unchecked(
        x: &CudaBuf,
        affine: Option<(&CudaBuf, &CudaBuf)>,
        y: &mut CudaBuf,
        stats: RowStatsMut<'_, CudaBuf>,
        g: RowNorm,
    ) {
        let rt = y.rt.clone();
        let RowNorm { rows, cols, eps } = g;
        // Without an affine part the kernel never reads gamma and beta; pass `x` for both.
        let (w, b) = affine.unwrap_or((x, x));
        let flag = i32::from(affine.is_some());
        if let (Some(xd), Some(wd), Some(bd), Some(yd), Some(md), Some(rd)) = (
            x.data.as_ref(),
            w.data.as_ref(),
            b.data.as_ref(),
            y.data.as_mut(),
            stats.mean.data.as_mut(),
            stats.var.data.as_mut(),
        ) {
            launch!(
                &rt,
                "layer_norm",
                Runtime::per_item(rows),
                xd,
                wd,
                bd,
                yd,
                md,
                rd,
                &rows,
                &cols,
                &eps,
                &flag
            );
        }
    }
    unsafe fn layer_norm_backward_unchecked(
        x: &CudaBuf,
        dy: &CudaBuf,
        stats: RowStats<'_, CudaBuf>,
        gamma: Option<&CudaBuf>,
        grads: LayerNormGrads<'_, CudaBuf>,
        g: RowNorm,
    ) {
        let RowNorm { rows, cols, eps } = g;
        let LayerNormGrads { dx, dgamma, dbeta } = grads;
        let rt = dx.rt.clone();
        let w = gamma.unwrap_or(x);
        let flag = i32::from(gamma.is_some());
        let (Some(xd), Some(gd), Some(md), Some(rd)) =
            (x.data.as_ref(), dy.data.as_ref(), stats.mean.data.as_ref(), stats.var.data.as_ref())
        else {
            return;
        };
        if let (Some(wd), Some(dd)) = (w.data.as_ref(), dx.data.as_mut()) {
            launch!(
                &rt,
                "layer_norm_backward",
                Runtime::per_item(rows),
                xd,
                gd,
                md,
                rd,
                wd,
                dd,
                &rows,
                &cols,
                &eps,
                &flag
            );
        }
        if let (Some(dg), Some(db)) = (dgamma, dbeta)
            && let (Some(dgd), Some(dbd)) = (dg.data.as_mut(), db.data.as_mut())
        {
            launch!(
                &rt,
                "layer_norm_param_grads",
                Runtime::grid(cols),
                xd,
                gd,
                md,
                rd,
                dgd,
                dbd,
                &rows,
                &cols,
                &eps
            );
        }
    }
}
