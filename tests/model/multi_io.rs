//! Models with several inputs and several outputs: one argument per input, a tuple of outputs,
//! `backward` from a tuple of output gradients, `backward_with_input` giving every input's.

use shapeflow::prelude::*;

use crate::support::{assert_close, input};

model! {
    /// An image and a vector of metadata in; a class score and a regression value out, the
    /// regression head also reading the shared features (a value both returned and read).
    pub struct TwoHeads {
        input image: [8],
        input meta: [3],
        fc: Linear<8, 5>,
        act: Tanh,
        side: Linear<3, 5>(meta),
        joined: Concat(act, side),
        cls: Linear<10, 4>,
        shared: Sigmoid(joined),
        reg: Linear<10, 1>(shared),
        output (cls, reg, act),
    }
}

type Image = (Dyn, Const<8>);
type Meta = (Dyn, Const<3>);

/// `Σ r₁·cls + Σ r₂·reg + Σ r₃·act`: a scalar of all three outputs.
fn objective(
    m: &TwoHeads<Cpu64>,
    a: &Tensor<Image, Cpu64>,
    b: &Tensor<Meta, Cpu64>,
    r: &[Vec<f64>; 3],
) -> f64 {
    let (cls, reg, act) = m.forward(a, b);
    let dot = |x: Vec<f64>, w: &[f64]| x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>();
    dot(cls.to_vec(), &r[0]) + dot(reg.to_vec(), &r[1]) + dot(act.to_vec(), &r[2])
}

fn t<S: Shape>(v: &[f64], sizes: &[usize]) -> Tensor<S, Cpu64> {
    Tensor::from_vec(&Cpu64::default(), sizes, v.to_vec()).unwrap()
}

#[test]
fn several_inputs_and_outputs_pass_a_gradient_check() {
    let dev = Cpu64::default();
    let mut m = TwoHeads::<Cpu64>::new(&dev, 4);
    let (a, b) = (input::<Image>(&[3, 8], 1), input::<Meta>(&[3, 3], 2));
    let r = [
        input::<(Dyn, Const<4>)>(&[3, 4], 3).to_vec(),
        vec![0.7, -1.1, 0.4],
        input::<(Dyn, Const<5>)>(&[3, 5], 5).to_vec(),
    ];
    let ((cls, reg, act), cache) = m.forward_train(&a, &b);
    assert_eq!((cls.dims(), reg.dims(), act.dims()), (&[3, 4][..], &[3, 1][..], &[3, 5][..]));
    let (d_cls, d_reg, d_act) = (
        t::<(Dyn, Const<4>)>(&r[0], &[3, 4]),
        t::<(Dyn, Const<1>)>(&r[1], &[3, 1]),
        t::<(Dyn, Const<5>)>(&r[2], &[3, 5]),
    );
    let ((da, db), grads) = m.backward_with_input(&cache, (&d_cls, &d_reg, &d_act)).unwrap();
    let params_only = m.backward(&cache, (&d_cls, &d_reg, &d_act)).unwrap();
    assert_eq!(params_only.side.weight.to_vec(), grads.side.weight.to_vec());
    let h = 1e-6;
    // Inputs.
    for (which, x, dx) in [("image", 0, da.to_vec()), ("meta", 1, db.to_vec())] {
        for i in 0..dx.len() {
            let at = |delta: f64| {
                let (mut a2, mut b2) = (a.to_vec(), b.to_vec());
                if x == 0 {
                    a2[i] += delta
                } else {
                    b2[i] += delta
                }
                objective(&m, &t(&a2, &[3, 8]), &t(&b2, &[3, 3]), &r)
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (numeric - dx[i]).abs() < 1e-6,
                "{which}[{i}]: numeric {numeric}, generated {}",
                dx[i]
            );
        }
    }
    // Parameters.
    let mut generated = Vec::new();
    grads.visit_params(&mut String::new(), &mut |name, _, s| {
        generated.push((name.to_string(), Cpu64::to_host(s)))
    });
    for (name, g) in generated {
        for i in 0..g.len() {
            let mut at = |delta: f64| {
                m.visit_params_mut(&mut String::new(), &mut |n, _, s| {
                    if n == name {
                        let mut v = Cpu64::to_host(s);
                        v[i] += delta;
                        *s = Cpu64::default().upload(&v);
                    }
                });
                let f = objective(&m, &a, &b, &r);
                m.visit_params_mut(&mut String::new(), &mut |n, _, s| {
                    if n == name {
                        let mut v = Cpu64::to_host(s);
                        v[i] -= delta;
                        *s = Cpu64::default().upload(&v);
                    }
                });
                f
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (numeric - g[i]).abs() < 1e-6,
                "{name}[{i}]: numeric {numeric}, generated {}",
                g[i]
            );
        }
    }
}

#[test]
fn the_graph_lists_every_input_and_output() {
    let m = TwoHeads::<Cpu64>::new(&Cpu64::default(), 0);
    let g = m.graph();
    let inputs: Vec<&str> = g.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(inputs, ["image", "meta"]);
    assert_eq!(g.outputs, ["cls", "reg", "act"]);
    let side = g.nodes.iter().find(|n| n.name == "side").unwrap();
    assert_eq!(side.inputs, ["meta"]);
    let x = input::<Image>(&[2, 8], 1);
    let (_, _, act) = m.forward(&x, &input::<Meta>(&[2, 3], 2));
    let by_hand: Vec<f64> = m.fc.forward(&x).to_vec().iter().map(|v| v.tanh()).collect();
    assert_close("act is fc's tanh", &act.to_vec(), &by_hand, 1e-15, 1e-15);
}
