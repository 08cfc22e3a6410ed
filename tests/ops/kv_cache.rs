//! Decoding with a key/value cache: `MultiheadAttention::forward_cached` step by step (after a
//! prompt, with and without the causal mask and rotary positions) equals the whole-sequence
//! forward pass at every step, in f64; PositionEmbedding::forward_from likewise; misuse is an
//! `Err` that says what to do.

use shapeflow::layers::KvCache;
use shapeflow::prelude::*;
use shapeflow::typenum::consts::*;

use crate::support::assert_close;

fn seq(dev: &Cpu64, batch: usize, steps: usize, seed: u64) -> Tensor<(Dyn, Dyn, U8), Cpu64> {
    Tensor::<(Dyn, Dyn, U8), Cpu64>::randn(dev, &[batch, steps, 8], 0.0, 1.0, seed).unwrap()
}

/// Steps `from..to` of every sample of `x` (`[batch, steps, 8]`).
fn steps(x: &Tensor<(Dyn, Dyn, U8), Cpu64>, from: usize, to: usize) -> Vec<f64> {
    let (n, t) = (x.dims()[0], x.dims()[1]);
    let v = x.to_vec();
    (0..n).flat_map(|b| v[(b * t + from) * 8..(b * t + to) * 8].to_vec()).collect()
}

fn tensor(dev: &Cpu64, batch: usize, steps: usize, v: Vec<f64>) -> Tensor<(Dyn, Dyn, U8), Cpu64> {
    Tensor::<(Dyn, Dyn, U8), Cpu64>::from_vec(dev, &[batch, steps, 8], v).unwrap()
}

/// A cached step sees the steps before it and itself: the causal forward pass over the whole
/// sequence (for a causal layer, and for a non-causal one after its prompt, whose steps saw
/// the prompt only).
#[test]
fn cached_decoding_equals_the_whole_sequence() {
    let dev = Cpu64::default();
    let (batch, total, prompt) = (2, 9, 4);
    for (causal, rope) in [(true, false), (true, true), (false, false), (false, true)] {
        let mut attn = MultiheadAttention::<U8, U2, Cpu64>::init(&dev, &mut Rng::new(3));
        attn.causal = causal;
        attn.rope = rope;
        let x = seq(&dev, batch, total, 11);
        let causal_whole = attn.clone().causal().forward(&x);
        let prompt_x = tensor(&dev, batch, prompt, steps(&x, 0, prompt));
        let mut cache = KvCache::new();
        let what = format!("causal {causal}, rope {rope}");
        let first = attn.forward_cached(&prompt_x, &mut cache).unwrap();
        let want =
            if causal { steps(&causal_whole, 0, prompt) } else { attn.forward(&prompt_x).to_vec() };
        assert_close(&format!("{what}: prompt"), &first.to_vec(), &want, 1e-12, 1e-12);
        for t in prompt..total {
            let y = attn.forward_cached(&tensor(&dev, batch, 1, steps(&x, t, t + 1)), &mut cache);
            let want = steps(&causal_whole, t, t + 1);
            assert_close(&format!("{what}: step {t}"), &y.unwrap().to_vec(), &want, 1e-12, 1e-12);
        }
        assert_eq!(cache.len(), total);
        if !causal {
            // Without the causal mask, several steps after the prompt see every key so far:
            // the non-causal whole sequence at those steps.
            cache.clear();
            attn.forward_cached(&prompt_x, &mut cache).unwrap();
            let rest = tensor(&dev, batch, total - prompt, steps(&x, prompt, total));
            let got = attn.forward_cached(&rest, &mut cache).unwrap().to_vec();
            let want = steps(&attn.forward(&x), prompt, total);
            assert_close(&format!("{what}: a chunk after the prompt"), &got, &want, 1e-12, 1e-12);
        }
    }
}

#[test]
fn cached_decoding_misuse_is_an_error() {
    let dev = Cpu64::default();
    let attn = MultiheadAttention::<U8, U2, Cpu64>::init(&dev, &mut Rng::new(3)).causal();
    let mut cache = KvCache::new();
    attn.forward_cached(&seq(&dev, 2, 3, 1), &mut cache).unwrap();
    let err = attn.forward_cached(&seq(&dev, 2, 2, 2), &mut cache).unwrap_err().to_string();
    assert!(
        err.contains("2 new steps after 3 cached ones") && err.contains("one step per call"),
        "{err}"
    );
    let err = attn.forward_cached(&seq(&dev, 3, 1, 2), &mut cache).unwrap_err().to_string();
    assert!(err.contains("a batch of 3 after a cache of 2 samples"), "{err}");
    let padded =
        Tensor::<(Dyn, Dyn, U8), Cpu64>::from_sequences(&dev, &[vec![0.5; 16], vec![0.5; 8]])
            .unwrap();
    let err = attn.forward_cached(&padded, &mut KvCache::new()).unwrap_err().to_string();
    assert!(err.contains("every sample needs all 2 steps (lengths [2, 1])"), "{err}");
}

#[test]
fn positions_from_an_offset_equal_the_whole_sequence() {
    let dev = Cpu64::default();
    let pos = PositionEmbedding::<U16, U8, Cpu64>::init(&dev, &mut Rng::new(5));
    let x = seq(&dev, 2, 10, 7);
    let whole = pos.forward(&x);
    let tail = pos.forward_from(&tensor(&dev, 2, 3, steps(&x, 6, 9)), 6).unwrap();
    assert_close("positions 6..9", &tail.to_vec(), &steps(&whole, 6, 9), 0.0, 0.0);
    let err = pos.forward_from(&tensor(&dev, 2, 3, steps(&x, 6, 9)), 14).unwrap_err().to_string();
    assert!(err.contains("positions 14..17 asked of a table of 16 positions"), "{err}");
}

/// A decoder's cross-attention over a fixed memory: the memory's keys and values projected
/// once, each target step alone equal to the whole target's pass (ragged memory lengths mask
/// the keys); another memory size is an `Err`.
#[test]
fn cross_attention_caches_the_memory() {
    let dev = Cpu64::default();
    let attn = CrossAttention::<U8, U2, Cpu64>::init(&dev, &mut Rng::new(8));
    let memory = Tensor::<(Dyn, Dyn, U8), Cpu64>::from_sequences(
        &dev,
        &[(0..56).map(|i| (i as f64 * 0.3).sin()).collect::<Vec<_>>(), vec![0.25; 24]],
    )
    .unwrap();
    let tgt = seq(&dev, 2, 5, 21);
    let whole = Merge::forward(&attn, &tgt, &memory);
    let mut cache = KvCache::new();
    for t in 0..5 {
        let y =
            attn.forward_cached(&tensor(&dev, 2, 1, steps(&tgt, t, t + 1)), &memory, &mut cache);
        assert_close(
            &format!("cross step {t}"),
            &y.unwrap().to_vec(),
            &steps(&whole, t, t + 1),
            1e-12,
            1e-12,
        );
    }
    assert_eq!(cache.len(), 7);
    let other = seq(&dev, 2, 4, 3);
    let err = attn.forward_cached(&tensor(&dev, 2, 1, steps(&tgt, 0, 1)), &other, &mut cache);
    let err = err.unwrap_err().to_string();
    assert!(err.contains("a memory of 2 × 4 steps after a cache of 2 × 7"), "{err}");
}
