//! Every op's gradient against central differences in f64, broadcast and reduced axes included.

use shapeflow::ops::rules::{Axes3, Axes4};
use shapeflow::prelude::*;

use crate::check::{away_from_zero, grad1, grad2, positive, randn};

type C<const N: usize> = Const<N>;
type M34 = (C<3>, C<4>);
type T234 = (C<2>, C<3>, C<4>);

#[test]
fn unary_ops() {
    let x = randn::<M34>(&[3, 4], 1);
    let p = positive::<M34>(&[3, 4], 2);
    let k = away_from_zero::<M34>(&[3, 4], 3);
    grad1("neg", &x, |x| Ok(x.neg()));
    grad1("abs", &k, |x| Ok(x.abs()));
    grad1("exp", &x, |x| Ok(x.exp()));
    grad1("log", &p, |x| Ok(x.log()));
    grad1("log1p", &p, |x| Ok(x.log1p()));
    grad1("sqrt", &p, |x| Ok(x.sqrt()));
    grad1("rsqrt", &p, |x| Ok(x.rsqrt()));
    grad1("recip", &p, |x| Ok(x.recip()));
    grad1("square", &x, |x| Ok(x.square()));
    grad1("powf", &p, |x| Ok(x.powf(2.5)));
    grad1("sin", &x, |x| Ok(x.sin()));
    grad1("cos", &x, |x| Ok(x.cos()));
    grad1("tanh", &x, |x| Ok(x.tanh()));
    grad1("sigmoid", &x, |x| Ok(x.sigmoid()));
    grad1("relu", &k, |x| Ok(x.relu()));
    grad1("gelu", &x, |x| Ok(x.gelu()));
    grad1("silu", &x, |x| Ok(x.silu()));
    grad1("softplus", &x, |x| Ok(x.mul_scalar(8.0).softplus()));
    grad1("clamp", &k, |x| Ok(x.clamp(-0.5, 0.7)));
    grad1("sign", &k, |x| Ok(x.sign()));
    grad1("scalar forms", &p, |x| {
        Ok(x.add_scalar(1.5)
            .sub_scalar(0.25)
            .mul_scalar(-2.0)
            .div_scalar(3.0)
            .rsub_scalar(1.0)
            .rdiv_scalar(2.0)
            .rpow_scalar(1.7))
    });
    grad1("operators with scalars", &x, |x| Ok(-((x * 2.0) + 1.0 - 0.5) / 4.0));
}

#[test]
fn binary_ops_with_broadcasting() {
    let a = randn::<T234>(&[2, 3, 4], 4);
    let col = randn::<(C<3>, C<1>)>(&[3, 1], 5);
    let row = randn::<(C<4>,)>(&[4], 6);
    let pos_row = positive::<(C<1>, C<4>)>(&[1, 4], 7);
    grad2("add [2,3,4]+[3,1]", &a, &col, |a, b| a.add(b));
    grad2("sub [2,3,4]-[4]", &a, &row, |a, b| a.sub(b));
    grad2("mul [3,1]*[4]", &col, &row, |a, b| a.mul(b));
    grad2("div [2,3,4]/[1,4]", &a, &pos_row, |a, b| a.div(b));
    grad2("operators", &a, &row, |a, b| ((a * b) + b) - a);
    grad2("maximum", &a, &row, |a, b| a.maximum(b));
    grad2("minimum", &a, &col, |a, b| a.minimum(b));
    grad2("pow", &positive::<M34>(&[3, 4], 8), &row, |a, b| a.pow(b));
    let d = randn::<(Dyn, C<4>)>(&[5, 4], 9);
    grad2("add [batch,4]+[4] (Dyn)", &d, &row, |a, b| a.add(b));
    let d1 = randn::<(Dyn, C<1>)>(&[5, 1], 10);
    grad2("mul [batch,4]*[batch,1]", &d, &d1, |a, b| a.mul(b));
}

#[test]
fn ties_split_the_gradient_as_pytorch() {
    let dev = Cpu64::default();
    let a = Tensor::<(C<2>,), Cpu64>::from_vec(&dev, &[2], vec![1.0, 2.0]).unwrap().requires_grad();
    let b = Tensor::<(C<2>,), Cpu64>::from_vec(&dev, &[2], vec![1.0, 3.0]).unwrap().requires_grad();
    let g = a.maximum(&b).unwrap().sum_all().backward().unwrap();
    assert_eq!(g.wrt(&a).unwrap().to_vec(), vec![0.5, 0.0]);
    assert_eq!(g.wrt(&b).unwrap().to_vec(), vec![0.5, 1.0]);
}

#[test]
fn where_and_masked_fill() {
    let a = randn::<M34>(&[3, 4], 11);
    let b = randn::<(C<4>,)>(&[4], 12);
    let zero = Tensor::<(C<1>,), Cpu64>::zeros(&Cpu64::default(), &[1]).unwrap();
    let mask = a.gt(&zero).unwrap();
    grad2("where_", &a, &b, |a, b| a.where_(&mask, b));
    grad1("masked_fill", &a, |a| a.masked_fill(&mask, 2.0));
}

#[test]
fn reductions_along_each_axis() {
    let x = randn::<T234>(&[2, 3, 4], 13);
    grad1("sum::<0>", &x, |x| Ok(x.sum::<0>()));
    grad1("sum::<1>", &x, |x| Ok(x.sum::<1>()));
    grad1("sum_keepdim::<2>", &x, |x| Ok(x.sum_keepdim::<2>()));
    grad1("mean::<1>", &x, |x| Ok(x.mean::<1>()));
    grad1("mean_keepdim::<0>", &x, |x| Ok(x.mean_keepdim::<0>()));
    grad1("var::<2>", &x, |x| x.var::<2>());
    grad1("var_keepdim::<1>", &x, |x| x.var_keepdim::<1>());
    grad1("var_correction::<0>(0)", &x, |x| x.var_correction::<0>(0));
    grad1("max::<2>", &x, |x| Ok(x.max::<2>()));
    grad1("min_keepdim::<1>", &x, |x| Ok(x.min_keepdim::<1>()));
    grad1("logsumexp::<2>", &x, |x| x.logsumexp::<2>());
    grad1("logsumexp_keepdim::<0>", &x, |x| x.logsumexp_keepdim::<0>());
    grad1("norm::<1>(2)", &x, |x| Ok(x.norm::<1>(2.0)));
    grad1("norm_keepdim::<2>(3)", &x, |x| Ok(x.norm_keepdim::<2>(3.0)));
    grad1("softmax::<2>", &x, |x| x.softmax::<2>());
    grad1("softmax::<0>", &x, |x| x.softmax::<0>());
    grad1("log_softmax::<1>", &x, |x| x.log_softmax::<1>());
    grad1("sum_all", &x, |x| Ok(x.sum_all()));
    grad1("mean_all", &x, |x| Ok(x.mean_all()));
    grad1("max_all", &x, |x| Ok(x.max_all()));
    grad1("min_all", &x, |x| Ok(x.min_all()));
}

#[test]
fn shape_ops() {
    let x = randn::<T234>(&[2, 3, 4], 14);
    grad1("view", &x, |x| x.view::<(C<6>, C<4>)>());
    grad1("view with Dyn", &x, |x| x.view::<(Dyn, C<2>)>());
    grad1("reshape", &x, |x| x.clone().reshape::<(C<4>, C<6>)>(&[4, 6]));
    grad1("flatten", &x, |x| Ok(x.flatten()));
    grad1("permute", &x, |x| Ok(x.permute::<Axes3<2, 0, 1>>()));
    grad1("transpose", &x, |x| Ok(x.transpose::<0, 2>()));
    grad1("unsqueeze then permute", &x, |x| Ok(x.unsqueeze::<1>().permute::<Axes4<3, 1, 0, 2>>()));
    grad1("squeeze", &randn::<(C<2>, C<1>, C<4>)>(&[2, 1, 4], 15), |x| x.squeeze::<1>());
    grad1("expand", &randn::<(C<3>, C<1>)>(&[3, 1], 16), |x| x.expand::<T234>(&[2, 3, 4]));
    grad1("narrow", &x, |x| x.narrow::<2, 2>(1));
    grad1("narrow_dyn", &x, |x| x.narrow_dyn::<1>(1, 2));
    let y = randn::<(C<2>, C<2>, C<4>)>(&[2, 2, 4], 17);
    grad2("cat::<1>", &x, &y, |a, b| a.cat::<1, C<5>, _>(b));
    grad2("cat_all::<0>", &x, &x.mul_scalar(2.0), |a, b| {
        Tensor::cat_all::<0>(&[a, &b.mul_scalar(3.0)])
    });
    grad2("stack::<1>", &x, &x, |a, b| Tensor::stack::<1>(&[a, &b.exp()]));
    grad1("split::<2>", &x, |x| {
        let parts = x.split::<2>(3)?;
        parts[0].sum::<2>().mul(&parts[1].sum::<2>())
    });
    grad1("chunk::<1>", &x, |x| {
        let parts = x.chunk::<1>(2)?;
        Ok(parts[1].square())
    });
    grad1("repeat::<0>", &x, |x| x.repeat::<0>(3));
}

#[test]
fn indexing_ops() {
    let dev = Cpu64::default();
    let x = randn::<(C<4>, C<3>)>(&[4, 3], 18);
    grad1("index_select::<0> with repeats", &x, |x| x.index_select::<0>(&[3, 0, 3]));
    grad1("index_select::<1>", &x, |x| x.index_select::<1>(&[2, 1]));
    let idx = Tensor::<(C<4>, C<2>), Cpu64>::from_vec(
        &dev,
        &[4, 2],
        vec![2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 2.0, 1.0],
    )
    .unwrap();
    grad1("gather::<1>", &x, |x| x.gather::<1, _>(&idx));
    let src = randn::<(C<4>, C<2>)>(&[4, 2], 19);
    grad2("scatter_add::<1>", &x, &src, |x, s| x.scatter_add::<1, _>(&idx, s));
}

#[test]
fn products() {
    let a = randn::<M34>(&[3, 4], 20);
    let b = randn::<(C<4>, C<2>)>(&[4, 2], 21);
    grad2("matmul 2-D", &a, &b, |a, b| a.matmul(b));
    let a3 = randn::<T234>(&[2, 3, 4], 22);
    let b3 = randn::<(C<1>, C<4>, C<5>)>(&[1, 4, 5], 23);
    grad2("matmul batch-broadcast", &a3, &b3, |a, b| a.matmul(b));
    let q = randn::<(C<2>, C<2>, C<3>, C<4>)>(&[2, 2, 3, 4], 24);
    let k = randn::<(C<2>, C<1>, C<4>, C<3>)>(&[2, 1, 4, 3], 25);
    grad2("matmul 4-D", &q, &k, |a, b| a.matmul(b));
    grad2("outer", &randn::<(C<3>,)>(&[3], 26), &randn::<(C<4>,)>(&[4], 27), |a, b| Ok(a.outer(b)));
}
