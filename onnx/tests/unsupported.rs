//! A model with a kind that has no exporter is an `Err` naming the node and kind; nothing is
//! written, and a file already at the path is left as it was.

use shapeflow::prelude::*;

model! {
    /// Rotary embeddings: no ONNX lowering yet.
    pub struct Rotary {
        input: [seq, 8],
        attn: MultiheadAttention<8, 2, rope = true>,
    }

    /// Cross-attention: no ONNX lowering yet.
    pub struct SelfCross {
        input x: [seq, 8],
        cross: CrossAttention<8, 2>(x, x),
    }

    /// Two sequence inputs: the ONNX model would need two lengths inputs.
    pub struct Decoder {
        input tgt: [seq, 8],
        input memory: [seq, 8],
        cross: CrossAttention<8, 2>(tgt, memory),
        output cross
    }
}

#[test]
fn a_kind_without_an_exporter_is_an_error_and_writes_nothing() {
    let dev = Cpu::default();
    let dir =
        std::env::temp_dir().join(format!("shapeflow-onnx-unsupported-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rotary.onnx");
    std::fs::write(&path, b"an older file").unwrap();
    let e = shapeflow::onnx::export(&Rotary::<Cpu>::new(&dev, 0), &path).unwrap_err().to_string();
    assert_eq!(
        e,
        "unsupported: node `attn` (MultiheadAttention<8, 2, rope = true>): rotary position embeddings have no ONNX exporter yet"
    );
    let e = shapeflow::onnx::export(&Decoder::<Cpu>::new(&dev, 0), &path).unwrap_err().to_string();
    assert!(
        e.starts_with("unsupported: model `Decoder` has two sequence inputs (`tgt` and `memory`)"),
        "{e}"
    );
    let e =
        shapeflow::onnx::export(&SelfCross::<Cpu>::new(&dev, 0), &path).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "unsupported: node `cross` (CrossAttention<8, 2>) has no ONNX exporter yet (the kinds exported: Linear, Conv1d,"
        ),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"an older file");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "a temporary file was left behind");
}

#[test]
fn a_failed_write_is_an_error_naming_the_path() {
    let dev = Cpu::default();
    model! { pub struct Small { input: [2], fc: Linear<2, 1> } }
    let e = shapeflow::onnx::export(&Small::<Cpu>::new(&dev, 0), "/nonexistent-dir/small.onnx")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent-dir/small.onnx"), "{e}");
}

#[test]
fn weights_keep_pytorch_names_and_a_shared_layer_is_stored_once() {
    model! {
        pub struct Twice {
            input: [3],
            fc: Linear<3, 3>,
            act: Tanh,
            again: fc(act),
        }
    }
    let dev = Cpu::default();
    let m = shapeflow::onnx::to_model_proto(&Twice::<Cpu>::new(&dev, 0)).unwrap();
    let g = m.graph.unwrap();
    let names: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["fc.weight", "fc.bias"]);
    let gemms: Vec<&Vec<String>> =
        g.node.iter().filter(|n| n.op_type == "Gemm").map(|n| &n.input).collect();
    assert_eq!(
        gemms,
        [
            &vec!["input".to_string(), "fc.weight".into(), "fc.bias".into()],
            &vec!["act".to_string(), "fc.weight".into(), "fc.bias".into()]
        ]
    );
    assert_eq!(g.output[0].name, "again");
}
