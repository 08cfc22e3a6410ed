//! Models with size parameters: one `BasicBlock<const IN, const OUT, const STRIDE>` built at
//! every size its uses give, its projection shortcut present only where `#[when(...)]` holds,
//! and sequences of built-in layers named as PyTorch's `nn.Sequential` (`downsample.0.weight`).

use shapeflow::prelude::*;

use crate::support::{check_layer_train, input};

model! {
    /// torchvision's `BasicBlock`: a projection shortcut when the block changes size.
    pub struct Block<const IN: usize, const OUT: usize, const STRIDE: usize = 1> {
        input x: [IN, _, _],
        conv1: Conv2d<IN, OUT, 3, stride = STRIDE, padding = 1, bias = false>,
        bn1: BatchNorm2d<OUT>,
        relu1: Relu,
        conv2: Conv2d<OUT, OUT, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<OUT>,
        #[when(STRIDE != 1 || IN != OUT)]
        downsample: (Conv2d<IN, OUT, 1, stride = STRIDE, bias = false>, BatchNorm2d<OUT>)(x),
        sum: Add(bn2, downsample),
        relu2: Relu,
    }

    /// A bottleneck's widening: `OUT * 2` channels out.
    pub struct Widen<const C: usize> {
        input: [C],
        fc: Linear<C, C * 2>,
        act: Relu,
    }

    pub struct Net {
        input: [2, 8, 8],
        stem: Conv2d<2, 3, 3, padding = 1, bias = false>,
        layer1: (Block<3, 3>, Block<3, 3, 1>),
        layer2: (Block<3, 4, 2>, Block<4, 4>),
        gap: GlobalAvgPool2d,
        widen: Widen<4>,
        fc: Linear<8, 2>,
    }
}

#[test]
fn one_declaration_builds_every_size_with_pytorch_names() {
    let m = Net::<Cpu64>::new(&Cpu64::default(), 0);
    let mut names = m.param_names();
    m.visit_state(&mut String::new(), &mut |name, _| names.push(name.to_string()));
    for want in [
        "layer1.0.conv1.weight",
        "layer1.1.bn2.running_mean",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.weight",
        "layer2.0.downsample.1.running_var",
        "widen.fc.weight",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // The shortcut exists only where the block changes size.
    assert!(!names.iter().any(|n| n.starts_with("layer1.0.downsample")), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("layer2.1.downsample")), "{names:?}");
    assert_eq!(m.layer2.0.downsample_0.weight.dims(), &[4, 3, 1, 1]);
    assert_eq!(m.widen.fc.weight.dims(), &[8, 4]);
    // Block<3, 3> and Block<3, 3, 1> are one build (STRIDE defaults to 1).
    let _: &Block<Cpu64, 3, 3, 1> = &m.layer1.0;
    let _: &Block<Cpu64, 3, 3, 1> = &m.layer1.1;
}

#[test]
fn a_model_of_parameterised_blocks_passes_a_gradient_check() {
    let mut m = Net::<Cpu64>::new(&Cpu64::default(), 3);
    check_layer_train(
        "Net",
        &mut m,
        &input::<(Dyn, Const<2>, Const<8>, Const<8>)>(&[2, 2, 8, 8], 7),
    );
}

#[test]
fn a_build_is_a_type_users_can_name() {
    let dev = Cpu64::default();
    let block = Block::<Cpu64, 3, 4, 2>::new(&dev, 1);
    let x = input::<(Dyn, Const<3>, Const<8>, Const<8>)>(&[1, 3, 8, 8], 2);
    let y: Tensor<(Dyn, Const<4>, Const<4>, Const<4>), Cpu64> = block.forward(&x);
    assert_eq!(y.dims(), &[1, 4, 4, 4]);
}

#[test]
fn builds_are_named_with_their_sizes() {
    let m = Net::<Cpu64>::new(&Cpu64::default(), 0);
    let summary = m.summary().to_string();
    assert!(summary.contains("(Block<3, 4, 2>, Block<4, 4, 1>)"), "{summary}");
    assert!(summary.contains("Widen<4>"), "{summary}");
    let debug = format!("{:?}", m.layer2.0);
    assert!(debug.starts_with("Block<3, 4, 2> {"), "{debug}");
    assert!(debug.contains("downsample_0: Conv2d<3, 4, 1, stride = 2, bias = false>"), "{debug}");
}
