//! graft-train's optimizers and learning-rate schedules against Keras 3.15.1
//! (tests/fixtures/keras/optimizers.json, written by scripts/fixtures/optimizers.py).
//!
//! - Optimizers: the same float32 variables and gradients go through each Keras optimizer
//!   (`apply_gradients`) and through graft's `OptimizerConfig` the way `fit` runs it (autodiff
//!   gradients of `sum(w * g)`, burn's `ModuleOptimizer`, gradient clipping); the variables must
//!   agree after every step.
//! - Schedules: each graft `Schedule` against the Keras schedule object it mirrors, step by step,
//!   both as a formula and as the rate `fit` actually sets before every batch.
//! - `Schedule::PerEpoch`: the rates Keras' `LearningRateScheduler(schedule)` logged in a real
//!   `model.fit`, against graft's history.
//!
//! Tolerances. graft runs Keras' float32 operations in Keras' order and forms its scalars as Keras
//! does, so on this CPU every case agrees bit for bit (`global_clipnorm` included) except
//! `clipnorm` (burn's clip formula,
//! within an ulp: 1e-8). Weights are compared with `|graft - keras| <= 1e-5 * max|keras|` per
//! variable and step, room for another CPU's or libm's last-bit differences (`powf`, fused
//! multiply-adds) accumulated over the steps. It is not room for a different rule: the previous
//! graft rules (burn's PyTorch-style L2 decay, epsilon placement, Adagrad starting at 0, the rate
//! outside SGD's momentum) missed Keras by 3e-3 to 0.16 on every case where they differ (SGD at
//! a constant rate, with or without momentum, was already equivalent), and
//! `optimizer_cases_are_distinguishable` keeps every case 1e-4 away from every other. Schedules
//! are float64 formulas against Keras' float32 values: within 1e-6 of the schedule's largest
//! value (Keras' float32 cosine is off by up to ~1e-6 relative near its floor, where the value
//! is 1e4 times smaller than the peak; the old graft cosine, climbing back after its end, missed
//! by 3x).

use std::sync::{Arc, Mutex};

use graft::train::callbacks::{Callback, LearningRateScheduler, Schedule};
use graft::train::{Optimizer, OptimizerConfig, TrainError, TrainState, Trainer};
use graft_tests::tasks::{compile_options, data, mlp, quiet_fit};
use serde_json::Value;

fn reference() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keras/optimizers.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// graft's optimizer for a Keras class and its constructor arguments. Arguments the fixture
/// leaves out take graft's defaults, which must be Keras' for the results to agree.
fn graft_optimizer(class: &str, kwargs: &Value) -> OptimizerConfig {
    let known = [
        "learning_rate",
        "momentum",
        "nesterov",
        "beta_1",
        "beta_2",
        "epsilon",
        "amsgrad",
        "weight_decay",
        "rho",
        "centered",
        "clipnorm",
        "clipvalue",
        "global_clipnorm",
    ];
    for key in kwargs.as_object().unwrap().keys() {
        assert!(
            known.contains(&key.as_str()),
            "{class}: argument {key} not mapped"
        );
    }
    let f = |k: &str| kwargs[k].as_f64();
    let f32_or = |k: &str, default: f32| f(k).map_or(default, |v| v as f32);
    let b = |k: &str| kwargs[k].as_bool().unwrap_or(false);
    // A scheduled rate is passed per step instead.
    let lr = f("learning_rate").unwrap_or(f64::NAN);
    let mut config = match class {
        "SGD" => OptimizerConfig::sgd_momentum(lr, f32_or("momentum", 0.0), b("nesterov")),
        "Adam" | "AdamW" => {
            let mut c = if class == "Adam" {
                OptimizerConfig::adam(lr)
            } else {
                OptimizerConfig::from_keras_name("adamw", Some(lr)).unwrap()
            };
            match &mut c.optimizer {
                Optimizer::Adam {
                    beta_1,
                    beta_2,
                    epsilon,
                    amsgrad,
                } => {
                    (*beta_1, *beta_2) = (f32_or("beta_1", *beta_1), f32_or("beta_2", *beta_2));
                    *epsilon = f32_or("epsilon", *epsilon);
                    *amsgrad = b("amsgrad");
                }
                Optimizer::AdamW {
                    beta_1,
                    beta_2,
                    epsilon,
                    weight_decay,
                } => {
                    (*beta_1, *beta_2) = (f32_or("beta_1", *beta_1), f32_or("beta_2", *beta_2));
                    *epsilon = f32_or("epsilon", *epsilon);
                    *weight_decay = f32_or("weight_decay", *weight_decay);
                }
                _ => unreachable!(),
            }
            c
        }
        "RMSprop" => {
            let mut c = OptimizerConfig::rmsprop(lr);
            if let Optimizer::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } = &mut c.optimizer
            {
                *rho = f32_or("rho", *rho);
                *momentum = f32_or("momentum", *momentum);
                *epsilon = f32_or("epsilon", *epsilon);
                *centered = b("centered");
            }
            c
        }
        "Adagrad" => OptimizerConfig::adagrad(lr),
        other => panic!("no graft optimizer for keras.optimizers.{other}"),
    };
    if class != "AdamW" {
        config.weight_decay = f("weight_decay").map(|d| d as f32);
    }
    config.clipnorm = f("clipnorm").map(|c| c as f32);
    config.clipvalue = f("clipvalue").map(|c| c as f32);
    config.global_clipnorm = f("global_clipnorm").map(|c| c as f32);
    config
}

/// graft's `Schedule` named by a fixture's `graft` parameters.
fn graft_schedule(name: &str, p: &Value) -> Schedule {
    let f = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{name}: {k}"));
    let u = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("{name}: {k}")) as usize;
    match name {
        "step" => Schedule::Step {
            initial: f("initial"),
            factor: f("factor"),
            every_epochs: u("every_epochs"),
        },
        "exponential" => Schedule::Exponential {
            initial: f("initial"),
            rate: f("rate"),
            decay_epochs: f("decay_epochs"),
        },
        "cosine" => Schedule::Cosine {
            initial: f("initial"),
            epochs: u("epochs"),
            alpha: f("alpha"),
        },
        "warmup_cosine" => Schedule::WarmupCosine {
            peak: f("peak"),
            warmup_epochs: u("warmup_epochs"),
            epochs: u("epochs"),
            alpha: f("alpha"),
        },
        "one_cycle" => Schedule::OneCycle {
            max: f("max"),
            epochs: u("epochs"),
            pct_start: f("pct_start"),
            div_factor: f("div_factor"),
            final_div_factor: f("final_div_factor"),
        },
        other => panic!("unknown schedule {other}"),
    }
}

/// `max |a - b| / max |b|` over one variable.
fn relative_max_diff(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f64, |m, &w| m.max(w.abs() as f64));
    let diff = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (&g, &w)| m.max((g as f64 - w as f64).abs()));
    diff / scale.max(f64::MIN_POSITIVE)
}

#[test]
fn optimizers_match_keras_step_by_step() {
    let r = reference();
    let variables: Vec<Vec<f32>> = r["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| floats(&v["values"]))
        .collect();
    let gradients: Vec<Vec<Vec<f32>>> = r["gradients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step.as_array().unwrap().iter().map(floats).collect())
        .collect();
    let cases = r["optimizers"].as_array().unwrap();
    assert!(cases.len() >= 16, "every optimizer case is in the fixture");

    let mut failures = vec![];
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let config = graft_optimizer(case["keras_class"].as_str().unwrap(), &case["kwargs"]);
        // The rate of each step: graft's own schedule where Keras used one, checked against the
        // rate Keras' optimizer reported; the constant rate otherwise.
        let keras_lrs = f64s(&case["learning_rates"]);
        let lrs: Vec<f64> = match case["learning_rate_schedule"].as_object() {
            Some(s) => {
                assert_eq!(s["class_name"], "ExponentialDecay");
                // ExponentialDecay(initial, decay_steps, rate) is graft's Exponential schedule
                // with one step per epoch.
                let schedule = Schedule::Exponential {
                    initial: s["initial_learning_rate"].as_f64().unwrap(),
                    rate: s["decay_rate"].as_f64().unwrap(),
                    decay_epochs: s["decay_steps"].as_f64().unwrap(),
                };
                (0..keras_lrs.len())
                    .map(|step| schedule.learning_rate(step, 1).unwrap())
                    .collect()
            }
            None => vec![config.learning_rate; keras_lrs.len()],
        };
        for (step, (&ours, &keras)) in lrs.iter().zip(&keras_lrs).enumerate() {
            assert!(
                (ours - keras).abs() <= 1e-7 * keras,
                "{name}: step {step} learning rate {ours} vs Keras {keras}"
            );
        }

        let after = config.run_on_gradients(&variables, &gradients, &lrs);
        let mut worst = 0f64;
        for (step, want_step) in case["after"].as_array().unwrap().iter().enumerate() {
            for (var, want) in want_step.as_array().unwrap().iter().enumerate() {
                let d = relative_max_diff(&after[step][var], &floats(want));
                worst = worst.max(d);
                if d > 1e-5 {
                    failures.push(format!(
                        "{name}: step {step} variable {var}: relative max diff {d:.3e}\n  graft {:?}\n  keras {:?}",
                        after[step][var],
                        floats(want)
                    ));
                }
            }
        }
        println!("{name:32} worst relative max diff {worst:.3e}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The weights move under every case, and the cases differ from each other: a comparison that
/// matched for a no-op optimizer would be worthless.
#[test]
fn optimizer_cases_are_distinguishable() {
    let r = reference();
    let initial: Vec<f32> = r["variables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| floats(&v["values"]))
        .collect();
    let finals: Vec<(String, Vec<f32>)> = r["optimizers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let last = c["after"].as_array().unwrap().last().unwrap();
            let flat = last.as_array().unwrap().iter().flat_map(floats).collect();
            (c["name"].as_str().unwrap().to_string(), flat)
        })
        .collect();
    for (i, (a, wa)) in finals.iter().enumerate() {
        assert!(relative_max_diff(wa, &initial) > 1e-3, "{a} did not move");
        for (b, wb) in &finals[i + 1..] {
            assert!(
                relative_max_diff(wa, wb) > 1e-4,
                "{a} and {b} end at the same weights"
            );
        }
    }
}

#[test]
fn schedules_match_keras_formulas() {
    let r = reference();
    let spe = r["steps_per_epoch"].as_u64().unwrap() as usize;
    let cases = r["schedules"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let schedule = graft_schedule(name, &case["graft"]);
        let keras = f64s(&case["values"]);
        let peak = keras.iter().cloned().fold(0f64, f64::max);
        let mut worst = 0f64;
        for (step, &want) in keras.iter().enumerate() {
            let got = schedule.learning_rate(step, spe).unwrap();
            let d = (got - want).abs() / peak;
            worst = worst.max(d);
            assert!(
                d <= 1e-6,
                "{name}: step {step}: graft {got} vs Keras {want} ({} {})",
                case["keras_class"],
                case["kwargs"]
            );
        }
        println!("{name:16} worst diff / peak {worst:.3e}");
    }
}

/// Records the learning rate each batch trains with (state.lr once every callback before it has
/// run its `on_batch_begin`).
struct RecordLr(Arc<Mutex<Vec<f64>>>);

impl Callback for RecordLr {
    fn on_batch_begin(
        &mut self,
        _: usize,
        _: usize,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        self.0.lock().unwrap().push(state.lr);
        Ok(())
    }
}

/// The schedules through `fit`: the rate set before each batch is Keras' schedule at the
/// optimizer's step count (48 samples in batches of 16: the fixture's 3 steps per epoch).
#[test]
fn fit_trains_each_batch_at_the_keras_scheduled_rate() {
    let r = reference();
    let spe = r["steps_per_epoch"].as_u64().unwrap() as usize;
    let (train, _) = data(16 * spe);
    for case in r["schedules"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let keras = f64s(&case["values"]);
        let model = graft::Model::new(mlp(), &graft::default_device()).expect("model");
        let mut trainer = Trainer::compile(model, compile_options(1.0)).expect("compile");
        let seen = Arc::new(Mutex::new(vec![]));
        let callbacks: Vec<Box<dyn Callback>> = vec![
            Box::new(LearningRateScheduler::new(graft_schedule(
                name,
                &case["graft"],
            ))),
            Box::new(RecordLr(seen.clone())),
        ];
        trainer
            .fit(&train, None, quiet_fit(keras.len() / spe, callbacks))
            .expect("fit");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), keras.len(), "{name}: one rate per batch");
        let peak = keras.iter().cloned().fold(0f64, f64::max);
        for (step, (&got, &want)) in seen.iter().zip(&keras).enumerate() {
            assert!(
                (got - want).abs() <= 1e-6 * peak,
                "{name}: batch {step} trained at {got}, Keras' schedule gives {want}"
            );
        }
    }
}

/// Keras' `LearningRateScheduler(schedule)` with a closure: called at each epoch's start with
/// the 0-based epoch and the current rate; the rate is logged as `learning_rate`.
#[test]
fn per_epoch_closure_matches_keras_learning_rate_scheduler() {
    let r = reference();
    let p = &r["per_epoch"];
    let knee = p["knee_epoch"].as_u64().unwrap() as usize;
    let exponent = p["factor_exponent"].as_f64().unwrap();
    let keras = f64s(&p["learning_rates"]);
    let initial = p["initial_learning_rate"].as_f64().unwrap();
    // The same closure as the Keras run (its docs' example).
    let schedule = Schedule::PerEpoch(Arc::new(move |epoch, lr| {
        if epoch < knee {
            lr
        } else {
            lr * exponent.exp()
        }
    }));
    let (train, _) = data(32);
    let model = graft::Model::new(mlp(), &graft::default_device()).expect("model");
    let mut trainer = Trainer::compile(model, compile_options(initial)).expect("compile");
    let history = trainer
        .fit(
            &train,
            None,
            quiet_fit(
                keras.len(),
                vec![Box::new(LearningRateScheduler::new(schedule))],
            ),
        )
        .expect("fit");
    let logged = history
        .get("learning_rate")
        .expect("learning_rate logged")
        .to_vec();
    assert_eq!(logged.len(), keras.len());
    for (epoch, (&got, &want)) in logged.iter().zip(&keras).enumerate() {
        // Keras keeps the rate in a float32 variable and hands the closure that rounded value.
        assert!(
            (got - want).abs() <= 1e-6 * want,
            "epoch {epoch}: graft {got} vs Keras {want}"
        );
    }
}
