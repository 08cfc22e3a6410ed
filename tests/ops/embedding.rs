//! Embedding: PyTorch values and weight gradient (with `padding_idx`), a finite-difference check
//! of the weight gradient, and ids that are not ids giving NaN rather than another token's row.

use shapeflow::prelude::*;

use crate::support::{assert_close, nums, sequence_fixture};

#[test]
fn embedding_matches_pytorch() {
    let f = sequence_fixture();
    let case = &f["embedding"];
    let dev = Cpu64::default();
    let mut emb =
        Embedding::<Const<7>, Const<3>, Cpu64>::init(&dev, &mut Rng::new(0)).with_padding_idx(0);
    emb.weight = Tensor::from_vec(&dev, &[7, 3], nums(&case["weight"])).unwrap();
    let ids = Tensor::<(Dyn, Dyn), Cpu64>::from_vec(&dev, &[2, 4], nums(&case["ids"])).unwrap();
    let (y, cache) = emb.forward_train(&ids);
    assert_close("embedding y", &y.to_vec(), &nums(&case["y"]), 1e-12, 1e-12);
    let r = Tensor::<(Dyn, Dyn, Const<3>), Cpu64>::from_vec(&dev, &[2, 4, 3], nums(&case["r"]))
        .unwrap();
    let (dx, g) = emb.backward(&cache, &r).unwrap();
    assert_close("embedding dweight", &g.weight.to_vec(), &nums(&case["dweight"]), 1e-12, 1e-12);
    assert!(dx.to_vec().iter().all(|&v| v == 0.0), "token ids have no gradient");
    assert_eq!(emb.param_names(), ["weight"]);
}

#[test]
fn embedding_weight_gradient_matches_finite_differences() {
    let dev = Cpu64::default();
    let mut emb = Embedding::<Const<5>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(3));
    let ids = Tensor::<(Dyn, Dyn), Cpu64>::from_sequences(&dev, &[vec![1.0, 4.0, 1.0], vec![3.0]])
        .unwrap();
    let (y, cache) = emb.forward_train(&ids);
    let r: Vec<f64> = (0..y.len()).map(|i| (i as f64 * 0.37).sin()).collect();
    let loss = |e: &Embedding<Const<5>, Const<2>, Cpu64>| -> f64 {
        e.forward(&ids).to_vec().iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    let rt = Tensor::<(Dyn, Dyn, Const<2>), Cpu64>::from_vec(&dev, y.dims(), r.clone()).unwrap();
    let (_, g) = emb.backward(&cache, &rt).unwrap();
    let mut numeric = Vec::new();
    let base = emb.weight.to_vec();
    for j in 0..base.len() {
        let at = |d: f64| {
            let mut w = base.clone();
            w[j] += d;
            let mut e = emb.clone();
            e.weight = Tensor::from_vec(&dev, &[5, 2], w).unwrap();
            loss(&e)
        };
        numeric.push((at(1e-6) - at(-1e-6)) / 2e-6);
    }
    assert_close("embedding d/dweight", &g.weight.to_vec(), &numeric, 1e-6, 1e-7);
}

#[test]
fn an_id_outside_the_table_gives_nan_not_another_row() {
    let dev = Cpu::default();
    let emb = Embedding::<Const<4>, Const<2>, Cpu>::init(&dev, &mut Rng::new(0));
    for bad in [4.0, -1.0, 1.5, f32::NAN] {
        let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![2.0, bad]).unwrap();
        let y = emb.forward(&ids).to_vec();
        assert!(y[..2].iter().all(|v| v.is_finite()), "the valid id's row");
        assert!(y[2..].iter().all(|v| v.is_nan()), "id {bad} gives NaN");
    }
}

#[test]
fn the_padding_row_is_zero_and_gets_no_gradient() {
    let dev = Cpu::default();
    let mut emb =
        Embedding::<Const<4>, Const<2>, Cpu>::init(&dev, &mut Rng::new(0)).with_padding_idx(3);
    assert_eq!(&emb.weight.to_vec()[6..], &[0.0, 0.0]);
    let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![3.0, 1.0]).unwrap();
    let (y, cache) = emb.forward_train(&ids);
    let (_, g) = emb.backward(&cache, &y.ones_like()).unwrap();
    assert_eq!(g.weight.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn training_on_an_id_outside_the_table_is_an_err_naming_it() {
    let dev = Cpu::default();
    let mut emb = Embedding::<Const<10>, Const<2>, Cpu>::init(&dev, &mut Rng::new(0));
    for (bad, shown) in
        [(10.0, "10"), (-1.0, "-1"), (2.5, "2.5"), (f32::NAN, "NaN"), (f32::INFINITY, "inf")]
    {
        let ids =
            Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[2, 3], vec![1.0, 2.0, 3.0, 4.0, bad, 5.0])
                .unwrap();
        let (y, cache) = emb.forward_train(&ids);
        let err = emb.backward(&cache, &y.ones_like()).map(|_| ()).expect_err("an Err").to_string();
        let want = format!(
            "token id {shown} at sample 1, position 1 is not an id of this table of 10 rows"
        );
        assert!(err.contains(&want), "{err}");
    }
    // padding past a sample's length is not an id and is not checked
    let ids = Tensor::<(Dyn, Dyn), Cpu>::from_padded(
        &dev,
        &[2, 2],
        vec![1.0, 2.0, 3.0, f32::NAN],
        &[2, 1],
    )
    .unwrap();
    let (y, cache) = emb.forward_train(&ids);
    assert!(emb.backward(&cache, &y.ones_like()).is_ok());
}

#[test]
fn inference_refuses_an_id_outside_the_table_naming_the_dataset_sample() {
    model! {
        pub struct Tagger {
            input: [seq],
            emb: Embedding<10, 4>,
            pool: MeanOverTime,
            fc: Linear<4, 3>,
        }
    }
    let dev = Cpu::default();
    let m = Tagger::<Cpu>::new(&dev, 0);
    let data = Dataset::sequences(vec![vec![1.0, 2.0], vec![3.0, 12.0]], vec![0, 1], 1).unwrap();
    let want = "Embedding: token id 12 at sample 1, position 1 is not an id of this table of 10 rows (ids are whole numbers in 0..10)";
    // In one batch and in batches of one: the sample is counted in the dataset.
    for batch in [8, 1] {
        let err = predict_classes(&m, &dev, &data, batch).unwrap_err();
        assert_eq!(err.to_string(), want);
        assert!(matches!(
            err,
            shapeflow::Error::InvalidId { sample: 1, position: 1, rows: 10, .. }
        ));
        let err = predict_proba(&m, &dev, &data, batch).unwrap_err().to_string();
        assert_eq!(err, want);
    }
    let err = evaluate_with(&m, &dev, &data, LossFn::CrossEntropy, &[]).unwrap_err().to_string();
    assert_eq!(err, want);
    // The model's own check (`model!` checks the layer reading its input); forward does not fail.
    let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![3.0, -1.0]).unwrap();
    let err = m.check_input(&ids).unwrap_err().to_string();
    assert!(err.contains("token id -1 at sample 0, position 1"), "{err}");
    assert!(m.forward(&ids).to_vec().iter().all(|v| v.is_nan()));
    let ok = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![3.0, 9.0]).unwrap();
    assert!(m.check_input(&ok).is_ok());
}
