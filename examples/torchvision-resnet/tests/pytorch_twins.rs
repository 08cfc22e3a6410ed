//! The `model!` ResNets against their PyTorch twins (tests/fixtures/resnet_twins.py, which
//! builds torchvision's modules by hand): this test regenerates the twins' `state_dict`s bit for
//! bit from the formula both sides share, checks them against the sums PyTorch recorded, writes
//! them as a safetensors file under PyTorch's names (as `safetensors.torch.save_file` would),
//! loads that file by name and compares the logits of two 3×224×224 images.

use std::path::{Path, PathBuf};

use shapeflow::checkpoint;
use shapeflow::prelude::*;
use torchvision_resnet::{ResNet18, ResNet50};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fnv1a(text: &str) -> u64 {
    text.bytes()
        .fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3))
}

/// `n` splitmix64 draws seeded by the name's hash, in [-1, 1) with 24 bits (as the script).
fn uniform(name: &str, n: usize) -> Vec<f32> {
    let seed = fnv1a(name);
    (1..=n as u64)
        .map(|i| {
            let mut z = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f64 / f64::from(1u32 << 23) - 1.0) as f32
        })
        .collect()
}

/// A tensor's values by its role, as the script's `value`.
fn value(name: &str, shape: &[usize]) -> Vec<f32> {
    let u = uniform(name, shape.iter().product());
    let leaf = name.rsplit('.').next().unwrap_or(name);
    match leaf {
        "running_var" => u.iter().map(|&v| 1.0 + 0.25 * (v + 1.0)).collect(),
        "running_mean" | "bias" => u.iter().map(|&v| 0.1 * v).collect(),
        "weight" if shape.len() == 1 => u.iter().map(|&v| 1.0 + 0.1 * v).collect(),
        _ => {
            let fan_in: usize = shape[1..].iter().product();
            let scale = (3.0 / fan_in as f64).sqrt() as f32;
            u.iter().map(|&v| scale * v).collect()
        }
    }
}

/// Writes `tensors` as safetensors with no metadata, as PyTorch's `save_file` does.
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, &str, Vec<u8>)]) {
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for (name, shape, dtype, data) in tensors {
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + data.len()]}),
        );
        offset += data.len();
    }
    let mut head = serde_json::to_vec(&header).unwrap();
    while !head.len().is_multiple_of(8) {
        head.push(b' ');
    }
    let mut bytes = (head.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&head);
    tensors.iter().for_each(|(_, _, _, data)| bytes.extend_from_slice(data));
    std::fs::write(path, bytes).unwrap();
}

/// The twin's `state_dict` file and its recorded logits.
fn twin(model: &str) -> (PathBuf, Vec<String>, Vec<f32>) {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{model}.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut names = Vec::new();
    let mut tensors = Vec::new();
    for t in v["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        let shape: Vec<usize> =
            t["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let (dtype, data) = if name.ends_with("num_batches_tracked") {
            ("I64", 1i64.to_le_bytes().to_vec())
        } else {
            let values = value(&name, &shape);
            let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
            let want = t["sum"].as_f64().unwrap();
            assert!(
                (sum - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{name}: sum {sum} != PyTorch's {want}"
            );
            ("F32", values.iter().flat_map(|v| v.to_le_bytes()).collect())
        };
        names.push(name.clone());
        tensors.push((name, shape, dtype, data));
    }
    let path =
        std::env::temp_dir().join(format!("shapeflow-{model}-{}.safetensors", std::process::id()));
    write_safetensors(&path, &tensors);
    let logits = v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32))
        .collect();
    (path, names, logits)
}

/// Loads the twin's file into `model`, checks the names and order, and compares the logits.
fn check_against_twin<M>(
    name: &str,
    model: &mut M,
    forward: impl Fn(&M, &Tensor<(Dyn, Const<3>, Const<224>, Const<224>), Cpu>) -> Vec<f32>,
) where
    M: Module<Cpu>,
{
    let (path, names, want) = twin(name);
    let loaded = checkpoint::load(model, &path);
    std::fs::remove_file(&path).ok();
    loaded.unwrap();
    let mut ours = Vec::new();
    model.visit_state(&mut String::new(), &mut |n, _| ours.push(n.to_string()));
    assert_eq!(ours, names, "{name}: the state dict lists torchvision's names in its order");
    let dev = Cpu::default();
    let x = Tensor::from_vec(&dev, &[2, 3, 224, 224], uniform("input", 2 * 3 * 224 * 224)).unwrap();
    let got = forward(model, &x);
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!(
        "{name}: largest logit {scale:.4}, largest difference from PyTorch {worst:.3e} ({:.2e} relative)",
        worst / scale
    );
    assert!(
        worst <= 1e-5 * scale,
        "{name}: logits differ from PyTorch's by {worst} (largest logit {scale})"
    );
}

#[test]
fn resnet18_loads_its_pytorch_twins_state_dict_and_gives_its_logits() {
    let mut model = ResNet18::<Cpu>::new(&Cpu::default(), 0);
    assert_eq!(model.num_params(), 11_689_512, "torchvision's resnet18 parameter count");
    check_against_twin("resnet18", &mut model, |m, x| m.forward(x).to_vec());
}

#[test]
fn resnet50_loads_its_pytorch_twins_state_dict_and_gives_its_logits() {
    let mut model = ResNet50::<Cpu>::new(&Cpu::default(), 0);
    assert_eq!(model.num_params(), 25_557_032, "torchvision's resnet50 parameter count");
    check_against_twin("resnet50", &mut model, |m, x| m.forward(x).to_vec());
}
