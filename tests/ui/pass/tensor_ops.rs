//! The passing twins of the op set's shape rules: broadcasting, axes, permutations, views,
//! squeeze/unsqueeze, cat and batched products.
use shapeflow::prelude::*;

fn main() -> shapeflow::Result<()> {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<32>, Const<8>), Cpu>::zeros(&dev, &[4, 32, 8])?;
    // broadcasting: trailing axes, a 1 on either side, Dyn against a size
    let _: Tensor<(Dyn, Const<32>, Const<8>), Cpu> = (&x + &Tensor::<(Const<8>,), Cpu>::zeros(&dev, &[8])?)?;
    let _: Tensor<(Const<32>, Const<8>), Cpu> =
        (&Tensor::<(Const<32>, Const<1>), Cpu>::zeros(&dev, &[32, 1])? * &Tensor::<(Const<1>, Const<8>), Cpu>::zeros(&dev, &[1, 8])?)?;
    let _: Tensor<(Const<4>, Const<8>), Cpu> =
        Tensor::<(Dyn, Const<8>), Cpu>::zeros(&dev, &[4, 8])?.add(&Tensor::<(Const<4>, Const<8>), Cpu>::zeros(&dev, &[4, 8])?)?;
    // reductions along an axis, with and without keepdim
    let _: Tensor<(Dyn, Const<8>), Cpu> = x.sum::<1>();
    let _: Tensor<(Dyn, Const<32>, Const<1>), Cpu> = x.mean_keepdim::<2>();
    let _: Tensor<(Dyn, Const<32>, Const<8>), Cpu> = x.softmax::<2>()?;
    // permutations and views
    let _: Tensor<(Dyn, Const<8>, Const<32>), Cpu> = x.permute::<Axes3<0, 2, 1>>();
    let _: Tensor<(Const<32>, Dyn, Const<8>), Cpu> = x.transpose::<0, 1>();
    let _: Tensor<(Dyn, Const<256>), Cpu> = x.view::<(Dyn, Const<256>)>()?;
    let _: Tensor<(Const<6>,), Cpu> = Tensor::<(Const<2>, Const<3>), Cpu>::zeros(&dev, &[2, 3])?.view::<(Const<6>,)>()?;
    // new and removed axes
    let y: Tensor<(Dyn, Const<1>, Const<32>, Const<8>), Cpu> = x.unsqueeze::<1>();
    let _: Tensor<(Dyn, Const<32>, Const<8>), Cpu> = y.squeeze::<1>()?;
    // joining along an axis whose size is stated
    let a = Tensor::<(Dyn, Const<2>, Const<3>), Cpu>::zeros(&dev, &[1, 2, 3])?;
    let b = Tensor::<(Dyn, Const<2>, Const<4>), Cpu>::zeros(&dev, &[1, 2, 4])?;
    let _: Tensor<(Dyn, Const<2>, Const<7>), Cpu> = a.cat::<2, Const<7>, _>(&b)?;
    // batched products
    let q = Tensor::<(Dyn, Const<3>, Const<4>), Cpu>::zeros(&dev, &[2, 3, 4])?;
    let w = Tensor::<(Const<1>, Const<4>, Const<5>), Cpu>::zeros(&dev, &[1, 4, 5])?;
    let _: Tensor<(Dyn, Const<3>, Const<5>), Cpu> = q.matmul(&w)?;
    Ok(())
}
