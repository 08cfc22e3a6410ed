//! Learning-rate schedules against PyTorch's schedulers (tests/fixtures/pytorch_schedules.py).

use shapeflow::optim::{
    CosineAnnealingLr, ExponentialLr, LinearLr, LrSchedule, OneCycleLr, StepLr,
};

use crate::support::{assert_close, nums};

fn check(key: &str, schedule: &dyn LrSchedule) {
    let f: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/pytorch_schedules.json")).unwrap();
    let base = f["base_lr"].as_f64().unwrap();
    let want = nums(&f["cases"][key]);
    let got: Vec<f64> = (0..want.len()).map(|t| schedule.lr(base, t)).collect();
    // PyTorch computes most schedules recursively; the closed forms agree to rounding.
    assert_close(key, &got, &want, 1e-9, 1e-12);
}

#[test]
fn step_lr_matches_pytorch() {
    check("step_7_0.5", &StepLr { step_size: 7, gamma: 0.5 });
}

#[test]
fn exponential_lr_matches_pytorch() {
    check("exponential_0.9", &ExponentialLr { gamma: 0.9 });
}

#[test]
fn cosine_annealing_matches_pytorch() {
    check("cosine_10_0.001", &CosineAnnealingLr { t_max: 10, eta_min: 0.001 });
}

#[test]
fn linear_warmup_matches_pytorch() {
    check("linear_warmup_0.1_5", &LinearLr { start_factor: 0.1, end_factor: 1.0, total_iters: 5 });
}

#[test]
fn one_cycle_matches_pytorch() {
    check("one_cycle_1.0_25", &OneCycleLr::new(1.0, 25));
    check(
        "one_cycle_0.5_25_pct0.4",
        &OneCycleLr {
            max_lr: 0.5,
            total_steps: 25,
            pct_start: 0.4,
            div_factor: 10.0,
            final_div_factor: 100.0,
        },
    );
}
