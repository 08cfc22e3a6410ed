//! The optimised W2 training step (the benchmark's 784-512-256-10 MLP, batch 128, ReLU,
//! cross-entropy, Adam; with every CPU fast path it takes: transposed products, the pooled
//! buffers, the worker threads of `on_workers`) against a straightforward reference written
//! here with plain loops in f64: loss, every gradient and the weights after two Adam steps agree
//! to 1e-5 relative.

use shapeflow::prelude::*;

model! {
    /// W2's MLP.
    pub struct W2 {
        input: [784],
        fc1: Linear<784, 512>,
        act1: Relu,
        fc2: Linear<512, 256>,
        act2: Relu,
        fc3: Linear<256, 10>,
    }
}

/// One dense layer of the reference: weight `[out, in]` and bias, in f64.
#[derive(Clone)]
struct Dense {
    w: Vec<f64>,
    b: Vec<f64>,
    inp: usize,
    out: usize,
}

impl Dense {
    /// `y[n, o] = Σ_i x[n, i]·w[o, i] + b[o]`.
    fn forward(&self, x: &[f64], batch: usize) -> Vec<f64> {
        let mut y = vec![0.0; batch * self.out];
        for n in 0..batch {
            let xr = &x[n * self.inp..(n + 1) * self.inp];
            for o in 0..self.out {
                let wr = &self.w[o * self.inp..(o + 1) * self.inp];
                y[n * self.out + o] =
                    xr.iter().zip(wr).map(|(a, b)| a * b).sum::<f64>() + self.b[o];
            }
        }
        y
    }

    /// From `dy`, returns `(dx, dw, db)`.
    fn backward(&self, x: &[f64], dy: &[f64], batch: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut dx, mut dw, mut db) =
            (vec![0.0; batch * self.inp], vec![0.0; self.out * self.inp], vec![0.0; self.out]);
        for n in 0..batch {
            for o in 0..self.out {
                let g = dy[n * self.out + o];
                db[o] += g;
                let wr = &self.w[o * self.inp..(o + 1) * self.inp];
                let xr = &x[n * self.inp..(n + 1) * self.inp];
                for ((dxv, dwv), (wv, xv)) in dx[n * self.inp..(n + 1) * self.inp]
                    .iter_mut()
                    .zip(&mut dw[o * self.inp..(o + 1) * self.inp])
                    .zip(wr.iter().zip(xr))
                {
                    *dxv += g * wv;
                    *dwv += g * xv;
                }
            }
        }
        (dx, dw, db)
    }
}

fn relu(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v.max(0.0)).collect()
}

/// Mean cross-entropy of `logits` `[batch, classes]` and its gradient.
fn cross_entropy_ref(logits: &[f64], labels: &[usize], classes: usize) -> (f64, Vec<f64>) {
    let batch = labels.len();
    let mut loss = 0.0;
    let mut d = vec![0.0; logits.len()];
    for n in 0..batch {
        let row = &logits[n * classes..(n + 1) * classes];
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        loss += -(row[labels[n]] - max - sum.ln());
        for c in 0..classes {
            let p = (row[c] - max).exp() / sum;
            d[n * classes + c] = (p - if c == labels[n] { 1.0 } else { 0.0 }) / batch as f64;
        }
    }
    (loss / batch as f64, d)
}

/// PyTorch's Adam (no weight decay) on one parameter, step `t` (from 1).
fn adam(p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64], t: i32) {
    let (lr, b1, b2, eps) = (1e-3, 0.9, 0.999, 1e-8);
    for i in 0..p.len() {
        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
        let (mh, vh) = (m[i] / (1.0 - b1.powi(t)), v[i] / (1.0 - b2.powi(t)));
        p[i] -= lr * mh / (vh.sqrt() + eps);
    }
}

/// `‖got − want‖ / ‖want‖`.
fn relative(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let diff: f64 = got.iter().zip(want).map(|(g, w)| (*g as f64 - w).powi(2)).sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    (diff / norm.max(1e-300)).sqrt()
}

fn dense<L>(weight: &Tensor<L, Cpu>, bias: &[f32]) -> Dense
where
    L: Shape,
{
    let d = weight.dims();
    Dense {
        w: weight.to_vec().iter().map(|&v| v as f64).collect(),
        b: bias.iter().map(|&v| v as f64).collect(),
        inp: d[1],
        out: d[0],
    }
}

#[test]
fn the_optimised_w2_step_matches_a_plain_f64_reference() {
    let dev = Cpu::default();
    let batch = 128;
    let mut model = W2::<Cpu>::new(&dev, 7);
    let mut opt = Adam::new(&model, AdamConfig::default());
    let x = W2Input::<Cpu>::randn(&dev, &[batch, 784], 0.0, 1.0, 11).unwrap();
    let labels: Vec<usize> = (0..batch).map(|i| (i * 7) % 10).collect();
    let xs: Vec<f64> = x.to_vec().iter().map(|&v| v as f64).collect();

    let mut layers = [
        dense(&model.fc1.weight, &model.fc1.bias.as_ref().unwrap().to_vec()),
        dense(&model.fc2.weight, &model.fc2.bias.as_ref().unwrap().to_vec()),
        dense(&model.fc3.weight, &model.fc3.bias.as_ref().unwrap().to_vec()),
    ];
    let mut moments: Vec<[Vec<f64>; 4]> = layers
        .iter()
        .map(|l| {
            [vec![0.0; l.w.len()], vec![0.0; l.w.len()], vec![0.0; l.b.len()], vec![0.0; l.b.len()]]
        })
        .collect();

    for step in 1..=2 {
        // shapeflow, as `fit` runs a step.
        let (loss, grads) = Cpu::on_workers(|| {
            let (logits, cache) = model.forward_train(&x);
            let (loss, dlogits) = cross_entropy(&logits, &labels).unwrap();
            (loss, model.backward(&cache, &dlogits).unwrap())
        });
        opt.step(&mut model, &grads).unwrap();

        // The reference.
        let a1 = layers[0].forward(&xs, batch);
        let h1 = relu(&a1);
        let a2 = layers[1].forward(&h1, batch);
        let h2 = relu(&a2);
        let logits = layers[2].forward(&h2, batch);
        let (want_loss, dlogits) = cross_entropy_ref(&logits, &labels, 10);
        let (dh2, dw3, db3) = layers[2].backward(&h2, &dlogits, batch);
        let da2: Vec<f64> =
            dh2.iter().zip(&a2).map(|(d, a)| if *a > 0.0 { *d } else { 0.0 }).collect();
        let (dh1, dw2, db2) = layers[1].backward(&h1, &da2, batch);
        let da1: Vec<f64> =
            dh1.iter().zip(&a1).map(|(d, a)| if *a > 0.0 { *d } else { 0.0 }).collect();
        let (_, dw1, db1) = layers[0].backward(&xs, &da1, batch);

        assert!(
            (loss - want_loss).abs() <= 1e-5 * want_loss.abs(),
            "step {step}: loss {loss} vs {want_loss}"
        );
        let got = [
            (grads.fc1.weight.to_vec(), grads.fc1.bias.as_ref().unwrap().to_vec(), &dw1, &db1),
            (grads.fc2.weight.to_vec(), grads.fc2.bias.as_ref().unwrap().to_vec(), &dw2, &db2),
            (grads.fc3.weight.to_vec(), grads.fc3.bias.as_ref().unwrap().to_vec(), &dw3, &db3),
        ];
        for (i, (gw, gb, ww, wb)) in got.iter().enumerate() {
            let (ew, eb) = (relative(gw, ww), relative(gb, wb));
            assert!(
                ew <= 1e-5 && eb <= 1e-5,
                "step {step}: fc{} gradients off by {ew:e} / {eb:e}",
                i + 1
            );
        }
        let grads_ref = [(dw1, db1), (dw2, db2), (dw3, db3)];
        for ((layer, (dw, db)), m) in layers.iter_mut().zip(&grads_ref).zip(&mut moments) {
            let [mw, vw, mb, vb] = m;
            adam(&mut layer.w, dw, mw, vw, step);
            adam(&mut layer.b, db, mb, vb, step);
        }
        let params = [
            (model.fc1.weight.to_vec(), model.fc1.bias.as_ref().unwrap().to_vec()),
            (model.fc2.weight.to_vec(), model.fc2.bias.as_ref().unwrap().to_vec()),
            (model.fc3.weight.to_vec(), model.fc3.bias.as_ref().unwrap().to_vec()),
        ];
        for (i, ((w, b), layer)) in params.iter().zip(&layers).enumerate() {
            let (ew, eb) = (relative(w, &layer.w), relative(b, &layer.b));
            assert!(
                ew <= 1e-5 && eb <= 1e-5,
                "step {step}: fc{} weights off by {ew:e} / {eb:e}",
                i + 1
            );
        }
    }
}
