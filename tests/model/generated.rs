//! What `model!` generates: forward/backward, names, summary, training.

use shapeflow::prelude::*;

use crate::support::{check_layer, input};

model! {
    /// Every built-in layer kind in one model.
    pub struct Everything {
        input: [6],
        fc1: Linear<6, 8>,
        act1: Tanh,
        fc2: Linear<8, 8>,
        act2: Gelu,
        fc3: Linear<8, 7>,
        act3: LeakyRelu<0.2>,
        drop: Dropout<p = 0.25>,
        fc4: Linear<7, 5>,
        act4: Sigmoid,
        fc5: Linear<5, 4>,
        act5: Relu,
        fc6: Linear<4, 3>,
        sm: Softmax,
        fc7: Linear<3, 3>,
        out: LogSoftmax,
    }
}

model! {
    /// Dropout-free, so inference and training forward agree (what the gradient check needs).
    struct Deterministic {
        input: [5],
        fc1: Linear<5, 6>,
        act1: Tanh,
        fc2: Linear<6, 4>,
        act2: Gelu,
        fc3: Linear<4, 4>,
        act3: LeakyRelu<negative_slope = 0.1>,
        fc4: Linear<4, 3>,
        act4: Sigmoid,
        fc5: Linear<3, 3>,
        sm: LogSoftmax,
    }
}

#[test]
fn whole_model_gradient_check() {
    let mut m = Deterministic::<Cpu64>::new(&Cpu64::default(), 3);
    let x = input::<(Dyn, Const<5>)>(&[3, 5], 21);
    check_layer("Deterministic model", &mut m, &x);
}

#[test]
fn parameter_names_follow_pytorch_state_dict() {
    let m = Everything::<Cpu>::new(&Cpu::default(), 0);
    let names = m.param_names();
    assert_eq!(
        names,
        [
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "fc3.weight",
            "fc3.bias",
            "fc4.weight",
            "fc4.bias",
            "fc5.weight",
            "fc5.bias",
            "fc6.weight",
            "fc6.bias",
            "fc7.weight",
            "fc7.bias"
        ]
    );
    assert_eq!(
        m.num_params(),
        (6 * 8 + 8)
            + (8 * 8 + 8)
            + (8 * 7 + 7)
            + (7 * 5 + 5)
            + (5 * 4 + 4)
            + (4 * 3 + 3)
            + (3 * 3 + 3)
    );
    assert_eq!(m.fc1.weight.dims(), &[8, 6]);
    assert_eq!(m.drop.p, 0.25);
    assert_eq!(m.act3.negative_slope, 0.2);
}

#[test]
fn summary_lists_every_layer_with_shapes_and_params() {
    let m = Everything::<Cpu>::new(&Cpu::default(), 0);
    let s = m.summary();
    assert_eq!(s.rows.len(), 15);
    assert_eq!(s.rows[0].kind, "Linear<6, 8>");
    assert_eq!(s.rows[0].output, "[batch, 8]");
    assert_eq!(s.rows[0].params, 56);
    assert_eq!(s.rows[6].kind, "Dropout<0.25>");
    let text = s.to_string();
    assert!(text.contains("Model: Everything (input [batch, 6])"), "{text}");
    assert!(text.contains(&format!("Total params: {}", m.num_params())), "{text}");
}

#[test]
fn same_seed_same_model_and_inference_is_deterministic() {
    let dev = Cpu::default();
    let a = Everything::<Cpu>::new(&dev, 9);
    let b = Everything::<Cpu>::new(&dev, 9);
    let c = Everything::<Cpu>::new(&dev, 10);
    assert_eq!(a.fc1.weight.to_vec(), b.fc1.weight.to_vec());
    assert_ne!(a.fc1.weight.to_vec(), c.fc1.weight.to_vec());
    let x = EverythingInput::<Cpu>::from_batch(&dev, 2, vec![0.3; 12]).unwrap();
    let y: EverythingOutput<Cpu> = a.forward(&x);
    assert_eq!(y.to_vec(), b.forward(&x).to_vec());
    assert_eq!(y.dims(), &[2, 3]);
}

#[test]
fn training_lowers_the_loss_on_a_learnable_problem() {
    let dev = Cpu::default();
    let mut m = Everything::<Cpu>::new(&dev, 1);
    let mut rng = Rng::new(2);
    let n = 64;
    let mut xs = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..n {
        let v: Vec<f32> = (0..6).map(|_| rng.normal() as f32).collect();
        labels.push(if v[0] + v[1] > 0.5 {
            2
        } else if v[2] > 0.0 {
            1
        } else {
            0
        });
        xs.extend(v);
    }
    let x = EverythingInput::<Cpu>::from_batch(&dev, n, xs).unwrap();
    let mut opt = Adam::new(&m, AdamConfig { lr: 1e-2, ..Default::default() });
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..200 {
        let (logp, cache) = m.forward_train(&x);
        let (loss, dlogp) = nll_loss(&logp, &labels).unwrap();
        first.get_or_insert(loss);
        last = loss;
        let grads = m.backward(&cache, &dlogp).unwrap();
        opt.step(&mut m, &grads).unwrap();
    }
    let first = first.unwrap();
    // A deliberately awkward stack (a 3-wide softmax bottleneck, dropout): a clear drop is enough.
    assert!(last < 0.7 * first, "loss went from {first} to {last}");
}

model! {
    /// The model `docs/shape-errors.md` describes.
    pub struct Mlp784 {
        input: [784],
        fc1: Linear<784, 10>,
    }
}

/// What `type_name` (and so debuggers, rustdoc and editors) show for a model's types: decimal.
#[test]
fn generated_types_print_their_sizes_in_decimal() {
    assert_eq!(
        std::any::type_name::<Mlp784Input<Cpu>>(),
        "shapeflow_core::tensor::Tensor<(shapeflow_core::dim::Dyn, shapeflow_core::dim::Const<784>), shapeflow_cpu::CpuDevice<f32>>"
    );
    assert!(
        std::any::type_name::<Mlp784<Cpu>>().ends_with("::Mlp784<shapeflow_cpu::CpuDevice<f32>>")
    );
    let m = Mlp784::<Cpu>::new(&Cpu::default(), 0);
    assert!(
        std::any::type_name_of_val(&m.fc1)
            .contains("Linear<shapeflow_core::dim::Const<784>, shapeflow_core::dim::Const<10>,")
    );
}
