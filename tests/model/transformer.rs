//! A transformer encoder written in `model!` (PyTorch's post-norm `TransformerEncoderLayer`:
//! self-attention, residual add, layer norm, a ReLU feed-forward per step, residual add, layer
//! norm; two of them as `layers: (EncoderLayer, EncoderLayer)`) loads a PyTorch
//! `nn.TransformerEncoder`'s `state_dict` by name and gives its outputs and gradients on a ragged
//! batch with a key padding mask.

use shapeflow::prelude::*;

use crate::support::{assert_close, attention_fixture, load_named, nums};

model! {
    /// PyTorch's `nn.TransformerEncoderLayer(8, 2, dim_feedforward = 16, dropout = 0)`.
    pub struct EncoderLayer {
        input x: [seq, 8],
        self_attn: MultiheadAttention<8, 2>,
        sum1: Add(x, self_attn),
        norm1: LayerNorm<8>,
        linear1: Linear<8, 16>,
        act: Relu,
        linear2: Linear<16, 8>,
        sum2: Add(norm1, linear2),
        norm2: LayerNorm<8>,
    }

    /// PyTorch's `nn.TransformerEncoder(layer, 2)`.
    pub struct Encoder {
        input: [seq, 8],
        layers: (EncoderLayer, EncoderLayer),
    }
}

#[test]
fn a_pytorch_transformer_encoder_loads_and_matches() {
    let f = attention_fixture();
    let case = &f["encoder"];
    let dev = Cpu64::default();
    let lengths: Vec<usize> = nums(&case["lengths"]).into_iter().map(|v| v as usize).collect();
    let mut enc = Encoder::<Cpu64>::new(&dev, 0);
    load_named(&mut enc, &case["params"]);
    let sizes = [3, 5, 8];
    let x = Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_padded(
        &dev,
        &sizes,
        nums(&case["x"]),
        &lengths,
    )
    .unwrap();
    let valid: Vec<f64> =
        (0..3 * 5 * 8).map(|i| f64::from(u8::from((i / 8) % 5 < lengths[i / 40]))).collect();
    let masked = |v: Vec<f64>| v.iter().zip(&valid).map(|(a, m)| a * m).collect::<Vec<_>>();
    let (y, cache) = enc.forward_train(&x);
    assert_close("encoder y", &masked(y.to_vec()), &nums(&case["y"]), 1e-10, 1e-10);
    let r: Vec<f64> = masked(nums(&case["r"]));
    let r = Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_vec(&dev, &sizes, r).unwrap();
    let (dx, g) = enc.backward_with_input(&cache, &r).unwrap();
    assert_close("encoder dx", &masked(dx.to_vec()), &nums(&case["dx"]), 1e-10, 1e-10);
    let mut n = 0;
    g.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(
            &format!("encoder d{name}"),
            &Cpu64::to_host(s),
            &nums(&case["grads"][name]),
            1e-10,
            1e-10,
        );
        n += 1;
    });
    assert_eq!(n, 24);
    assert!(
        enc.summary().to_string().contains("MultiheadAttention<8, 2>")
            || enc.summary().to_string().contains("layers")
    );
}

model! {
    /// PyTorch's post-norm `nn.TransformerDecoderLayer(8, 2, dim_feedforward = 16, dropout = 0)`
    /// with a causal target mask.
    pub struct DecoderLayer {
        input tgt: [seq, 8],
        input memory: [seq, 8],
        self_attn: MultiheadAttention<8, 2, causal = true>(tgt),
        sum1: Add(tgt, self_attn),
        norm1: LayerNorm<8>,
        multihead_attn: CrossAttention<8, 2>(norm1, memory),
        sum2: Add(norm1, multihead_attn),
        norm2: LayerNorm<8>,
        linear1: Linear<8, 16>,
        act: Relu,
        linear2: Linear<16, 8>,
        sum3: Add(norm2, linear2),
        norm3: LayerNorm<8>,
        output norm3
    }
}

#[test]
fn a_pytorch_transformer_decoder_layer_loads_and_matches() {
    let f = attention_fixture();
    let case = &f["decoder"];
    let dev = Cpu64::default();
    let lens = |k: &str| nums(&case[k]).into_iter().map(|v| v as usize).collect::<Vec<_>>();
    let (tl, ml) = (lens("tgt_lengths"), lens("mem_lengths"));
    let mut dec = DecoderLayer::<Cpu64>::new(&dev, 0);
    load_named(&mut dec, &case["params"]);
    let tgt = Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_padded(
        &dev,
        &[3, 4, 8],
        nums(&case["tgt"]),
        &tl,
    )
    .unwrap();
    let mem = Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_padded(
        &dev,
        &[3, 5, 8],
        nums(&case["memory"]),
        &ml,
    )
    .unwrap();
    let valid: Vec<f64> =
        (0..3 * 4 * 8).map(|i| f64::from(u8::from((i / 8) % 4 < tl[i / 32]))).collect();
    let masked = |v: Vec<f64>| v.iter().zip(&valid).map(|(a, m)| a * m).collect::<Vec<_>>();
    let (y, cache) = dec.forward_train(&tgt, &mem);
    assert_close("decoder y", &masked(y.to_vec()), &nums(&case["y"]), 1e-10, 1e-10);
    let r =
        Tensor::<(Dyn, Dyn, Const<8>), Cpu64>::from_vec(&dev, &[3, 4, 8], masked(nums(&case["r"])))
            .unwrap();
    let ((dt, dm), g) = dec.backward_with_input(&cache, &r).unwrap();
    assert_close("decoder dtgt", &masked(dt.to_vec()), &nums(&case["dtgt"]), 1e-10, 1e-10);
    assert_close("decoder dmemory", &dm.to_vec(), &nums(&case["dmemory"]), 1e-10, 1e-10);
    g.visit_params(&mut String::new(), &mut |name, _, s| {
        assert_close(
            &format!("decoder d{name}"),
            &Cpu64::to_host(s),
            &nums(&case["grads"][name]),
            1e-10,
            1e-10,
        );
    });
}
