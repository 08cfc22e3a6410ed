//! PyTorch interop through safetensors, both ways, from committed fixtures (no Python at test
//! time). The scripts that made the fixtures are in tests/fixtures/interop/.

use shapeflow::checkpoint;
use shapeflow::data::{Dataset, Mnist};
use shapeflow::fit::{FitConfig, Verbosity, fit};
use shapeflow::prelude::*;

model! {
    /// The twin of tests/fixtures/interop/lenet.py's `LeNet`.
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 6, 5, padding = 2>,
        act1: Relu,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<6, 16, 5>,
        bn2: BatchNorm2d<16>,
        act2: Relu,
        pool2: MaxPool2d<2>,
        flat: Flatten,
        fc1: Linear<400, 120>,
        act3: Relu,
        fc2: Linear<120, 10>,
    }
}

model! {
    /// torchvision's `BasicBlock` (no downsampling), the twin of train_resnet_in_pytorch.py's.
    pub struct BasicBlock {
        input x: [16, _, _],
        conv1: Conv2d<16, 16, 3, padding = 1, bias = false>,
        bn1: BatchNorm2d<16>,
        relu1: Relu,
        conv2: Conv2d<16, 16, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<16>,
        sum: Add(x, bn2),
        relu2: Relu,
    }

    /// The twin of train_resnet_in_pytorch.py's `ResNet`: its stages are `nn.Sequential`s.
    pub struct ResNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 3, padding = 1, bias = false>,
        bn1: BatchNorm2d<16>,
        relu: Relu,
        layer1: (BasicBlock,),
        pool1: MaxPool2d<2>,
        layer2: (BasicBlock, BasicBlock),
        pool2: MaxPool2d<2>,
        layer3: (BasicBlock,),
        avgpool: GlobalAvgPool2d,
        fc: Linear<16, 10>,
    }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interop");

fn mnist() -> Mnist {
    let mut m = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).unwrap();
    m.train.normalize(0.1307, 0.3081);
    m.test.normalize(0.1307, 0.3081);
    m
}

fn first_16_logits(model: &LeNet<Cpu>, test: &Dataset) -> Vec<f32> {
    let batch = test.batches_in_order(16).next().unwrap();
    let x =
        batch.inputs_tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>(&Cpu::default()).unwrap();
    model.forward(&x).to_vec()
}

fn recorded(file: &str) -> Vec<f32> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().clone())
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn assert_logits_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), 160);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "logit {i}: shapeflow {g}, reference {w}");
    }
}

#[test]
fn a_lenet_trained_in_pytorch_gives_the_same_logits_in_shapeflow() {
    let mut model = LeNet::<Cpu>::new(&Cpu::default(), 0);
    checkpoint::load(&mut model, format!("{FIXTURES}/lenet_pytorch.safetensors")).unwrap();
    assert!(model.bn2.num_batches_tracked > 0, "batch-norm buffers come across too");
    let got = first_16_logits(&model, &mnist().test);
    assert_logits_close(&got, &recorded("lenet_pytorch_logits.json"));
}

#[test]
fn a_resnet_trained_in_pytorch_gives_the_same_logits_in_shapeflow() {
    let dev = Cpu::default();
    let mut model = ResNet::<Cpu>::new(&dev, 0);
    checkpoint::load(&mut model, format!("{FIXTURES}/resnet_pytorch.safetensors")).unwrap();
    assert!(model.layer2.1.bn2.num_batches_tracked > 0, "nested batch-norm buffers load");
    let text = std::fs::read_to_string(format!("{FIXTURES}/resnet_pytorch_logits.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let torch_names: Vec<&str> =
        v["state_dict_names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let mut ours = Vec::new();
    model.visit_state(&mut String::new(), &mut |name, _| ours.push(name.to_string()));
    assert_eq!(ours, torch_names, "the state dict lists torchvision's names in its order");
    let batch = mnist().test.batches_in_order(16).next().unwrap();
    let x = batch.inputs_tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>(&dev).unwrap();
    assert_logits_close(&model.forward(&x).to_vec(), &recorded("resnet_pytorch_logits.json"));
}

#[test]
fn the_model_exported_for_pytorch_still_matches_its_recorded_logits() {
    let mut model = LeNet::<Cpu>::new(&Cpu::default(), 0);
    checkpoint::load(&mut model, format!("{FIXTURES}/lenet_shapeflow.safetensors")).unwrap();
    assert_logits_close(
        &first_16_logits(&model, &mnist().test),
        &recorded("lenet_shapeflow_logits.json"),
    );
}

/// Trains LeNet briefly in shapeflow and writes lenet_shapeflow.safetensors and its logits for
/// check_shapeflow_in_pytorch.py. Run with `cargo test --release --test interop -- --ignored`.
#[test]
#[ignore = "regenerates a committed fixture"]
fn export_for_pytorch() {
    let data = mnist();
    let dev = Cpu::default();
    let mut model = LeNet::<Cpu>::new(&dev, 1);
    let mut opt = Adam::new(&model, AdamConfig::default());
    let (subset, _) = data.train.split(0.9);
    let cfg =
        FitConfig { epochs: 1, batch_size: 64, verbosity: Verbosity::Quiet, ..Default::default() };
    fit::<_, (Dyn, Const<1>, Const<28>, Const<28>), Const<10>, Cpu, _>(
        &mut model,
        &mut opt,
        &dev,
        &subset,
        &cfg,
        &mut [],
    )
    .unwrap();
    checkpoint::save(&model, format!("{FIXTURES}/lenet_shapeflow.safetensors")).unwrap();
    let logits = first_16_logits(&model, &data.test);
    let rows: Vec<Vec<f32>> = logits.chunks(10).map(|r| r.to_vec()).collect();
    let json = serde_json::json!({ "logits": rows });
    std::fs::write(
        format!("{FIXTURES}/lenet_shapeflow_logits.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
}
