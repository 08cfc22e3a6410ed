//! RmsNorm: PyTorch values and gradients (2-D and 3-D inputs), gradient checks.

use shapeflow::prelude::*;

use crate::support::{assert_close, attention_fixture, check_layer, input, nums};

fn case<S: Shape>(i: usize)
where
    RmsNorm<Const<6>, Cpu64>: Layer<S, Cpu64, Output = S>,
{
    let f = attention_fixture();
    let c = &f["rms_norm"][i];
    let dev = Cpu64::default();
    let shape: Vec<usize> = nums(&c["shape"]).into_iter().map(|v| v as usize).collect();
    let mut norm = RmsNorm::<Const<6>, Cpu64>::init(&dev, &mut Rng::new(0))
        .with_eps(c["eps"].as_f64().unwrap());
    norm.weight = Tensor::from_vec(&dev, &[6], nums(&c["weight"])).unwrap();
    let x = Tensor::<S, Cpu64>::from_vec(&dev, &shape, nums(&c["x"])).unwrap();
    let (y, cache) = Layer::<S, Cpu64>::forward_train(&mut norm, &x);
    assert_close(&format!("rms_norm {i} y"), &y.to_vec(), &nums(&c["y"]), 1e-12, 1e-12);
    let r = Tensor::<S, Cpu64>::from_vec(&dev, &shape, nums(&c["r"])).unwrap();
    let (dx, g) = Layer::<S, Cpu64>::backward(&norm, &cache, &r).unwrap();
    assert_close(&format!("rms_norm {i} dx"), &dx.to_vec(), &nums(&c["dx"]), 1e-12, 1e-12);
    assert_close(
        &format!("rms_norm {i} dweight"),
        &g.weight.to_vec(),
        &nums(&c["dweight"]),
        1e-12,
        1e-12,
    );
}

#[test]
fn rms_norm_matches_pytorch() {
    case::<(Dyn, Const<6>)>(0);
    case::<(Dyn, Const<3>, Const<6>)>(1);
}

#[test]
fn rms_norm_gradient_checks() {
    let dev = Cpu64::default();
    let mut norm = RmsNorm::<Const<6>, Cpu64>::init(&dev, &mut Rng::new(0));
    norm.weight = Tensor::from_vec(&dev, &[6], vec![0.5, 2.0, -1.0, 1.5, 0.7, 1.1]).unwrap();
    check_layer("RmsNorm [n, 6]", &mut norm, &input::<(Dyn, Const<6>)>(&[4, 6], 30));
    let mut rng = Rng::new(3);
    let seqs: Vec<Vec<f64>> =
        [3usize, 1].iter().map(|&n| (0..n * 6).map(|_| rng.normal()).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<6>), Cpu64>::from_sequences(&dev, &seqs).unwrap();
    let (y, _) = Layer::<(Dyn, Dyn, Const<6>), Cpu64>::forward_train(&mut norm, &x);
    assert_eq!(y.lengths().map(|l| l.as_slice().to_vec()), Some(vec![3, 1]));
    check_layer("RmsNorm [n, seq, 6]", &mut norm, &x);
}
