//! The fused `Embedding` → recurrent pass (`layers::embedding_recurrent`, what `model!`
//! generates for an embedding read only by an `Lstm`, `Gru` or `Rnn`): the same outputs and
//! gradients as the two layers run apart, on a ragged batch with NaN in its padding and a
//! `padding_idx`, for a bidirectional 2-layer layer of each kind; its gradients against finite
//! differences; and its cache refused by the layer's own backward.

use shapeflow::StaticDim;
use shapeflow::prelude::*;

use crate::support::assert_close;

type Emb = Embedding<Const<9>, Const<3>, Cpu64>;

fn ids(dev: &Cpu64, pad: f64) -> Tensor<(Dyn, Dyn), Cpu64> {
    let lengths = [4usize, 1, 3];
    let mut data: Vec<f64> = (0..12).map(|i| ((i * 5 + 2) % 9) as f64).collect();
    for (b, &n) in lengths.iter().enumerate() {
        data[b * 4 + n..(b + 1) * 4].fill(pad);
    }
    Tensor::from_padded(dev, &[3, 4], data, &lengths).unwrap()
}

fn params<M: Module<Cpu64>>(m: &M) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    m.visit_params(&mut String::new(), &mut |n, _, s| out.push((n.to_string(), s.to_vec())));
    out
}

/// The fused pass against `emb` then `rec` apart: output, the embedding's gradient and every
/// recurrent parameter's gradient, in f64.
fn fused_equals_apart<C, H, O, const L: usize>(kind: &str)
where
    C: Cell,
    H: StaticDim,
    O: StaticDim,
{
    let dev = Cpu64::default();
    let mut emb = Emb::init(&dev, &mut Rng::new(0)).with_padding_idx(2);
    let mut rec = Recurrent::<C, Const<3>, H, O, L, Cpu64>::init(&dev, &mut Rng::new(1));
    let x = ids(&dev, f64::NAN);
    let (e, ce) = emb.forward_train(&x);
    let (y, cr) = rec.forward_train(&e);
    let (yf, fe, fr) = embedding_recurrent::forward_train(&mut emb, &mut rec, &x);
    assert_close(&format!("{kind} y"), &yf.to_vec(), &y.to_vec(), 1e-12, 1e-12);
    assert_eq!(yf.lengths(), y.lengths());
    let inference = embedding_recurrent::forward(&emb, &rec, &x);
    assert_eq!(inference.to_vec(), yf.to_vec(), "{kind}: inference and training agree");
    let r: Vec<f64> = (0..y.len()).map(|i| (i as f64 * 0.61).sin()).collect();
    let r = Tensor::<(Dyn, Dyn, O), Cpu64>::from_vec(&dev, y.dims(), r).unwrap();
    let (de, g_rec) = rec.backward(&cr, &r).unwrap();
    let g_emb = emb.backward_params(&ce, &de).unwrap();
    let (d_ids, f_emb, f_rec) = embedding_recurrent::backward(&emb, &rec, &fe, &fr, &r).unwrap();
    assert!(d_ids.to_vec().iter().all(|&v| v == 0.0));
    let want = [params(&g_emb), params(&g_rec)].concat();
    let got = [params(&f_emb), params(&f_rec)].concat();
    assert_eq!(got.len(), want.len());
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        assert_close(&format!("{kind} d{name}"), g, w, 1e-12, 1e-12);
    }
    assert!(got[0].1[6..9].iter().all(|&v| v == 0.0), "the padding row gets no gradient");
}

#[test]
fn the_fused_pass_equals_the_two_layers_apart() {
    fused_equals_apart::<LstmCell, Const<4>, Const<8>, 2>("lstm");
    fused_equals_apart::<LstmCell, Const<5>, Const<5>, 1>("lstm (1 layer)");
    fused_equals_apart::<GruCell, Const<4>, Const<8>, 2>("gru");
    fused_equals_apart::<RnnCell<TanhAct>, Const<4>, Const<4>, 2>("rnn");
}

#[test]
fn the_fused_pass_gradients_match_finite_differences() {
    let dev = Cpu64::default();
    let mut emb = Emb::init(&dev, &mut Rng::new(4));
    let mut lstm = Lstm::<Const<3>, Const<2>, Const<4>, 2, Cpu64>::init(&dev, &mut Rng::new(5));
    let x = ids(&dev, 1.0);
    let (y, ce, cr) = embedding_recurrent::forward_train(&mut emb, &mut lstm, &x);
    let r: Vec<f64> = (0..y.len()).map(|i| (i as f64 * 0.37).cos()).collect();
    let rt = Tensor::<(Dyn, Dyn, Const<4>), Cpu64>::from_vec(&dev, y.dims(), r.clone()).unwrap();
    let (g_emb, g_lstm) = embedding_recurrent::backward_params(&emb, &lstm, &ce, &cr, &rt).unwrap();
    let loss = |emb: &Emb, lstm: &Lstm<Const<3>, Const<2>, Const<4>, 2, Cpu64>| -> f64 {
        let y = embedding_recurrent::forward(emb, lstm, &x).to_vec();
        y.iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    let h = 1e-6;
    // The embedding's table.
    let table = emb.weight.to_vec();
    let numeric: Vec<f64> = (0..table.len())
        .map(|j| {
            let at = |d: f64| {
                let mut w = table.clone();
                w[j] += d;
                let mut e = emb.clone();
                e.weight = Tensor::from_vec(&dev, &[9, 3], w).unwrap();
                loss(&e, &lstm)
            };
            (at(h) - at(-h)) / (2.0 * h)
        })
        .collect();
    assert_close("d/dweight (table)", &g_emb.weight.to_vec(), &numeric, 1e-6, 1e-8);
    // Every recurrent parameter, by name.
    for (k, (name, analytic)) in params(&g_lstm).into_iter().enumerate() {
        let numeric: Vec<f64> = (0..analytic.len())
            .map(|j| {
                let at = |d: f64| {
                    let mut l = lstm.clone();
                    let mut idx = 0;
                    l.visit_params_mut(&mut String::new(), &mut |_, _, s| {
                        if idx == k {
                            s[j] += d;
                        }
                        idx += 1;
                    });
                    loss(&emb, &l)
                };
                (at(h) - at(-h)) / (2.0 * h)
            })
            .collect();
        assert_close(&format!("d/d{name}"), &analytic, &numeric, 1e-6, 1e-8);
    }
}

#[test]
fn the_layer_alone_refuses_a_fused_cache() {
    let dev = Cpu64::default();
    let mut emb = Emb::init(&dev, &mut Rng::new(0));
    let mut gru = Gru::<Const<3>, Const<2>, Const<2>, 1, Cpu64>::init(&dev, &mut Rng::new(1));
    let x = ids(&dev, 0.0);
    let (y, _, cr) = embedding_recurrent::forward_train(&mut emb, &mut gru, &x);
    let err = gru.backward(&cr, &y).map(|_| ()).expect_err("an error").to_string();
    assert!(err.contains("embedding table") && err.contains("Gru"), "{err}");
}

#[test]
fn the_fused_pass_refuses_an_id_outside_the_table_by_name() {
    let dev = Cpu64::default();
    let mut emb = Emb::init(&dev, &mut Rng::new(0));
    let mut gru = Gru::<Const<3>, Const<2>, Const<2>, 1, Cpu64>::init(&dev, &mut Rng::new(1));
    let mut v = ids(&dev, 0.0).to_vec();
    v[5] = 9.0; // sample 1, position 1: a 9-row table has ids 0..9
    let x = Tensor::<(Dyn, Dyn), Cpu64>::from_vec(&dev, &[3, 4], v).unwrap();
    let (y, ce, cr) = embedding_recurrent::forward_train(&mut emb, &mut gru, &x);
    let err = embedding_recurrent::backward(&emb, &gru, &ce, &cr, &y)
        .map(|_| ())
        .expect_err("an Err")
        .to_string();
    assert!(
        err.contains("token id 9 at sample 1, position 1 is not an id of this table of 9 rows"),
        "{err}"
    );
}
