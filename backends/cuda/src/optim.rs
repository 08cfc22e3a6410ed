//! `impl Optim for Cuda`, kernels in `kernels/optim.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use shapeflow_core::backend::{AdagradStep, AdamStep, Optim, RmspropState, RmspropStep, SgdStep};

impl Optim for Cuda {
    unsafe fn adam_step_unchecked(
        p: &mut CudaBuf,
        g: &CudaBuf,
        m: &mut CudaBuf,
        v: &mut CudaBuf,
        hp: AdamStep,
    ) {
        let (rt, n) = (p.rt.clone(), p.len);
        let t = hp.step as i32;
        let step_size = (hp.lr / (1.0 - hp.beta1.powi(t))) as f32;
        let bc2_sqrt = (1.0 - hp.beta2.powi(t)).sqrt() as f32;
        let (b1, b2, eps, wd) =
            (hp.beta1 as f32, hp.beta2 as f32, hp.eps as f32, hp.weight_decay as f32);
        let decay = (1.0 - hp.lr * hp.weight_decay) as f32;
        let l2 = i32::from(hp.weight_decay != 0.0 && !hp.decoupled);
        let decoupled = i32::from(hp.weight_decay != 0.0 && hp.decoupled);
        let Some((pd, gd, md, vd)) = p
            .data
            .as_mut()
            .zip(g.data.as_ref())
            .zip(m.data.as_mut())
            .zip(v.data.as_mut())
            .map(|(((p, g), m), v)| (p, g, m, v))
        else {
            return;
        };
        if rt.capturing() {
            // Inside a graph: the step count comes from the replay's offset (see optim.cu).
            let (lr, beta1, beta2, t0) = (hp.lr, hp.beta1, hp.beta2, hp.step as f64);
            rt.with_offset(|offset| {
                launch!(
                    &rt,
                    "adam_step_replayed",
                    Runtime::grid(n),
                    pd,
                    gd,
                    md,
                    vd,
                    offset,
                    &lr,
                    &beta1,
                    &beta2,
                    &t0,
                    &eps,
                    &wd,
                    &decay,
                    &l2,
                    &decoupled,
                    &n
                )
            });
        } else {
            launch!(
                &rt,
                "adam_step",
                Runtime::grid(n),
                pd,
                gd,
                md,
                vd,
                &step_size,
                &bc2_sqrt,
                &b1,
                &b2,
                &eps,
                &wd,
                &decay,
                &l2,
                &decoupled,
                &n
            );
        }
    }
    unsafe fn sgd_step_unchecked(
        p: &mut CudaBuf,
        g: &CudaBuf,
        buf: Option<&mut CudaBuf>,
        hp: SgdStep,
    ) {
        let (rt, n) = (p.rt.clone(), p.len);
        if rt.capturing() && hp.first && buf.is_some() {
            rt.refuse("SGD's first momentum step (it differs from the later ones)".into());
        }
        let (lr, mom, damp, wd) =
            (hp.lr as f32, hp.momentum as f32, (1.0 - hp.dampening) as f32, hp.weight_decay as f32);
        let (first, nesterov) = (i32::from(hp.first), i32::from(hp.nesterov));
        let (Some(pd), Some(gd)) = (p.data.as_mut(), g.data.as_ref()) else { return };
        match buf.and_then(|b| b.data.as_mut()) {
            Some(bd) => {
                let has = 1i32;
                launch!(
                    &rt,
                    "sgd_step",
                    Runtime::grid(n),
                    pd,
                    gd,
                    bd,
                    &lr,
                    &mom,
                    &damp,
                    &wd,
                    &has,
                    &first,
                    &nesterov,
                    &n
                );
            }
            None => {
                // The kernel never reads the buffer without momentum; pass the gradient's.
                let has = 0i32;
                launch!(
                    &rt,
                    "sgd_step",
                    Runtime::grid(n),
                    pd,
                    gd,
                    gd,
                    &lr,
                    &mom,
                    &damp,
                    &wd,
                    &has,
                    &first,
                    &nesterov,
                    &n
                );
            }
        }
    }
    unsafe fn rmsprop_step_unchecked(
        p: &mut CudaBuf,
        g: &CudaBuf,
        state: RmspropState<'_, CudaBuf>,
        hp: RmspropStep,
    ) {
        let (rt, n) = (p.rt.clone(), p.len);
        let RmspropState { square_avg, grad_avg, momentum_buffer } = state;
        let (lr, alpha, eps, wd, mom) = (
            hp.lr as f32,
            hp.alpha as f32,
            hp.eps as f32,
            hp.weight_decay as f32,
            hp.momentum as f32,
        );
        let centered = i32::from(hp.centered && grad_avg.is_some());
        let has_buf = i32::from(hp.momentum > 0.0 && momentum_buffer.is_some());
        // Buffers the flags switch off are never read or written: a one-element spare stands in
        // for each one absent (cached by the allocator: nothing allocated in steady state).
        let (mut spare_avg, mut spare_buf);
        let ga = match grad_avg {
            Some(b) => b,
            None => {
                spare_avg = CudaBuf::scratch(&rt, 1);
                &mut spare_avg
            }
        };
        let bf = match momentum_buffer {
            Some(b) => b,
            None => {
                spare_buf = CudaBuf::scratch(&rt, 1);
                &mut spare_buf
            }
        };
        if let (Some(pd), Some(gd), Some(sq), Some(gad), Some(bfd)) = (
            p.data.as_mut(),
            g.data.as_ref(),
            square_avg.data.as_mut(),
            ga.data.as_mut(),
            bf.data.as_mut(),
        ) {
            launch!(
                &rt,
                "rmsprop_step",
                Runtime::grid(n),
                pd,
                gd,
                sq,
                gad,
                bfd,
                &lr,
                &alpha,
                &eps,
                &wd,
                &mom,
                &centered,
                &has_buf,
                &n
            );
        }
    }
    unsafe fn adagrad_step_unchecked(
        p: &mut CudaBuf,
        g: &CudaBuf,
        sum: &mut CudaBuf,
        hp: AdagradStep,
    ) {
        let (rt, n) = (p.rt.clone(), p.len);
        if rt.capturing() && hp.lr_decay != 0.0 {
            rt.refuse("Adagrad with lr_decay (its rate changes every step)".into());
        }
        let clr = (hp.lr / (1.0 + hp.step.saturating_sub(1) as f64 * hp.lr_decay)) as f32;
        let (eps, wd) = (hp.eps as f32, hp.weight_decay as f32);
        if let (Some(pd), Some(gd), Some(sd)) =
            (p.data.as_mut(), g.data.as_ref(), sum.data.as_mut())
        {
            launch!(&rt, "adagrad_step", Runtime::grid(n), pd, gd, sd, &clr, &eps, &wd, &n);
        }
    }
}
