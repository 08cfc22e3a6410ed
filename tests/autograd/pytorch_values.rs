//! Values and gradients against PyTorch: each case of tests/fixtures/pytorch_ops.py run here
//! on the same inputs, its output and the gradients of `sum(out · w)` compared.

use shapeflow::autograd::Gradients;
use shapeflow::ops::rules::Axes3;
use shapeflow::prelude::*;

use crate::check::close;

type C<const N: usize> = Const<N>;

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/pytorch_ops.json")).expect("fixture parses")
}

fn nums(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn sizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array().expect("array").iter().map(|x| x.as_u64().expect("size") as usize).collect()
}

/// Input `i` of a case, as a leaf.
fn input<S: Shape>(case: &serde_json::Value, i: usize) -> Tensor<S, Cpu64> {
    let inp = &case["inputs"][i];
    Tensor::from_vec(&Cpu64::default(), &sizes(&inp["shape"]), nums(&inp["data"]))
        .expect("fixture sizes")
        .requires_grad()
}

/// Compares the output and runs the backward of `sum(out · w)`.
fn output<O: Shape>(
    name: &str,
    case: &serde_json::Value,
    y: Result<Tensor<O, Cpu64>>,
) -> Gradients<Cpu64> {
    let y = y.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(y.dims(), &sizes(&case["output"]["shape"])[..], "{name}: output sizes");
    close(&format!("{name}: value"), &y.to_vec(), &nums(&case["output"]["data"]));
    let w = y.from_vec_like::<O>(y.dims(), nums(&case["weight"])).expect("weight sizes");
    y.mul_same(&w).expect("sizes").sum_all().backward().unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn grad<S: Shape>(
    name: &str,
    case: &serde_json::Value,
    g: &Gradients<Cpu64>,
    x: &Tensor<S, Cpu64>,
    i: usize,
) {
    let got = g.get(x).map(|t| t.to_vec()).unwrap_or_else(|| vec![0.0; x.len()]);
    close(&format!("{name}: grad of input {i}"), &got, &nums(&case["grads"][i]));
}

macro_rules! cases {
    ($all:ident; $( $name:literal: [$($x:ident: $s:ty),+] => $body:expr; )*) => {{
        let mut seen = 0;
        $(
            let case = &$all[$name];
            assert!(case.is_object(), "fixture has case {}", $name);
            let mut i = 0;
            $( let $x = input::<$s>(case, i); i += 1; )+
            let _ = i;
            #[allow(clippy::redundant_closure_call)]
            let g = output($name, case, (|| $body)());
            let mut i = 0;
            $( grad($name, case, &g, &$x, i); i += 1; )+
            let _ = i;
            seen += 1;
        )*
        seen
    }};
}

#[test]
fn every_case_matches_pytorch() {
    let all = fixture();
    let zero = Tensor::<(C<1>,), Cpu64>::zeros(&Cpu64::default(), &[1]).unwrap();
    let seen: usize = cases! { all;
        "neg": [x: (C<2>, C<3>)] => Ok(-&x);
        "abs": [x: (C<2>, C<3>)] => Ok(x.abs());
        "exp": [x: (C<2>, C<3>)] => Ok(x.exp());
        "log": [x: (C<2>, C<3>)] => Ok(x.log());
        "log1p": [x: (C<2>, C<3>)] => Ok(x.log1p());
        "sqrt": [x: (C<2>, C<3>)] => Ok(x.sqrt());
        "rsqrt": [x: (C<2>, C<3>)] => Ok(x.rsqrt());
        "reciprocal": [x: (C<2>, C<3>)] => Ok(x.recip());
        "square": [x: (C<2>, C<3>)] => Ok(x.square());
        "pow_scalar": [x: (C<2>, C<3>)] => Ok(x.powf(2.5));
        "sin": [x: (C<2>, C<3>)] => Ok(x.sin());
        "cos": [x: (C<2>, C<3>)] => Ok(x.cos());
        "tanh": [x: (C<2>, C<3>)] => Ok(x.tanh());
        "sigmoid": [x: (C<2>, C<3>)] => Ok(x.sigmoid());
        "relu": [x: (C<2>, C<3>)] => Ok(x.relu());
        "gelu": [x: (C<2>, C<3>)] => Ok(x.gelu());
        "silu": [x: (C<2>, C<3>)] => Ok(x.silu());
        "softplus": [x: (C<2>, C<3>)] => Ok(x.softplus());
        "clamp": [x: (C<2>, C<3>)] => Ok(x.clamp(-0.5, 0.7));
        "add_broadcast": [a: (C<2>, C<3>, C<4>), b: (C<3>, C<1>)] => &a + &b;
        "sub_broadcast": [a: (C<2>, C<3>, C<4>), b: (C<4>,)] => &a - &b;
        "mul_broadcast": [a: (C<2>, C<1>, C<4>), b: (C<3>, C<1>)] => &a * &b;
        "div_broadcast": [a: (C<2>, C<3>, C<4>), b: (C<1>, C<4>)] => &a / &b;
        "maximum": [a: (C<3>, C<4>), b: (C<4>,)] => a.maximum(&b);
        "minimum": [a: (C<3>, C<4>), b: (C<3>, C<1>)] => a.minimum(&b);
        "pow": [a: (C<3>, C<4>), b: (C<4>,)] => a.pow(&b);
        "where": [a: (C<3>, C<4>), b: (C<4>,)] => a.where_(&a.gt(&zero).unwrap(), &b);
        "sum_axis1": [x: (C<2>, C<3>, C<4>)] => Ok(x.sum::<1>());
        "mean_axis2_keepdim": [x: (C<2>, C<3>, C<4>)] => Ok(x.mean_keepdim::<2>());
        "var_axis0": [x: (C<3>, C<4>)] => x.var::<0>();
        "max_axis1": [x: (C<3>, C<4>)] => Ok(x.max::<1>());
        "min_axis0": [x: (C<3>, C<4>)] => Ok(x.min::<0>());
        "logsumexp_axis1": [x: (C<3>, C<4>)] => x.logsumexp::<1>();
        "norm_axis1": [x: (C<3>, C<4>)] => Ok(x.norm::<1>(2.0));
        "softmax_axis1": [x: (C<3>, C<4>)] => x.softmax::<1>();
        "log_softmax_axis0": [x: (C<3>, C<4>)] => x.log_softmax::<0>();
        "sum_all": [x: (C<3>, C<4>)] => Ok(x.sum_all());
        "permute_021": [x: (C<2>, C<3>, C<4>)] => Ok(x.permute::<Axes3<0, 2, 1>>());
        "transpose_01": [x: (C<2>, C<3>, C<4>)] => Ok(x.transpose::<0, 1>());
        "narrow_axis1": [x: (C<2>, C<5>)] => x.narrow::<1, 3>(1);
        "cat_axis1": [a: (C<2>, C<2>), b: (C<2>, C<3>)] => a.cat::<1, C<5>, _>(&b);
        "expand": [x: (C<3>, C<1>)] => x.expand::<(C<2>, C<3>, C<4>)>(&[2, 3, 4]);
        "index_select_axis0": [x: (C<4>, C<3>)] => x.index_select::<0>(&[3, 0, 3]);
        "gather_axis1": [x: (C<3>, C<4>)] => {
            let idx = Tensor::<(C<3>, C<2>), Cpu64>::from_vec(&Cpu64::default(), &[3, 2], vec![3.0, 0.0, 1.0, 1.0, 2.0, 0.0]).unwrap();
            x.gather::<1, _>(&idx)
        };
        "matmul_2d": [a: (C<3>, C<4>), b: (C<4>, C<2>)] => a.matmul(&b);
        "matmul_batched": [a: (C<2>, C<3>, C<4>), b: (C<1>, C<4>, C<5>)] => a.matmul(&b);
        "outer": [a: (C<3>,), b: (C<4>,)] => Ok(a.outer(&b));
        "sign": [x: (C<2>, C<3>)] => Ok(x.sign());
        "scalar_forms": [x: (C<2>, C<3>)] => Ok(x
            .add_scalar(1.5)
            .sub_scalar(0.25)
            .mul_scalar(-2.0)
            .div_scalar(3.0)
            .rsub_scalar(1.0)
            .rdiv_scalar(2.0)
            .rpow_scalar(2.0));
        "comparisons": [a: (C<3>, C<4>), b: (C<4>,)] => {
            let codes = [(a.eq(&b)?, 1.0), (a.ne(&b)?, 2.0), (a.lt(&b)?, 3.0), (a.le(&b)?, 5.0), (a.gt(&b)?, 7.0), (a.ge(&b)?, 11.0)];
            let mut sum = a.zeros_like();
            for (m, k) in codes {
                sum = (&sum + &m.mul_scalar(k))?;
            }
            &a * &sum
        };
        "masked_fill": [x: (C<3>, C<4>)] => x.masked_fill(&x.gt(&zero)?, 2.0);
        "mean_all": [x: (C<3>, C<4>)] => Ok(x.mean_all());
        "max_all": [x: (C<3>, C<4>)] => Ok(x.max_all());
        "min_all": [x: (C<3>, C<4>)] => Ok(x.min_all());
        "argmax_axis1": [x: (C<3>, C<4>)] => x.mul(&x.argmax_keepdim::<1>());
        "argmin_axis0": [x: (C<3>, C<4>)] => x.mul(&x.argmin_keepdim::<0>());
        "var_correction0_axis1": [x: (C<3>, C<4>)] => x.var_correction::<1>(0);
        "norm3_axis0": [x: (C<3>, C<4>)] => Ok(x.norm::<0>(3.0));
        "view": [x: (C<2>, C<6>)] => x.view::<(C<3>, C<4>)>();
        "flatten": [x: (C<2>, C<3>, C<4>)] => Ok(x.flatten());
        "unsqueeze_squeeze": [x: (C<2>, C<3>)] => &x.unsqueeze::<1>().mul_scalar(2.0) + &x.unsqueeze::<1>().squeeze::<1>()?.unsqueeze::<1>();
        "stack_axis1": [a: (C<2>, C<3>), b: (C<2>, C<3>)] => Tensor::stack::<1>(&[&a, &b.exp()]);
        "split_chunk": [x: (C<2>, C<5>)] => &x.split::<1>(2)?[1] * &x.chunk::<1>(2)?[0].narrow_dyn::<1>(0, 2)?;
        "repeat_axis0": [x: (C<2>, C<3>)] => x.repeat::<0>(3);
        "scatter_add_axis1": [x: (C<3>, C<4>), s: (C<3>, C<2>)] => {
            let idx = Tensor::<(C<3>, C<2>), Cpu64>::from_vec(&Cpu64::default(), &[3, 2], vec![3.0, 3.0, 0.0, 1.0, 2.0, 0.0]).unwrap();
            x.scatter_add::<1, _>(&idx, &s)
        };
        "matmul_4d": [a: (C<2>, C<2>, C<3>, C<4>), b: (C<2>, C<1>, C<4>, C<3>)] => a.matmul(&b);
    };
    let dev = Cpu64::default();
    let created: [(&str, Tensor<(Dyn,), Cpu64>); 3] = [
        ("arange", Tensor::arange(&dev, 0.0, 2.0, 0.5).unwrap()),
        ("linspace", Tensor::linspace(&dev, 0.0, 1.0, 5).unwrap()),
        ("eye", Tensor::<(C<3>, C<4>), Cpu64>::eye(&dev, &[3, 4]).unwrap().flatten()),
    ];
    for (name, t) in &created {
        close(name, &t.to_vec(), &nums(&all[*name]["output"]["data"]));
    }
    let seen = seen + created.len();
    assert_eq!(seen, all.as_object().expect("object").len(), "every fixture case is checked");
}
