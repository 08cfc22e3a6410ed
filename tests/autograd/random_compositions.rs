//! Random compositions of ops, each checked against finite differences: chains of up to eight
//! ops drawn from the unary, broadcast, reduction and shape families with a seeded generator.

use shapeflow::prelude::*;

use crate::check::{grad2, randn};

type X = Tensor<(Const<3>, Const<4>), Cpu64>;
type R = Tensor<(Const<4>,), Cpu64>;

/// One step of a chain: `x` of [3, 4] and a second input `r` of [4], to a new [3, 4].
fn step(kind: u64, x: &X, r: &R) -> Result<X> {
    Ok(match kind % 16 {
        0 => x.tanh(),
        1 => x.sigmoid(),
        2 => (x * r)?,
        3 => (x + r)?,
        4 => x.softmax::<1>()?,
        5 => x.log_softmax::<0>()?,
        6 => x.sub(&x.mean_keepdim::<1>())?,
        7 => x.mul(&x.max_keepdim::<0>())?,
        8 => x.transpose::<0, 1>().view::<(Const<3>, Const<4>)>()?,
        9 => x.div(&r.square().add_scalar(1.0))?,
        10 => x.gelu(),
        11 => x.sin().mul_scalar(2.0),
        12 => x.maximum(&r.unsqueeze::<0>())?,
        13 => x.narrow::<1, 2>(1)?.repeat::<1>(2)?.view::<(Const<3>, Const<4>)>()?,
        14 => x.matmul(&r.unsqueeze::<1>().matmul(&r.unsqueeze::<0>())?)?.mul_scalar(0.3),
        _ => x.where_(&x.gt(r)?, &r.exp())?,
    })
}

#[test]
fn random_chains_match_finite_differences() {
    let mut rng = Rng::new(2024);
    for chain in 0..40 {
        let len = 1 + (rng.next_u64() % 8) as usize;
        let kinds: Vec<u64> = (0..len).map(|_| rng.next_u64()).collect();
        let x = randn::<(Const<3>, Const<4>)>(&[3, 4], 100 + chain);
        let r = randn::<(Const<4>,)>(&[4], 200 + chain);
        grad2(
            &format!("chain {chain} {:?}", kinds.iter().map(|k| k % 16).collect::<Vec<_>>()),
            &x,
            &r,
            |x, r| {
                let mut y = x.clone();
                for &k in &kinds {
                    y = step(k, &y, r)?;
                }
                Ok(y)
            },
        );
    }
}
