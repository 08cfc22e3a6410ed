//! The character language models that `char-lm` trains: an LSTM and a decoder-only transformer.

use shapeflow::prelude::*;

model! {
    /// Next-character logits at every step of a sequence of character ids.
    pub struct CharLm {
        input: [seq],
        emb: Embedding<96, 64>,
        lstm: Lstm<64, 256, num_layers = 2>,
        head: Linear<256, 96>,
    }
}

model! {
    /// A pre-norm decoder block: causal self-attention and a feed-forward, each added to its input.
    pub struct Block {
        input x: [seq, 128],
        norm1: LayerNorm<128>,
        attn: MultiheadAttention<128, 4, causal = true>,
        sum1: Add(x, attn),
        norm2: LayerNorm<128>,
        linear1: Linear<128, 512>,
        act: Gelu,
        linear2: Linear<512, 128>,
        sum2: Add(sum1, linear2),
    }

    /// Next-character logits from a decoder-only transformer.
    pub struct CharTransformer {
        input: [seq],
        emb: Embedding<96, 128>,
        pos: PositionEmbedding<128, 128>,
        blocks: (Block, Block),
        norm: LayerNorm<128>,
        head: Linear<128, 96>,
    }
}

/// Sampling from a [`CharTransformer`] with a key/value cache in each attention layer: the
/// prompt runs once, then each new character costs one step of every layer instead of a
/// forward pass over the whole window. Positions stop at the table's 128; [`Decoder::feed`]
/// then says so, and the caller starts again from a shorter context ([`Decoder::clear`]).
///
/// ```
/// use char_lm::{CharTransformer, Decoder};
/// use shapeflow::prelude::*;
/// let dev = Cpu::default();
/// let model = CharTransformer::<Cpu>::new(&dev, 0);
/// let mut decoder = Decoder::new(&model);
/// let logits = decoder.feed(&dev, &[40, 41, 42]).unwrap(); // the prompt
/// assert_eq!(logits.len(), 96);
/// let next = decoder.feed(&dev, &[43]).unwrap(); // one more character
/// assert_eq!((next.len(), decoder.position()), (96, 4));
/// ```
pub struct Decoder<'m, B: Backend> {
    model: &'m CharTransformer<B>,
    caches: [shapeflow::layers::KvCache<B>; 2],
}

impl<'m, B: Backend> Decoder<'m, B> {
    /// A decoder at position 0.
    pub fn new(model: &'m CharTransformer<B>) -> Self {
        Decoder { model, caches: Default::default() }
    }

    /// Characters seen so far.
    pub fn position(&self) -> usize {
        self.caches[0].len()
    }

    /// Forgets every character seen.
    pub fn clear(&mut self) {
        self.caches.iter_mut().for_each(|c| c.clear());
    }

    /// Runs the characters `ids` after those already seen (the prompt first, then one per
    /// call) and returns the next-character logits after the last of them.
    pub fn feed(&mut self, dev: &B, ids: &[usize]) -> Result<Vec<B::Elem>, shapeflow::Error> {
        let m = self.model;
        if ids.is_empty() {
            return Err(shapeflow::Error::Shape(
                "Decoder::feed needs at least one character".into(),
            ));
        }
        let ids: Vec<B::Elem> = ids.iter().map(|&c| B::Elem::from_f64(c as f64)).collect();
        let t = ids.len();
        let x = Tensor::<(Dyn, Dyn), B>::from_sequences(dev, &[ids])?;
        let mut h = m.pos.forward_from(&m.emb.forward(&x), self.position())?;
        for (block, cache) in [&m.blocks.0, &m.blocks.1].into_iter().zip(&mut self.caches) {
            let a = block.attn.forward_cached(&block.norm1.forward(&h), cache)?;
            let s1 = h.add(&a)?;
            let f = block.norm2.forward(&s1);
            let f = block.linear2.forward(&block.act.forward(&block.linear1.forward(&f)));
            h = s1.add(&f)?;
        }
        let logits = m.head.forward(&m.norm.forward(&h)).to_vec();
        Ok(logits[(t - 1) * 96..t * 96].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached decoder's logits equal the whole forward pass's at every position.
    #[test]
    fn the_decoder_matches_the_forward_pass() {
        let dev = Cpu64::default();
        let model = CharTransformer::<Cpu64>::new(&dev, 7);
        let ids: Vec<usize> = (0..20).map(|i| (i * 37 + 11) % 96).collect();
        let x = Tensor::<(Dyn, Dyn), Cpu64>::from_sequences(
            &dev,
            &[ids.iter().map(|&c| c as f64).collect::<Vec<_>>()],
        )
        .unwrap();
        let whole = model.forward(&x).to_vec();
        let mut decoder = Decoder::new(&model);
        let mut got = Vec::new();
        let first = decoder.feed(&dev, &ids[..5]).unwrap();
        for t in 5..=ids.len() {
            let logits =
                if t == 5 { first.clone() } else { decoder.feed(&dev, &ids[t - 1..t]).unwrap() };
            got.push((t, logits));
        }
        for (t, logits) in got {
            let want = &whole[(t - 1) * 96..t * 96];
            for (g, w) in logits.iter().zip(want) {
                assert!((g - w).abs() < 1e-10, "position {t}: {g} vs {w}");
            }
        }
    }
}
