//! Models as nodes of other models: a block declared once in a `model!` block, used at several
//! input sizes with separate weights, alone (`block: BasicBlock`) or in a sequence
//! (`layer1: (BasicBlock, BasicBlock)`, PyTorch's `nn.Sequential`, parameters `layer1.0.…`).

use shapeflow::prelude::*;

use crate::support::{check_layer_train, input};

model! {
    /// torchvision's `BasicBlock` without downsampling, for any height and width.
    pub struct Basic {
        input x: [3, _, _],
        conv1: Conv2d<3, 3, 3, padding = 1, bias = false>,
        bn1: BatchNorm2d<3>,
        relu1: Relu,
        conv2: Conv2d<3, 3, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<3>,
        sum: Add(x, bn2),
        relu2: Relu,
    }

    /// A stem, one block at 6 × 6, a pool, two blocks at 3 × 3 and a head.
    pub struct TinyResNet {
        input: [1, 6, 6],
        conv1: Conv2d<1, 3, 3, padding = 1, bias = false>,
        bn1: BatchNorm2d<3>,
        relu: Relu,
        layer1: (Basic,),
        pool: MaxPool2d<2>,
        layer2: (Basic, Basic),
        block: Basic,
        gap: GlobalAvgPool2d,
        fc: Linear<3, 2>,
    }
}

#[test]
fn nested_parameters_have_pytorch_names() {
    let m = TinyResNet::<Cpu64>::new(&Cpu64::default(), 0);
    let names = m.param_names();
    for want in
        ["layer1.0.conv1.weight", "layer1.0.bn2.bias", "layer2.1.conv2.weight", "block.bn1.weight"]
    {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("conv1.bias")), "bias-free convolutions: {names:?}");
    // Separate weights for each use.
    assert_ne!(m.layer2.0.conv1.weight.to_vec(), m.layer2.1.conv1.weight.to_vec());
    assert_eq!(m.num_params(), 27 + 6 + 4 * (2 * 81 + 12) + 8);
}

#[test]
fn a_model_of_nested_models_passes_a_gradient_check() {
    let mut m = TinyResNet::<Cpu64>::new(&Cpu64::default(), 5);
    check_layer_train(
        "TinyResNet",
        &mut m,
        &input::<(Dyn, Const<1>, Const<6>, Const<6>)>(&[3, 1, 6, 6], 11),
    );
}

#[test]
fn a_block_at_any_size_passes_a_gradient_check_at_two_sizes() {
    let mut b = Basic::<Cpu64>::new(&Cpu64::default(), 2);
    check_layer_train(
        "Basic at 6×6",
        &mut b,
        &input::<(Dyn, Const<3>, Const<6>, Const<6>)>(&[2, 3, 6, 6], 3),
    );
    let mut b = Basic::<Cpu64>::new(&Cpu64::default(), 4);
    check_layer_train(
        "Basic at 3×3",
        &mut b,
        &input::<(Dyn, Const<3>, Const<3>, Const<3>)>(&[2, 3, 3, 3], 5),
    );
}

#[test]
fn the_summary_shows_nested_models_as_nodes() {
    let m = TinyResNet::<Cpu64>::new(&Cpu64::default(), 0);
    let g = m.graph();
    let layer2 = g.nodes.iter().find(|n| n.name == "layer2").unwrap();
    assert_eq!(
        (layer2.op.as_str(), layer2.output.as_str()),
        ("(Basic, Basic)", "[batch, 3, 3, 3]")
    );
    assert_eq!(
        layer2.params.len(),
        12,
        "two blocks of two convolution weights and two batch norms"
    );
    assert_eq!(layer2.params[0].0, "layer2.0.conv1.weight");
    let text = m.summary().to_string();
    assert!(text.contains("(Basic, Basic)"), "{text}");
    println!("{text}");
}

#[test]
fn a_model_prints_its_architecture_with_debug() {
    let m = TinyResNet::<Cpu64>::new(&Cpu64::default(), 0);
    let text = format!("{m:?}");
    assert!(
        text.starts_with(
            "TinyResNet { conv1: Conv2d<1, 3, 3, padding = 1, bias = false>, bn1: BatchNorm2d<3>, relu: Relu, layer1: (Basic,)"
        ),
        "{text}"
    );
    assert!(text.ends_with("gap: GlobalAvgPool2d, fc: Linear<3, 2> }"), "{text}");
    assert!(format!("{m:#?}").contains("\n    layer2: (Basic, Basic),\n"));
}
