//! The profiler on generated models: every layer of nested models and sequences under its
//! PyTorch path, forward and backward, with the buffers it took; spans nested in time; the
//! table sorted by time; a Chrome trace that parses; and `fit` profiling the step it is asked.

use shapeflow::fit::{FitConfig, ProfileStep, Verbosity, fit};
use shapeflow::prelude::*;
use shapeflow::profile::{self, Phase};

use crate::param_models::Net;
use crate::support::input;

/// One training step of `Net` (parameterised blocks in sequences, a projection shortcut).
fn step(m: &mut Net<Cpu64>) {
    let x = input::<(Dyn, Const<2>, Const<8>, Const<8>)>(&[2, 2, 8, 8], 1);
    let (y, cache) = m.forward_train(&x);
    let dy = y.clone();
    m.backward(&cache, &dy).unwrap();
}

#[test]
fn every_layer_of_nested_models_is_profiled_under_its_pytorch_path() {
    let mut m = Net::<Cpu64>::new(&Cpu64::default(), 0);
    let ((), prof) = profile::record(|| step(&mut m));
    let has = |path: &str, phase: Phase| {
        prof.records().iter().any(|r| r.path == path && r.phase == phase && r.leaf)
    };
    for path in
        ["stem", "layer1.0.conv1", "layer2.0.downsample.0", "layer2.1.bn2", "widen.fc", "fc"]
    {
        assert!(has(path, Phase::Forward), "{path} forward missing: {:?}", prof.rows());
        assert!(has(path, Phase::Backward), "{path} backward missing");
    }
    // Containers are spans too, not rows of the table.
    assert!(prof.records().iter().any(|r| r.path == "layer2.0" && !r.leaf));
    assert!(prof.rows().iter().all(|r| r.path != "layer2" && r.path != "layer2.0"));
    // A layer's buffers: its output (2 × 3 × 8 × 8 doubles) at least.
    let stem = prof.rows().into_iter().find(|r| r.path == "stem").unwrap();
    assert!(stem.buffer_bytes >= 2 * 3 * 8 * 8 * 8, "{stem:?}");
    assert_eq!(stem.calls, 2);
}

#[test]
fn spans_nest_in_time_and_the_table_is_sorted() {
    let mut m = Net::<Cpu64>::new(&Cpu64::default(), 0);
    step(&mut m);
    let ((), prof) = profile::record(|| step(&mut m));
    let records = prof.records();
    for inner in records.iter().filter(|r| r.path.starts_with("layer2.0.")) {
        let outer = records
            .iter()
            .find(|r| r.path == "layer2.0" && r.phase == inner.phase)
            .expect("the block's span");
        assert!(
            inner.start >= outer.start
                && inner.start + inner.duration <= outer.start + outer.duration
        );
        assert!(inner.depth > outer.depth);
    }
    let rows = prof.rows();
    assert!(rows.windows(2).all(|w| w[0].total() >= w[1].total()));
    let table = prof.to_string();
    assert!(table.starts_with("Profile: "), "{table}");
    assert!(table.contains("layer2.0.downsample.0"), "{table}");
    let trace: serde_json::Value = serde_json::from_str(&prof.chrome_trace()).unwrap();
    assert_eq!(trace["traceEvents"].as_array().unwrap().len(), records.len());
}

#[test]
fn outside_a_recording_spans_record_nothing() {
    let mut m = Net::<Cpu64>::new(&Cpu64::default(), 0);
    step(&mut m);
    let ((), prof) = profile::record(|| ());
    assert!(prof.records().is_empty());
    // A recording inside another is empty; the outer one sees everything.
    let (inner, outer) = profile::record(|| profile::record(|| step(&mut m)).1);
    assert!(inner.records().is_empty());
    assert!(outer.records().iter().any(|r| r.path == "fc"));
}

#[test]
fn fit_profiles_the_step_it_is_asked_for_and_writes_its_trace() {
    let dev = Cpu64::default();
    let mut m = Net::<Cpu64>::new(&dev, 0);
    let data = shapeflow::data::Dataset::new(
        (0..6 * 128).map(|i| (i % 7) as f32 / 7.0).collect(),
        vec![0, 1, 0, 1, 1, 0],
        128,
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("shapeflow-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("step2.json");
    let cfg = FitConfig {
        batch_size: 2,
        verbosity: Verbosity::Quiet,
        profile: Some(ProfileStep { step: 2, trace: Some(trace.clone()) }),
        ..Default::default()
    };
    let mut opt = Sgd::new(&m, SgdConfig::default());
    let history = fit(&mut m, &mut opt, &dev, &data, &cfg, &mut []).unwrap();
    let prof = history.profile().expect("step 2 was profiled");
    let rows = prof.rows();
    for path in ["layer1.0.conv1", "loss", "update"] {
        assert!(rows.iter().any(|r| r.path == path), "{path} not in {rows:?}");
    }
    let text = std::fs::read_to_string(&trace).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["traceEvents"].as_array().is_some_and(|e| !e.is_empty()));
    std::fs::remove_dir_all(&dir).ok();
}
