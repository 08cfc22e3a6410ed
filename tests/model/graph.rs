//! `model.graph()`: every node with its kind, attributes (defaults included), inputs, output
//! shape and parameters; the summary is built from it.

use shapeflow::graph::Attr;
use shapeflow::prelude::*;

model! {
    pub struct Described {
        input: [1, 12, 12],
        conv: Conv2d<1, 4, 3, padding = 1>,
        norm: BatchNorm2d<4>,
        act: LeakyRelu<0.2>,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<144, 16>,
        ln: LayerNorm<16, elementwise_affine = false>,
        drop: Dropout<0.25>,
        out: Linear<16, 3>,
    }
}

#[test]
fn graph_lists_nodes_attributes_inputs_shapes_and_parameters() {
    let m = Described::<Cpu>::new(&Cpu::default(), 0);
    let g = m.graph();
    assert_eq!(g.model, "Described");
    assert_eq!(g.inputs[0].name, "input");
    assert_eq!(g.inputs[0].shape, "[batch, 1, 12, 12]");
    let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["conv", "norm", "act", "pool", "flat", "fc", "ln", "drop", "out"]);
    let conv = g.node("conv").unwrap();
    assert_eq!((conv.op.as_str(), conv.label.as_str()), ("Conv2d", "Conv2d<1, 4, 3, padding = 1>"));
    assert_eq!(conv.attr("stride"), Some(&Attr::Int(1)));
    assert_eq!(conv.attr("padding"), Some(&Attr::Int(1)));
    assert_eq!(conv.attr("dilation"), Some(&Attr::Int(1)));
    assert_eq!(conv.inputs, ["input"]);
    assert_eq!(conv.output, "[batch, 4, 12, 12]");
    assert_eq!(
        conv.params,
        [("conv.weight".to_string(), vec![4, 1, 3, 3]), ("conv.bias".to_string(), vec![4])]
    );
    assert_eq!(g.node("act").unwrap().attr("negative_slope"), Some(&Attr::Real(0.2)));
    assert_eq!(g.node("pool").unwrap().attr("stride"), Some(&Attr::Int(2)));
    assert_eq!(g.node("pool").unwrap().inputs, ["act"]);
    assert_eq!(g.node("flat").unwrap().output, "[batch, 144]");
    let ln = g.node("ln").unwrap();
    assert_eq!(ln.attr("elementwise_affine"), Some(&Attr::Flag(false)));
    assert_eq!(ln.attr("eps"), Some(&Attr::Real(1e-5)));
    assert!(ln.params.is_empty());
    assert_eq!(g.node("drop").unwrap().attr("p"), Some(&Attr::Real(0.25)));
    assert_eq!(g.outputs, ["out"]);
    let total: usize = g.nodes.iter().map(|n| n.num_params()).sum();
    assert_eq!(total, m.num_params());
}

#[test]
fn summary_is_the_graph_as_a_table() {
    let m = Described::<Cpu>::new(&Cpu::default(), 0);
    let (s, g) = (m.summary(), m.graph());
    assert_eq!(s, g.summary());
    assert_eq!(s.rows[6].kind, "LayerNorm<16, elementwise_affine = false>");
    assert_eq!(s.total_params(), m.num_params());
}

#[test]
fn a_layer_norm_model_trains_and_its_parameters_have_pytorch_names() {
    model! {
        struct Normed {
            input: [8],
            fc1: Linear<8, 32>,
            ln: LayerNorm<32>,
            act: Relu,
            fc2: Linear<32, 2>,
        }
    }
    let dev = Cpu64::default();
    let mut m = Normed::<Cpu64>::new(&dev, 3);
    assert_eq!(
        m.param_names(),
        ["fc1.weight", "fc1.bias", "ln.weight", "ln.bias", "fc2.weight", "fc2.bias"]
    );
    let xs: Vec<f64> = (0..64 * 8).map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0).collect();
    let labels: Vec<usize> =
        (0..64).map(|r| usize::from(xs[r * 8] + xs[r * 8 + 3] > 0.0)).collect();
    let x = Tensor::<(Dyn, Const<8>), Cpu64>::from_batch(&dev, 64, xs).unwrap();
    let mut opt = Rmsprop::new(&m, RmspropConfig { lr: 0.01, ..Default::default() });
    let mut losses = Vec::new();
    for _ in 0..60 {
        let (y, cache) = m.forward_train(&x);
        let (loss, dy) = cross_entropy(&y, &labels).unwrap();
        let grads = m.backward(&cache, &dy).unwrap();
        opt.step(&mut m, &grads).unwrap();
        losses.push(loss);
    }
    assert!(losses[59] < 0.5 * losses[0], "loss {} -> {}", losses[0], losses[59]);
}
