//! Tensor construction: checked lengths and sizes, seeded random fills, dim! for large sizes.

use shapeflow::Dim;
use shapeflow::prelude::*;

#[test]
fn from_vec_with_wrong_length_names_both_lengths() {
    let dev = Cpu::default();
    let e = Tensor::<(Dyn, Const<3>), Cpu>::from_vec(&dev, &[2, 3], vec![0.0; 5]).err().unwrap();
    assert_eq!(
        e.to_string(),
        "tensor of shape [batch, 3] with sizes [2, 3]: expected 6 elements, got 5"
    );
}

#[test]
fn sizes_must_match_static_dims_and_rank() {
    let dev = Cpu::default();
    let e = Tensor::<(Dyn, Const<3>), Cpu>::zeros(&dev, &[2, 4]).err().unwrap();
    assert!(e.to_string().contains("dimension 1 of shape [batch, 3] must be 3"), "{e}");
    let e = Tensor::<(Dyn, Const<3>), Cpu>::zeros(&dev, &[6]).err().unwrap();
    assert!(e.to_string().contains("rank-2"), "{e}");
}

#[test]
fn constructors_and_queries() {
    let dev = Cpu::default();
    let t = Tensor::<(Const<2>, Const<3>), Cpu>::full(&dev, &[2, 3], 1.5).unwrap();
    assert_eq!((t.len(), t.dims(), t.batch()), (6, &[2usize, 3][..], 2));
    assert_eq!(Tensor::<(Const<2>,), Cpu>::ones(&dev, &[2]).unwrap().to_vec(), vec![1.0, 1.0]);
    let s = Tensor::<(), Cpu>::full(&dev, &[], 4.0).unwrap();
    assert_eq!(s.to_vec(), vec![4.0]);
    let r4 =
        Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
    assert_eq!(r4.len(), 2 * 784);
}

#[test]
fn random_fills_are_seeded_and_have_the_right_moments() {
    let dev = Cpu64::default();
    let a = Tensor::<(Dyn,), Cpu64>::randn(&dev, &[20_000], 1.0, 2.0, 3).unwrap().to_vec();
    let b = Tensor::<(Dyn,), Cpu64>::randn(&dev, &[20_000], 1.0, 2.0, 3).unwrap().to_vec();
    assert_eq!(a, b);
    let mean = a.iter().sum::<f64>() / a.len() as f64;
    let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / a.len() as f64;
    // Standard error of the mean: 2/√20000 ≈ 0.014.
    assert!((mean - 1.0).abs() < 0.06 && (var - 4.0).abs() < 0.2, "mean {mean} var {var}");
    let u = Tensor::<(Dyn,), Cpu64>::rand_uniform(&dev, &[20_000], -1.0, 3.0, 4).unwrap().to_vec();
    assert!(u.iter().all(|v| (-1.0..3.0).contains(v)));
    let umean = u.iter().sum::<f64>() / u.len() as f64;
    assert!((umean - 1.0).abs() < 0.05, "{umean}");
}

#[test]
fn dim_macro_handles_sizes_beyond_typenum_aliases() {
    assert_eq!(<dim!(3136) as Dim>::SIZE, Some(3136));
    assert_eq!(<dim!(50176) as Dim>::SIZE, Some(50176));
    assert_eq!(<dim!(0) as Dim>::SIZE, Some(0));
    assert_eq!(<dim!(1) as Dim>::SIZE, Some(1));
    // dim! and typenum's aliases are the same types.
    assert_eq!(std::any::TypeId::of::<dim!(784)>(), std::any::TypeId::of::<Const<784>>());
    assert_eq!(<(Dyn, dim!(50176)) as Shape>::describe(), "[batch, 50176]");
}

#[test]
fn elementwise_ops_check_runtime_sizes() {
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 1, vec![1.0, 2.0]).unwrap();
    let b = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 2, vec![1.0; 4]).unwrap();
    let c = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 3, vec![1.0; 6]).unwrap();
    // a batch of 1 broadcasts, as in PyTorch; 2 against 3 does not
    assert_eq!(a.add(&b).unwrap().to_vec(), vec![2.0, 3.0, 2.0, 3.0]);
    assert!(b.add(&c).unwrap_err().to_string().contains("cannot broadcast [2, 2] with [3, 2]"));
    assert!(b.add_same(&a).is_err());
    assert_eq!(a.add(&a).unwrap().to_vec(), vec![2.0, 4.0]);
    assert_eq!(a.mul(&a).unwrap().to_vec(), vec![1.0, 4.0]);
    assert_eq!(a.sub(&a).unwrap().to_vec(), vec![0.0, 0.0]);
}

#[test]
fn sizes_whose_element_count_overflows_are_refused() {
    let dev = Cpu::default();
    let err = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1 << 63, 2], vec![]).unwrap_err();
    assert!(err.to_string().contains("more elements than a usize can count"), "{err}");
    assert!(Tensor::<(Dyn, Const<2>), Cpu>::zeros(&dev, &[usize::MAX, 2]).is_err());
}
