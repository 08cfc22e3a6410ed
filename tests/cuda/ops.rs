//! The tensor op set and autograd on CUDA against the CPU: a composition through every strided
//! kernel (broadcast, reductions, softmax, permute, narrow/cat, gather, select, batched matmul)
//! with its gradients, and a layer written as forward code inside a model.

use shapeflow::Cuda;
use shapeflow::prelude::*;

use crate::on_gpu::{close, gpu};

type C<const N: usize> = Const<N>;

/// A loss through most of the op set, from `x` `[4, 3, 5]` and `w` `[5]`.
fn composite<B: Backend>(
    x: &Tensor<(Dyn, C<3>, C<5>), B>,
    w: &Tensor<(C<5>,), B>,
) -> Result<Tensor<(), B>> {
    let h = (x * w)?.tanh().add_scalar(0.1);
    let s = h.softmax::<2>()?.mul(&h.mean_keepdim::<1>())?;
    let p = s.permute::<Axes3<0, 2, 1>>();
    let joined = p.narrow::<1, 2>(1)?.cat::<1, C<5>, _>(&p.narrow::<1, 3>(2)?)?;
    let gram = joined.matmul(&joined.transpose::<1, 2>())?;
    let zero = w.detach().narrow::<0, 1>(0)?.mul_scalar(0.0);
    let masked = gram.where_(&gram.gt(&zero)?, &gram.mul_scalar(0.5))?;
    let idx = x.detach().narrow::<1, 1>(0)?.full_like(1.0);
    let picked = masked.gather::<1, _>(&idx)?.sum_all();
    let pooled = x.max::<2>().logsumexp::<1>()?.mean_all();
    &picked + &pooled
}

#[test]
fn ops_and_their_gradients_match_the_cpu() {
    let cpu = Cpu::default();
    let x = Tensor::<(Dyn, C<3>, C<5>), Cpu>::randn(&cpu, &[4, 3, 5], 0.0, 1.0, 1).unwrap();
    let w = Tensor::<(C<5>,), Cpu>::randn(&cpu, &[5], 0.0, 1.0, 2).unwrap();
    let (xc, wc) = (x.clone().requires_grad(), w.clone().requires_grad());
    let lc = composite(&xc, &wc).unwrap();
    let gc = lc.backward().unwrap();
    assert!(lc.item().is_finite());
    let Some(g) = gpu() else { return };
    let (xg, wg) = (x.to_device(&g).requires_grad(), w.to_device(&g).requires_grad());
    let lg = composite::<Cuda>(&xg, &wg).unwrap();
    let gg = lg.backward().unwrap();
    close("loss", &[lg.item() as f32], &[lc.item() as f32]);
    close("d/dx", &gg.wrt(&xg).unwrap().to_vec(), &gc.wrt(&xc).unwrap().to_vec());
    close("d/dw", &gg.wrt(&wg).unwrap().to_vec(), &gc.wrt(&wc).unwrap().to_vec());
    g.check().unwrap();
}
