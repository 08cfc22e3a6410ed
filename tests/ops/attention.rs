//! MultiheadAttention: PyTorch values and gradients with key padding masks from ragged lengths
//! (and a causal mask), gradient checks, and the padding guarantee.

use shapeflow::prelude::*;

use shapeflow::layers::AttentionCache;
use shapeflow::typenum::consts::{U2, U8};

use crate::support::{
    assert_close, attention_fixture, check_layer, check_layer_train, load_named, nums,
};

fn as64<E: Elem>(v: Vec<E>) -> Vec<f64> {
    v.into_iter().map(Elem::as_f64).collect()
}

fn against_pytorch<E: shapeflow::StaticDim, H: shapeflow::StaticDim, B: Backend>(
    dev: &B,
    i: usize,
    tol: f64,
) {
    let f = attention_fixture();
    let case = &f["attention"][i];
    let lengths: Vec<usize> = nums(&case["lengths"]).into_iter().map(|v| v as usize).collect();
    let steps = *lengths.iter().max().unwrap();
    let cast =
        |v: &serde_json::Value| nums(v).into_iter().map(B::Elem::from_f64).collect::<Vec<_>>();
    let mut attn = MultiheadAttention::<E, H, B>::init(dev, &mut Rng::new(0));
    attn.causal = case["causal"].as_bool().unwrap();
    load_named(&mut attn, &case["params"]);
    let sizes = [lengths.len(), steps, E::N];
    let x =
        Tensor::<(Dyn, Dyn, E), B>::from_padded(dev, &sizes, cast(&case["x"]), &lengths).unwrap();
    let what = format!("attention case {i} ({})", B::Elem::NAME);
    assert_close(
        &format!("{what} y"),
        &as64(attn.forward(&x).to_vec()),
        &nums(&case["y"]),
        tol,
        tol,
    );
    let (_, cache) = attn.forward_train(&x);
    let r = Tensor::<(Dyn, Dyn, E), B>::from_vec(dev, &sizes, cast(&case["r"])).unwrap();
    let (dx, g) = attn.backward(&cache, &r).unwrap();
    assert_close(&format!("{what} dx"), &as64(dx.to_vec()), &nums(&case["dx"]), tol, tol);
    g.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(
            &format!("{what} d{name}"),
            &as64(B::to_host(s)),
            &nums(&case["grads"][name]),
            tol,
            tol,
        );
    });
}

#[test]
fn attention_matches_pytorch_with_padding_and_causal_masks() {
    against_pytorch::<Const<8>, Const<2>, _>(&Cpu64::default(), 0, 1e-10);
    against_pytorch::<Const<6>, Const<3>, _>(&Cpu64::default(), 1, 1e-10);
    against_pytorch::<Const<8>, Const<2>, _>(&Cpu::default(), 0, 1e-5);
}

#[test]
fn attention_parameter_names_are_pytorchs() {
    let attn =
        MultiheadAttention::<Const<8>, Const<2>, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    assert_eq!(
        attn.param_names(),
        ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    );
}

#[test]
fn attention_gradient_checks() {
    let dev = Cpu64::default();
    let mut rng = Rng::new(2);
    let seqs: Vec<Vec<f64>> =
        [3usize, 1, 2].iter().map(|&n| (0..n * 4).map(|_| rng.normal()).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<4>), Cpu64>::from_sequences(&dev, &seqs).unwrap();
    let mut attn = MultiheadAttention::<Const<4>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(1));
    check_layer("MultiheadAttention", &mut attn, &x);
    let mut causal =
        MultiheadAttention::<Const<4>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(3)).causal();
    check_layer("MultiheadAttention causal", &mut causal, &x);
}

#[test]
fn padded_steps_never_reach_attention_outputs_or_gradients() {
    let dev = Cpu::default();
    let lengths = [4usize, 1, 3];
    let mut rng = Rng::new(9);
    let clean: Vec<f32> = (0..3 * 4 * 4).map(|_| rng.normal() as f32).collect();
    let mut attn = MultiheadAttention::<Const<4>, Const<2>, Cpu>::init(&dev, &mut Rng::new(3));
    let mut run = |pad: f32| {
        let mut d = clean.clone();
        for (b, &n) in lengths.iter().enumerate() {
            d[(b * 4 + n) * 4..(b + 1) * 16].fill(pad);
        }
        let x = Tensor::<(Dyn, Dyn, Const<4>), Cpu>::from_padded(&dev, &[3, 4, 4], d, &lengths)
            .unwrap();
        let (y, cache) = attn.forward_train(&x);
        let (dx, g) = attn.backward(&cache, &y.ones_like()).unwrap();
        let mut grads = Vec::new();
        g.visit_params(&mut String::new(), &mut |_, _, s| grads.extend(Cpu::to_host(s)));
        (y.to_vec(), dx.to_vec(), grads)
    };
    let zero = run(0.0);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for pad in [f32::NAN, 1e30, -3.0] {
        let got = run(pad);
        assert_eq!(bits(&got.0), bits(&zero.0), "outputs with padding {pad}");
        assert_eq!(bits(&got.1), bits(&zero.1), "input gradient with padding {pad}");
        assert_eq!(bits(&got.2), bits(&zero.2), "parameter gradients with padding {pad}");
    }
}

/// Learned and sinusoidal positions against PyTorch (an `nn.Embedding` looked up with
/// `arange(steps)`, and the sine/cosine table), and their gradient checks.
#[test]
fn positions_match_pytorch_and_finite_differences() {
    let f = attention_fixture();
    let case = &f["positions"];
    let dev = Cpu64::default();
    let lengths: Vec<usize> = nums(&case["lengths"]).into_iter().map(|v| v as usize).collect();
    let x = Tensor::<(Dyn, Dyn, Const<6>), Cpu64>::from_padded(
        &dev,
        &[3, 5, 6],
        nums(&case["x"]),
        &lengths,
    )
    .unwrap();
    let mut pos = PositionEmbedding::<Const<7>, Const<6>, Cpu64>::init(&dev, &mut Rng::new(0));
    pos.weight = Tensor::from_vec(&dev, &[7, 6], nums(&case["weight"])).unwrap();
    let (y, cache) = pos.forward_train(&x);
    assert_close("learned positions", &y.to_vec(), &nums(&case["learned"]), 1e-12, 1e-12);
    let r = Tensor::<(Dyn, Dyn, Const<6>), Cpu64>::from_vec(&dev, &[3, 5, 6], nums(&case["r"]))
        .unwrap();
    let (_, g) = pos.backward(&cache, &r).unwrap();
    assert_close(
        "learned positions dweight",
        &g.weight.to_vec(),
        &nums(&case["dweight"]),
        1e-12,
        1e-12,
    );
    assert_close(
        "sinusoidal",
        &SinusoidalPositions.forward(&x).to_vec(),
        &nums(&case["sinusoidal"]),
        1e-12,
        1e-12,
    );
    let mut rng = Rng::new(4);
    let seqs: Vec<Vec<f64>> =
        [3usize, 1].iter().map(|&n| (0..n * 6).map(|_| rng.normal()).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<6>), Cpu64>::from_sequences(&dev, &seqs).unwrap();
    check_layer("PositionEmbedding", &mut pos, &x);
    check_layer("SinusoidalPositions", &mut SinusoidalPositions, &x);
    // A sequence longer than the table: NaN from position 7 on, never a wrapped-around vector.
    let long =
        Tensor::<(Dyn, Dyn, Const<6>), Cpu64>::from_sequences(&dev, &[vec![0.0; 9 * 6]]).unwrap();
    let y = pos.forward(&long).to_vec();
    assert!(y[..42].iter().all(|v| v.is_finite()) && y[42..].iter().all(|v| v.is_nan()));
}

/// Cross-attention against PyTorch (queries from one ragged batch, keys and values from
/// another with its own key padding mask), and its gradient check.
#[test]
fn cross_attention_matches_pytorch_and_finite_differences() {
    let f = attention_fixture();
    let c = &f["cross"];
    let dev = Cpu64::default();
    let lens = |k: &str| nums(&c[k]).into_iter().map(|v| v as usize).collect::<Vec<_>>();
    let (tl, ml) = (lens("tgt_lengths"), lens("mem_lengths"));
    let mut attn = CrossAttention::<Const<8>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(0));
    load_named(&mut attn, &c["params"]);
    let tgt =
        Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_padded(&dev, &[2, 3, 8], nums(&c["tgt"]), &tl)
            .unwrap();
    let mem = Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_padded(
        &dev,
        &[2, 4, 8],
        nums(&c["memory"]),
        &ml,
    )
    .unwrap();
    let (y, cache) = Merge::forward_train(&mut attn, &tgt, &mem);
    assert_close("cross y", &y.to_vec(), &nums(&c["y"]), 1e-10, 1e-10);
    let r =
        Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_vec(&dev, &[2, 3, 8], nums(&c["r"])).unwrap();
    type S3 = (Dyn, Dyn, Const<8>);
    let ((dt, dm), g) =
        <CrossAttention<Const<8>, Const<2>, Cpu64> as Merge<S3, S3, S3, Cpu64>>::backward(
            &attn, &cache, &r,
        )
        .unwrap();
    assert_close("cross dtgt", &dt.to_vec(), &nums(&c["dtgt"]), 1e-10, 1e-10);
    assert_close("cross dmemory", &dm.to_vec(), &nums(&c["dmemory"]), 1e-10, 1e-10);
    g.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(
            &format!("cross d{name}"),
            &Cpu64::to_host(s),
            &nums(&c["grads"][name]),
            1e-10,
            1e-10,
        );
    });
    // Finite differences of Σ y ⊙ r in the memory (padded entries included: their gradient is zero).
    let loss = |m: &Tensor<(Dyn, Dyn, Const<8>), Cpu64>| -> f64 {
        let y: Tensor<(Dyn, Dyn, Const<8>), Cpu64> = Merge::forward(&attn, &tgt, m);
        y.to_vec().iter().zip(r.to_vec()).map(|(a, b)| a * b).sum()
    };
    let base = mem.to_vec();
    let numeric: Vec<f64> = (0..base.len())
        .map(|i| {
            let at = |d: f64| {
                let mut v = base.clone();
                v[i] += d;
                let t =
                    Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_vec(&dev, &[2, 4, 8], v).unwrap();
                loss(&t.with_lengths(mem.lengths().cloned()).unwrap())
            };
            (at(1e-6) - at(-1e-6)) / 2e-6
        })
        .collect();
    assert_close("cross d/dmemory", &dm.to_vec(), &numeric, 1e-6, 1e-7);
}

/// Rotary embeddings on queries and keys, against a PyTorch reference written out with the same
/// convention (PyTorch has no rotary module), and the gradient check.
#[test]
fn rotary_attention_matches_pytorch_and_finite_differences() {
    let f = attention_fixture();
    let c = &f["rope"];
    let dev = Cpu64::default();
    let lengths: Vec<usize> = nums(&c["lengths"]).into_iter().map(|v| v as usize).collect();
    let mut attn = MultiheadAttention::<Const<8>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(0))
        .causal()
        .rope();
    load_named(&mut attn, &c["params"]);
    let x = Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_padded(
        &dev,
        &[3, 5, 8],
        nums(&c["x"]),
        &lengths,
    )
    .unwrap();
    let (y, cache) = attn.forward_train(&x);
    assert_close("rope y", &y.to_vec(), &nums(&c["y"]), 1e-10, 1e-10);
    let r =
        Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_vec(&dev, &[3, 5, 8], nums(&c["r"])).unwrap();
    let (dx, g) = attn.backward(&cache, &r).unwrap();
    assert_close("rope dx", &dx.to_vec(), &nums(&c["dx"]), 1e-10, 1e-10);
    g.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(
            &format!("rope d{name}"),
            &Cpu64::to_host(s),
            &nums(&c["grads"][name]),
            1e-10,
            1e-10,
        );
    });
    let mut rng = Rng::new(5);
    let seqs: Vec<Vec<f64>> =
        [3usize, 2].iter().map(|&n| (0..n * 4).map(|_| rng.normal()).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<4>), Cpu64>::from_sequences(&dev, &seqs).unwrap();
    let mut small =
        MultiheadAttention::<Const<4>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(6)).rope();
    check_layer("MultiheadAttention rope", &mut small, &x);
}

/// The layer with its dropout mask fixed (each pass trains a copy, so every evaluation of the
/// finite differences draws the same mask).
struct FixedMask(MultiheadAttention<U8, U2, Cpu64>);

impl shapeflow::Module<Cpu64> for FixedMask {
    fn visit_params(&self, p: &mut String, f: &mut shapeflow::module::VisitFn<'_, Cpu64>) {
        self.0.visit_params(p, f)
    }
    fn visit_params_mut(
        &mut self,
        p: &mut String,
        f: &mut shapeflow::module::VisitMutFn<'_, Cpu64>,
    ) {
        self.0.visit_params_mut(p, f)
    }
    fn visit_params_with_grads(
        &mut self,
        g: &Self,
        p: &mut String,
        f: &mut shapeflow::module::VisitGradsFn<'_, Cpu64>,
    ) {
        self.0.visit_params_with_grads(&g.0, p, f)
    }
}

impl Layer<(Dyn, Dyn, U8), Cpu64> for FixedMask {
    type Output = (Dyn, Dyn, U8);
    type Cache = AttentionCache<Cpu64>;
    fn forward(&self, x: &Tensor<(Dyn, Dyn, U8), Cpu64>) -> Tensor<(Dyn, Dyn, U8), Cpu64> {
        self.0.clone().forward_train(x).0
    }
    fn forward_train(
        &mut self,
        x: &Tensor<(Dyn, Dyn, U8), Cpu64>,
    ) -> (Tensor<(Dyn, Dyn, U8), Cpu64>, AttentionCache<Cpu64>) {
        self.0.clone().forward_train(x)
    }
    fn backward(
        &self,
        c: &AttentionCache<Cpu64>,
        dy: &Tensor<(Dyn, Dyn, U8), Cpu64>,
    ) -> shapeflow::Result<(Tensor<(Dyn, Dyn, U8), Cpu64>, Self)> {
        let (dx, g) = self.0.backward(c, dy)?;
        Ok((dx, FixedMask(g)))
    }
}

/// Dropout on the attention weights: inference never drops; training drops with a fresh mask
/// per pass, unbiased (the mean of many training passes is the inference output), and the
/// gradients through a fixed mask pass the finite-difference check.
#[test]
fn attention_weight_dropout_is_unbiased_and_differentiable() {
    let dev = Cpu64::default();
    let x = Tensor::<(Dyn, Dyn, U8), Cpu64>::from_sequences(
        &dev,
        &[
            (0..40).map(|i| (i as f64 * 0.37).sin()).collect::<Vec<_>>(),
            (0..24).map(|i| (i as f64 * 0.71).cos()).collect::<Vec<_>>(),
        ],
    )
    .unwrap();
    let plain = MultiheadAttention::<U8, U2, Cpu64>::init(&dev, &mut Rng::new(4)).causal();
    let mut attn = plain.clone().with_dropout(0.3, 17);
    let want = plain.forward(&x).to_vec();
    assert_eq!(attn.forward(&x).to_vec(), want, "inference drops nothing");
    let (a, _) = attn.forward_train(&x);
    let (b, _) = attn.forward_train(&x);
    assert_ne!(a.to_vec(), b.to_vec(), "each training pass draws its own mask");
    assert_ne!(a.to_vec(), want);
    // The mean over many masks approaches the inference output (inverted dropout).
    let runs = 2000;
    let mut mean = vec![0.0; want.len()];
    for _ in 0..runs {
        for (m, v) in mean.iter_mut().zip(attn.forward_train(&x).0.to_vec()) {
            *m += v / runs as f64;
        }
    }
    let worst = mean.iter().zip(&want).map(|(m, w)| (m - w).abs()).fold(0.0, f64::max);
    let scale = want.iter().map(|w| w.abs()).fold(0.0, f64::max);
    assert!(worst < 0.05 * scale, "mean of {runs} passes off by {worst} (outputs up to {scale})");
    // p = 0 is the plain layer, bit for bit.
    let mut none = plain.clone().with_dropout(0.0, 17);
    assert_eq!(none.forward_train(&x).0.to_vec(), want);
    check_layer_train("MultiheadAttention dropout 0.3", &mut FixedMask(attn), &x);
}
