//! Lstm, Gru, Rnn: PyTorch values and gradients on ragged batches (packed sequences: a
//! bidirectional 2-layer layer of each kind among them), gradient checks against finite
//! differences, and the padding guarantee (padded steps never reach an output or a gradient).

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer, load_named, nums, sequence_fixture};

fn as64<E: Elem>(v: Vec<E>) -> Vec<f64> {
    v.into_iter().map(Elem::as_f64).collect()
}

/// Fixture case `i` of `kind` (`lstm`, `gru`, `rnn`) for layer `R` on backend `B`, to `tol`.
fn against_pytorch<R, I, O, B>(dev: &B, kind: &str, i: usize, tol: f64)
where
    R: Layer<(Dyn, Dyn, I), B, Output = (Dyn, Dyn, O)> + Init<B>,
    I: shapeflow::StaticDim,
    O: shapeflow::StaticDim,
    B: Backend,
{
    let f = sequence_fixture();
    let case = &f[kind][i];
    let lengths: Vec<usize> = nums(&case["lengths"]).into_iter().map(|v| v as usize).collect();
    let steps = *lengths.iter().max().unwrap();
    let cast =
        |v: &serde_json::Value| nums(v).into_iter().map(B::Elem::from_f64).collect::<Vec<_>>();
    let mut lstm = R::init(dev, &mut Rng::new(0));
    load_named(&mut lstm, &case["params"]);
    let sizes = [lengths.len(), steps, I::N];
    let x =
        Tensor::<(Dyn, Dyn, I), B>::from_padded(dev, &sizes, cast(&case["x"]), &lengths).unwrap();
    let what = format!("{kind} case {i} ({})", B::Elem::NAME);
    let y = lstm.forward(&x);
    assert_close(&format!("{what} y"), &as64(y.to_vec()), &nums(&case["y"]), tol, tol);
    let (y, cache) = lstm.forward_train(&x);
    assert_eq!(y.lengths().map(|l| l.as_slice().to_vec()), Some(lengths.clone()));
    let r = Tensor::<(Dyn, Dyn, O), B>::from_vec(dev, y.dims(), cast(&case["r"])).unwrap();
    let (dx, g) = lstm.backward(&cache, &r).unwrap();
    assert_close(&format!("{what} dx"), &as64(dx.to_vec()), &nums(&case["dx"]), tol, tol);
    let mut n = 0;
    g.visit_params(&mut String::new(), &mut |name, _, s| {
        let got = as64(B::to_host(s));
        assert_close(&format!("{what} d{name}"), &got, &nums(&case["grads"][name]), tol, tol);
        n += 1;
    });
    assert_eq!(n, case["grads"].as_object().unwrap().len());
}

#[test]
fn lstm_matches_pytorch_packed_sequences_in_f64() {
    let dev = Cpu64::default();
    against_pytorch::<Lstm<Const<3>, Const<4>, Const<8>, 2, _>, _, _, _>(&dev, "lstm", 0, 1e-10);
    against_pytorch::<Lstm<Const<3>, Const<5>, Const<5>, 1, _>, _, _, _>(&dev, "lstm", 1, 1e-10);
    against_pytorch::<Lstm<Const<2>, Const<3>, Const<6>, 1, _>, _, _, _>(&dev, "lstm", 2, 1e-10);
}

#[test]
fn gru_and_rnn_match_pytorch_packed_sequences_in_f64() {
    let dev = Cpu64::default();
    against_pytorch::<Gru<Const<3>, Const<4>, Const<8>, 2, _>, _, _, _>(&dev, "gru", 0, 1e-10);
    against_pytorch::<Gru<Const<2>, Const<3>, Const<3>, 1, _>, _, _, _>(&dev, "gru", 1, 1e-10);
    against_pytorch::<Rnn<Const<3>, Const<4>, Const<8>, 2, _>, _, _, _>(&dev, "rnn", 0, 1e-10);
    against_pytorch::<RnnRelu<Const<2>, Const<3>, Const<3>, 1, _>, _, _, _>(&dev, "rnn", 1, 1e-10);
}

#[test]
fn lstm_matches_pytorch_in_f32() {
    let dev = Cpu::default();
    // ≤ 1e-5 relative (plus 1e-5 absolute for values near zero)
    against_pytorch::<Lstm<Const<3>, Const<4>, Const<8>, 2, _>, _, _, _>(&dev, "lstm", 0, 1e-5);
    against_pytorch::<Lstm<Const<2>, Const<3>, Const<6>, 1, _>, _, _, _>(&dev, "lstm", 2, 1e-5);
    against_pytorch::<Gru<Const<3>, Const<4>, Const<8>, 2, _>, _, _, _>(&dev, "gru", 0, 1e-5);
    against_pytorch::<Rnn<Const<3>, Const<4>, Const<8>, 2, _>, _, _, _>(&dev, "rnn", 0, 1e-5);
}

#[test]
fn lstm_parameter_names_are_pytorchs() {
    let lstm =
        Lstm::<Const<3>, Const<4>, Const<8>, 2, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    let names = lstm.param_names();
    assert_eq!(
        &names[..5],
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"]
    );
    assert_eq!(names.len(), 16);
    assert_eq!(names[15], "bias_hh_l1_reverse");
    let mut sizes = Vec::new();
    lstm.visit_params(&mut String::new(), &mut |_, d, _| sizes.push(d.to_vec()));
    assert_eq!((&sizes[0], &sizes[1], &sizes[8]), (&vec![16, 3], &vec![16, 4], &vec![16, 8]));
}

#[test]
fn lstm_gradient_checks_on_ragged_batches() {
    let dev = Cpu64::default();
    let mut rng = Rng::new(5);
    let seqs: Vec<Vec<f64>> =
        [3usize, 1, 2].iter().map(|&n| (0..n * 2).map(|_| rng.normal()).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<2>), Cpu64>::from_sequences(&dev, &seqs).unwrap();
    let mut bi = Lstm::<Const<2>, Const<3>, Const<6>, 2, Cpu64>::init(&dev, &mut Rng::new(1));
    check_layer("Lstm bidirectional 2 layers", &mut bi, &x);
    let mut uni = Lstm::<Const<2>, Const<2>, Const<2>, 1, Cpu64>::init(&dev, &mut Rng::new(2));
    check_layer("Lstm 1 layer", &mut uni, &x);
    let mut gru = Gru::<Const<2>, Const<3>, Const<6>, 2, Cpu64>::init(&dev, &mut Rng::new(3));
    check_layer("Gru bidirectional 2 layers", &mut gru, &x);
    let mut rnn = Rnn::<Const<2>, Const<3>, Const<6>, 2, Cpu64>::init(&dev, &mut Rng::new(4));
    check_layer("Rnn bidirectional 2 layers", &mut rnn, &x);
    let mut relu = RnnRelu::<Const<2>, Const<3>, Const<3>, 1, Cpu64>::init(&dev, &mut Rng::new(5));
    check_layer("RnnRelu", &mut relu, &x);
}

/// The padding guarantee for layer `R`: whatever the padded positions of a batch hold (NaN
/// included), the outputs and every gradient are bit-identical, and padded steps output zeros
/// and get a zero input gradient.
fn padding_invariance<R>(name: &str)
where
    R: Layer<(Dyn, Dyn, Const<2>), Cpu, Output = (Dyn, Dyn, Const<6>)> + Init<Cpu>,
{
    let dev = Cpu::default();
    let lengths = [4usize, 1, 3];
    let mut rng = Rng::new(9);
    let clean: Vec<f32> = (0..3 * 4 * 2).map(|_| rng.normal() as f32).collect();
    let fill = |v: f32| {
        let mut d = vec![v; 3 * 4 * 2];
        for (b, &n) in lengths.iter().enumerate() {
            d[b * 8..b * 8 + n * 2].copy_from_slice(&clean[b * 8..b * 8 + n * 2]);
        }
        d
    };
    let mut layer = R::init(&dev, &mut Rng::new(3));
    let mut run = |data: Vec<f32>| {
        let x = Tensor::<(Dyn, Dyn, Const<2>), Cpu>::from_padded(&dev, &[3, 4, 2], data, &lengths)
            .unwrap();
        let (y, cache) = layer.forward_train(&x);
        let dy: Vec<f32> = (0..y.len()).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
        let dy = Tensor::<(Dyn, Dyn, Const<6>), Cpu>::from_vec(&dev, y.dims(), dy).unwrap();
        let (dx, g) = layer.backward(&cache, &dy).unwrap();
        let mut grads = Vec::new();
        g.visit_params(&mut String::new(), &mut |_, _, s| grads.extend(Cpu::to_host(s)));
        (y.to_vec(), dx.to_vec(), grads)
    };
    let zero = run(fill(0.0));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for garbage in [f32::NAN, f32::INFINITY, 1e30, -7.5] {
        let got = run(fill(garbage));
        assert_eq!(bits(&got.0), bits(&zero.0), "{name}: outputs with padding {garbage}");
        assert_eq!(bits(&got.1), bits(&zero.1), "{name}: input gradient with padding {garbage}");
        assert_eq!(
            bits(&got.2),
            bits(&zero.2),
            "{name}: parameter gradients with padding {garbage}"
        );
    }
    for (b, &n) in lengths.iter().enumerate() {
        assert!(zero.0[(b * 4 + n) * 6..(b + 1) * 4 * 6].iter().all(|&v| v == 0.0), "{name}");
        assert!(zero.1[(b * 4 + n) * 2..(b + 1) * 4 * 2].iter().all(|&v| v == 0.0), "{name}");
    }
}

#[test]
fn padded_steps_never_reach_an_output_or_a_gradient() {
    padding_invariance::<Lstm<Const<2>, Const<3>, Const<6>, 2, Cpu>>("Lstm");
    padding_invariance::<Gru<Const<2>, Const<3>, Const<6>, 2, Cpu>>("Gru");
    padding_invariance::<Rnn<Const<2>, Const<3>, Const<6>, 2, Cpu>>("Rnn");
    padding_invariance::<RnnRelu<Const<2>, Const<6>, Const<6>, 1, Cpu>>("RnnRelu");
}
