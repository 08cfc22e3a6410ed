//! `backward_with_input`: a model's input gradient, as a GAN's generator step needs it from the
//! discriminator. Checked against finite differences through a generator–discriminator chain.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer, input};

model! {
    pub struct TinyGen {
        input z: [3],
        fc1: Linear<3, 5>,
        act: LeakyRelu<0.2>,
        fc2: Linear<5, 4>,
        out: Tanh,
    }

    pub struct TinyDisc {
        input x: [4],
        fc1: Linear<4, 6>,
        act: LeakyRelu<0.2>,
        fc2: Linear<6, 1>,
    }
}

#[test]
fn the_generator_learns_through_the_discriminators_input_gradient() {
    let dev = Cpu64::default();
    let (mut g, mut d) = (TinyGen::<Cpu64>::new(&dev, 1), TinyDisc::<Cpu64>::new(&dev, 2));
    let z = input::<(Dyn, Const<3>)>(&[5, 3], 7);
    let (fake, g_cache) = g.forward_train(&z);
    let (verdict, d_cache) = d.forward_train(&fake);
    let dy = verdict.ones_like();
    let (d_fake, d_grads) = d.backward_with_input(&d_cache, &dy).unwrap();
    assert_eq!(d_fake.dims(), &[5, 4]);
    let g_grads = g.backward(&g_cache, &d_fake).unwrap();
    // The same chain as one layer, `(TinyGen, TinyDisc)`: its generated backward gives both.
    let mut chain = (g, d);
    let (_, cache) = chain.forward_train(&z);
    let (_, both) = chain.backward(&cache, &dy).unwrap();
    assert_close(
        "generator fc1.weight",
        &g_grads.fc1.weight.to_vec(),
        &both.0.fc1.weight.to_vec(),
        1e-14,
        1e-14,
    );
    assert_close(
        "discriminator fc1.weight",
        &d_grads.fc1.weight.to_vec(),
        &both.1.fc1.weight.to_vec(),
        1e-14,
        1e-14,
    );
    // And the chain's gradients are the true ones.
    check_layer("(TinyGen, TinyDisc)", &mut chain, &z);
}

#[test]
fn the_input_gradient_is_what_finite_differences_give() {
    let dev = Cpu64::default();
    let mut d = TinyDisc::<Cpu64>::new(&dev, 3);
    let x = input::<(Dyn, Const<4>)>(&[2, 4], 9);
    let (y, cache) = d.forward_train(&x);
    let (dx, _) = d.backward_with_input(&cache, &y.ones_like()).unwrap();
    let base = x.to_vec();
    let h = 1e-6;
    for i in 0..base.len() {
        let at = |delta: f64| {
            let mut v = base.clone();
            v[i] += delta;
            let t = Tensor::<(Dyn, Const<4>), Cpu64>::from_vec(&dev, &[2, 4], v).unwrap();
            d.forward(&t).to_vec().iter().sum::<f64>()
        };
        let numeric = (at(h) - at(-h)) / (2.0 * h);
        assert!((numeric - dx.to_vec()[i]).abs() < 1e-7, "x[{i}]: {numeric} vs {}", dx.to_vec()[i]);
    }
}
