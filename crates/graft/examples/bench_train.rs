//! graft's side of the training benchmark (`scripts/bench/train.sh`): prints one JSON line.
//!
//!   bench_train frozen   BASE.h5 X.npy Y.npy EPOCHS BATCH
//!       new Dense head on the frozen base (whose output is already pooled), `fit` for EPOCHS
//!       epochs on the arrays, feature caching on (graft's default): {"seconds", "cached", ...}
//!   bench_train finetune BASE.h5 X.npy Y.npy STEPS BATCH
//!       every layer trainable, the ImageDataGenerator pipeline of the augmentation benchmark
//!       (rotation 20, shifts 0.1, shear 10, zoom 0.2, horizontal flip) on the 0-255 arrays,
//!       one warm-up step then STEPS timed steps: {"images_per_second", ...}
//!
//! Process start, loading and building are not timed (Keras' side times `fit` alone too).

use std::time::Instant;

use graft::data::{FlowOptions, ImageDataGenerator, Shift};
use graft::train::callbacks::Callback;
use graft::train::{
    ArrayData, CompileOptions, DataSource, FitOptions, Head, HeadPooling, Logs, Loss, Metric,
    OptimizerConfig, TrainError, TrainState, Trainer, Verbosity,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, base, x, y, count, batch] = args.as_slice() else {
        return Err(
            "usage: bench_train frozen|finetune BASE.h5 X.npy Y.npy EPOCHS|STEPS BATCH".into(),
        );
    };
    let count: usize = count.parse()?;
    let batch: usize = batch.parse()?;
    let x = graft::npy::read(x)?;
    let y = graft::npy::read(y)?;
    let classes = y.data().iter().fold(0f32, |m, &v| m.max(v)) as usize + 1;

    let mut graph = Head::classifier(classes)
        .pooling(HeadPooling::None)
        .seed(1)
        .attach(&graft::load_graph(base)?)?;
    let frozen = mode == "frozen";
    if frozen {
        graph.freeze_until(graph.layers.len() as i64 - 2)?;
    } else {
        graph.set_all_trainable(true);
    }
    let model = graft::Model::new(graph, &graft::default_device())?;
    let mut trainer = Trainer::compile(
        model,
        CompileOptions {
            optimizer: OptimizerConfig::adam(1e-3),
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            metrics: vec![Metric::Accuracy],
        },
    )?;
    let quiet = |epochs, callbacks| FitOptions {
        epochs,
        verbosity: Verbosity::Quiet,
        callbacks,
        ..Default::default()
    };

    if frozen {
        let data = ArrayData::new(vec![x], y)?.batch_size(batch).seed(1);
        let start = Instant::now();
        trainer.fit(&data, None, quiet(count, vec![]))?;
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{{\"seconds\": {seconds:.3}, \"cached\": {}, \"images\": {}, \"epochs\": {count}}}",
            trainer.last_cache.is_some(),
            data.len()
        );
    } else {
        let shape = x.shape().to_vec();
        let n = (count + 1) * batch;
        let samples = shape[0].min(n);
        let per: usize = shape[1..].iter().product();
        let pixels = x.data()[..samples * per].to_vec();
        let labels = y.data()[..samples].to_vec();
        let flow = ImageDataGenerator::new()
            .rotation_range(20.0)
            .width_shift_range(Shift::Fraction(0.1))
            .height_shift_range(Shift::Fraction(0.1))
            .shear_range(10.0)
            .zoom_range(0.2)
            .horizontal_flip(true)
            .flow(
                pixels,
                [samples, shape[1], shape[2], shape[3]],
                Some(labels),
                FlowOptions {
                    batch_size: batch,
                    seed: Some(1),
                    ..Default::default()
                },
            )?;
        let timer = StepTimer::default();
        let seconds = timer.seconds.clone();
        trainer.fit(&flow, None, quiet(1, vec![Box::new(timer)]))?;
        let times = seconds.lock().expect("timer").clone();
        // The first step warms up (allocations, thread pools); the rest are timed.
        let timed: f64 = times.iter().skip(1).sum();
        let steps = times.len().saturating_sub(1).max(1);
        println!(
            "{{\"images_per_second\": {:.3}, \"steps\": {steps}, \"batch\": {batch}, \"step_seconds\": {times:?}}}",
            (steps * batch) as f64 / timed
        );
    }
    Ok(())
}

/// Wall time of each training step, from batch begin to batch end.
#[derive(Default)]
struct StepTimer {
    started: Option<Instant>,
    seconds: std::sync::Arc<std::sync::Mutex<Vec<f64>>>,
}

impl Callback for StepTimer {
    fn on_batch_begin(
        &mut self,
        _step: usize,
        _steps: usize,
        _state: &mut TrainState,
    ) -> Result<(), TrainError> {
        self.started = Some(Instant::now());
        Ok(())
    }

    fn on_batch_end(
        &mut self,
        _step: usize,
        _logs: &Logs,
        _state: &mut TrainState,
    ) -> Result<(), TrainError> {
        if let Some(t) = self.started.take() {
            self.seconds
                .lock()
                .expect("timer")
                .push(t.elapsed().as_secs_f64());
        }
        Ok(())
    }
}
