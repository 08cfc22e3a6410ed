//! Graph models: a node names the values it reads (`sum: Add(x, fc2)`), values read twice get
//! their gradients summed, and the generated backward matches PyTorch and finite differences.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer, check_layer_train, input, nums};

model! {
    /// The model of tests/fixtures/pytorch_graph_reference.py.
    pub struct Gated {
        input x: [6],
        fc1: Linear<6, 6>,
        act: Tanh,
        fc2: Linear<6, 6>,
        sum: Add(x, fc2),
        gate: Sigmoid(x),
        prod: Mul(sum, gate),
        diff: Sub(prod, x),
        out: Linear<6, 3>,
    }
}

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/pytorch_graph_reference.json")).unwrap()
}

fn gated_from_fixture(f: &serde_json::Value) -> Gated<Cpu64> {
    let dev = Cpu64::default();
    let mut m = Gated::<Cpu64>::new(&dev, 0);
    m.visit_params_mut(&mut String::new(), &mut |name, _, s| {
        *s = dev.upload(&nums(&f["params"][name]));
    });
    m
}

#[test]
fn a_graph_model_matches_pytorch() {
    let f = fixture();
    let mut m = gated_from_fixture(&f);
    let x = Tensor::<(Dyn, Const<6>), Cpu64>::from_vec(&Cpu64::default(), &[4, 6], nums(&f["x"]))
        .unwrap();
    let r = Tensor::<(Dyn, Const<3>), Cpu64>::from_vec(&Cpu64::default(), &[4, 3], nums(&f["r"]))
        .unwrap();
    assert_close("y", &m.forward(&x).to_vec(), &nums(&f["y"]), 1e-12, 1e-12);
    let (y, cache) = m.forward_train(&x);
    assert_close("train y", &y.to_vec(), &nums(&f["y"]), 1e-12, 1e-12);
    let (dx, grads) = Layer::<(Dyn, Const<6>), Cpu64>::backward(&m, &cache, &r).unwrap();
    assert_close(
        "dx (read by fc1, sum, gate and diff)",
        &dx.to_vec(),
        &nums(&f["dx"]),
        1e-12,
        1e-12,
    );
    grads.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(name, &Cpu64::to_host(s), &nums(&f["grads"][name]), 1e-12, 1e-12);
    });
    let params_only = m.backward(&cache, &r).unwrap();
    assert_close(
        "backward (parameters only) fc1.weight",
        &params_only.fc1.weight.to_vec(),
        &nums(&f["grads"]["fc1.weight"]),
        1e-12,
        1e-12,
    );
}

#[test]
fn graph_model_gradient_check() {
    let mut m = Gated::<Cpu64>::new(&Cpu64::default(), 3);
    check_layer("Gated", &mut m, &input::<(Dyn, Const<6>)>(&[3, 6], 40));
}

model! {
    /// A ResNet basic block: two convolutions with batch norm, the input added back.
    pub struct ResBlock {
        input x: [4, 6, 6],
        c1: Conv2d<4, 4, 3, padding = 1>,
        b1: BatchNorm2d<4>,
        r1: Relu,
        c2: Conv2d<4, 4, 3, padding = 1>,
        b2: BatchNorm2d<4>,
        sum: Add(x, b2),
        out: Relu,
    }
}

model! {
    /// One input read by two branches whose difference is the output.
    pub struct TwoBranches {
        input x: [5],
        a: Linear<5, 4>(x),
        b: Linear<5, 4>(x),
        d: Sub(a, b),
    }
}

#[test]
fn a_residual_block_and_two_branches_pass_gradient_checks() {
    let dev = Cpu64::default();
    let mut block = ResBlock::<Cpu64>::new(&dev, 5);
    check_layer_train(
        "ResBlock",
        &mut block,
        &input::<(Dyn, Const<4>, Const<6>, Const<6>)>(&[2, 4, 6, 6], 41),
    );
    let mut two = TwoBranches::<Cpu64>::new(&dev, 6);
    check_layer("TwoBranches", &mut two, &input::<(Dyn, Const<5>)>(&[3, 5], 42));
}

#[test]
fn the_graph_names_what_each_node_reads() {
    let m = Gated::<Cpu>::new(&Cpu::default(), 0);
    let g = m.graph();
    assert_eq!(g.inputs[0].name, "x");
    assert_eq!(g.node("sum").unwrap().inputs, ["x", "fc2"]);
    assert_eq!(g.node("gate").unwrap().inputs, ["x"]);
    assert_eq!(g.node("prod").unwrap().op, "Mul");
    assert_eq!(g.node("diff").unwrap().output, "[batch, 6]");
    assert_eq!(g.outputs, ["out"]);
    assert_eq!(m.summary().rows[3].kind, "Add");
}

#[test]
fn a_residual_block_trains() {
    let dev = Cpu::default();
    let mut m = ResBlock::<Cpu>::new(&dev, 1);
    let x =
        Tensor::<(Dyn, Const<4>, Const<6>, Const<6>), Cpu>::randn(&dev, &[8, 4, 6, 6], 0.0, 1.0, 2)
            .unwrap();
    let t = Tensor::<(Dyn, Const<4>, Const<6>, Const<6>), Cpu>::rand_uniform(
        &dev,
        &[8, 4, 6, 6],
        0.0,
        1.0,
        3,
    )
    .unwrap();
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.01, ..Default::default() });
    let mut losses = Vec::new();
    for _ in 0..40 {
        let (y, cache) = m.forward_train(&x);
        let (loss, dy) = mse_loss(&y, &t).unwrap();
        let grads = m.backward(&cache, &dy).unwrap();
        opt.step(&mut m, &grads).unwrap();
        losses.push(loss);
    }
    assert!(losses[39] < 0.5 * losses[0], "loss {} -> {}", losses[0], losses[39]);
}

model! {
    /// The concatenation model of tests/fixtures/pytorch_graph_reference.py.
    pub struct Joined {
        input x: [6],
        a: Linear<6, 4>(x),
        b: Linear<6, 2>(x),
        cat: Concat(a, b),
        out: Linear<6, 3>,
    }
}

#[test]
fn a_concatenation_matches_pytorch() {
    let f = &fixture()["concat"];
    let dev = Cpu64::default();
    let mut m = Joined::<Cpu64>::new(&dev, 0);
    m.visit_params_mut(&mut String::new(), &mut |name, _, s| {
        *s = dev.upload(&nums(&f["params"][name]));
    });
    let x = Tensor::<(Dyn, Const<6>), Cpu64>::from_vec(&dev, &[4, 6], nums(&f["x"])).unwrap();
    let r = Tensor::<(Dyn, Const<3>), Cpu64>::from_vec(&dev, &[4, 3], nums(&f["r"])).unwrap();
    let (y, cache) = m.forward_train(&x);
    assert_close("concat y", &y.to_vec(), &nums(&f["y"]), 1e-12, 1e-12);
    let (dx, grads) = Layer::<(Dyn, Const<6>), Cpu64>::backward(&m, &cache, &r).unwrap();
    assert_close("concat dx", &dx.to_vec(), &nums(&f["dx"]), 1e-12, 1e-12);
    grads.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(name, &Cpu64::to_host(s), &nums(&f["grads"][name]), 1e-12, 1e-12);
    });
    assert_eq!(m.graph().node("cat").unwrap().output, "[batch, 6]");
}

model! {
    /// Inception-style: two convolution branches of different widths joined along channels.
    pub struct Branches {
        input x: [2, 5, 5],
        narrow: Conv2d<2, 3, 1>(x),
        wide: Conv2d<2, 4, 3, padding = 1>(x),
        cat: Concat(narrow, wide),
        act: Tanh,
    }
}

#[test]
fn a_channel_concatenation_passes_a_gradient_check() {
    let mut m = Branches::<Cpu64>::new(&Cpu64::default(), 7);
    assert_eq!(m.summary().rows[2].output, "[batch, 7, 5, 5]");
    check_layer(
        "Branches",
        &mut m,
        &input::<(Dyn, Const<2>, Const<5>, Const<5>)>(&[2, 2, 5, 5], 43),
    );
}

model! {
    /// One layer applied twice (tied weights): `l2` and `l3` reuse `l1`.
    pub struct Tied {
        input x: [5],
        l1: Linear<5, 5>,
        a1: Tanh,
        l2: l1(a1),
        a2: Tanh,
        l3: l1,
        out: Linear<5, 2>,
    }
}

#[test]
fn a_layer_used_three_times_has_one_set_of_weights_and_summed_gradients() {
    let dev = Cpu64::default();
    let mut m = Tied::<Cpu64>::new(&dev, 8);
    assert_eq!(m.param_names(), ["l1.weight", "l1.bias", "out.weight", "out.bias"]);
    check_layer("Tied", &mut m, &input::<(Dyn, Const<5>)>(&[3, 5], 44));
    let g = m.graph();
    assert_eq!(g.node("l2").unwrap().label, "Linear<5, 5> (shares `l1`)");
    assert_eq!(g.node("l2").unwrap().inputs, ["a1"]);
    assert!(g.node("l3").unwrap().params.is_empty());
    assert_eq!(m.summary().total_params(), m.num_params());
    // The tied gradient is the sum over the three uses: zeroing the output layer's weights
    // leaves no gradient anywhere upstream.
    m.out.weight = Tensor::zeros(&dev, &[2, 5]).unwrap();
    let x = input::<(Dyn, Const<5>)>(&[3, 5], 45);
    let (y, cache) = m.forward_train(&x);
    let grads = m.backward(&cache, &y).unwrap();
    assert!(grads.l1.weight.to_vec().iter().all(|v| *v == 0.0));
}

model! {
    /// A ResNet stem: a convolution without bias before batch norm, a head without one.
    pub struct NoBias {
        input x: [2, 6, 6],
        c1: Conv2d<2, 4, 3, padding = 1, bias = false>,
        b1: BatchNorm2d<4>,
        r1: Relu,
        pool: GlobalAvgPool2d,
        fc: Linear<4, 3, bias = false>,
    }
}

model! {
    /// A 1-D convolution without bias.
    pub struct NoBias1d {
        input x: [3, 9],
        c: Conv1d<3, 2, 3, bias = false>,
        act: Tanh,
    }
}

#[test]
fn layers_without_bias_have_no_bias_parameter_and_pass_gradient_checks() {
    let dev = Cpu64::default();
    let mut m = NoBias::<Cpu64>::new(&dev, 9);
    assert_eq!(m.param_names(), ["c1.weight", "b1.weight", "b1.bias", "fc.weight"]);
    let mut state = Vec::new();
    m.visit_state(&mut String::new(), &mut |n, _| state.push(n.to_string()));
    assert!(!state.iter().any(|n| n == "c1.bias" || n == "fc.bias"), "{state:?}");
    let g = m.graph();
    assert_eq!(g.node("c1").unwrap().attr("bias"), Some(&shapeflow::graph::Attr::Flag(false)));
    assert_eq!(m.summary().rows[0].kind, "Conv2d<2, 4, 3, padding = 1, bias = false>");
    assert_eq!(m.summary().rows[4].kind, "Linear<4, 3, bias = false>");
    check_layer_train(
        "NoBias",
        &mut m,
        &input::<(Dyn, Const<2>, Const<6>, Const<6>)>(&[3, 2, 6, 6], 46),
    );
    let mut m1 = NoBias1d::<Cpu64>::new(&dev, 10);
    assert_eq!(m1.param_names(), ["c.weight"]);
    check_layer("NoBias1d", &mut m1, &input::<(Dyn, Const<3>, Const<9>)>(&[2, 3, 9], 47));
}

/// A checkpoint of a model without biases has no bias tensors, and one with them does not load.
#[test]
fn checkpoints_of_layers_without_bias_round_trip_and_reject_a_bias() {
    let dev = Cpu64::default();
    let dir = std::env::temp_dir().join(format!("shapeflow-nobias-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nobias.safetensors");
    let m = NoBias1d::<Cpu64>::new(&dev, 11);
    shapeflow::checkpoint::save(&m, &path).unwrap();
    let (entries, _) = shapeflow::checkpoint::read_entries(&path).unwrap();
    let names: Vec<&String> = entries.keys().collect();
    assert_eq!(names, ["c.weight"]);
    let mut back = NoBias1d::<Cpu64>::new(&dev, 12);
    shapeflow::checkpoint::load(&mut back, &path).unwrap();
    assert_eq!(back.c.weight.to_vec(), m.c.weight.to_vec());
    model! {
        struct WithBias1d {
            input x: [3, 9],
            c: Conv1d<3, 2, 3>,
            act: Tanh,
        }
    }
    shapeflow::checkpoint::save(&WithBias1d::<Cpu64>::new(&dev, 13), &path).unwrap();
    let err = shapeflow::checkpoint::load(&mut back, &path).unwrap_err();
    assert!(err.to_string().contains("c.bias"), "{err}");
}

model! {
    /// A gated linear unit: one layer's output split in two halves, one gating the other (the
    /// model of tests/fixtures/pytorch_graph_reference.py, key "narrow").
    pub struct Glu {
        input x: [4, 3],
        fc: Conv1d<4, 8, 1>,
        lo: Narrow<0, 4>(fc),
        hi: Narrow<4, 4>(fc),
        gate: Sigmoid(hi),
        glu: Mul(lo, gate),
    }
}

#[test]
fn narrowing_matches_pytorch_and_passes_a_gradient_check() {
    let f = &fixture()["narrow"];
    let dev = Cpu64::default();
    let mut m = Glu::<Cpu64>::new(&dev, 0);
    m.visit_params_mut(&mut String::new(), &mut |name, _, s| {
        *s = dev.upload(&nums(&f["params"][name]));
    });
    type X = (Dyn, Const<4>, Const<3>);
    let x = Tensor::<X, Cpu64>::from_vec(&dev, &[2, 4, 3], nums(&f["x"])).unwrap();
    let r = Tensor::<X, Cpu64>::from_vec(&dev, &[2, 4, 3], nums(&f["r"])).unwrap();
    let (y, cache) = m.forward_train(&x);
    assert_close("glu y", &y.to_vec(), &nums(&f["y"]), 1e-12, 1e-12);
    let (dx, grads) = Layer::<X, Cpu64>::backward(&m, &cache, &r).unwrap();
    assert_close("glu dx", &dx.to_vec(), &nums(&f["dx"]), 1e-12, 1e-12);
    grads.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(name, &Cpu64::to_host(s), &nums(&f["grads"][name]), 1e-12, 1e-12);
    });
    assert_eq!(m.graph().node("hi").unwrap().attr("start"), Some(&shapeflow::graph::Attr::Int(4)));
    check_layer("Glu", &mut m, &input::<X>(&[3, 4, 3], 48));
    let mut flat = Narrow::<Const<2>, Const<3>>::default();
    check_layer("Narrow [6]", &mut flat, &input::<(Dyn, Const<6>)>(&[2, 6], 49));
}

#[test]
fn a_graph_models_summary_says_what_each_layer_reads() {
    let m = Gated::<Cpu64>::new(&Cpu64::default(), 0);
    let text = m.summary().to_string();
    let header = text.lines().nth(2).unwrap();
    assert!(header.ends_with("Params   Reads"), "{text}");
    let sum = text.lines().find(|l| l.starts_with("sum ")).unwrap();
    assert!(sum.ends_with("0   x, fc2"), "{text}");
    let fc1 = text.lines().find(|l| l.starts_with("fc1 ")).unwrap();
    assert!(fc1.ends_with("   x"), "{text}");
}
