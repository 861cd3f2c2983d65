//! Augmentation throughput: the rotation 20 / shift 0.1 / shear 10 / zoom 0.2 / horizontal flip /
//! rescale pipeline, in memory (`flow`) and from a JPEG folder (`flow_from_directory`, decode + resize to
//! 224 + augment). Driven by scripts/bench/augment.sh, which runs tf_keras side by side; on its own
//! (`cargo bench`) it measures `flow` on random images.
//!
//! Usage: augment flow [--raw FILE] [--f32] [--n N] [--threads T] [--batches B]
//!        augment dir --dir DIR [--threads T] [--batches B]
//! Prints one line: `<mode> threads=<T> images=<n> seconds=<s> img_per_s=<rate>`.

use graft_data::{ClassMode, FlowFromDirectoryOptions, FlowOptions, ImageDataGenerator, Shift};
use std::time::Instant;

fn generator() -> ImageDataGenerator {
    ImageDataGenerator::new()
        .rotation_range(20.0)
        .width_shift_range(Shift::Fraction(0.1))
        .height_shift_range(Shift::Fraction(0.1))
        .shear_range(10.0)
        .zoom_range(0.2)
        .horizontal_flip(true)
        .rescale(1.0 / 255.0)
}

struct Args {
    mode: String,
    raw: Option<String>,
    dir: Option<String>,
    n: usize,
    threads: usize,
    batches: usize,
    f32: bool,
}

fn parse() -> Args {
    let mut args = Args {
        mode: "flow".into(),
        raw: None,
        dir: None,
        n: 256,
        threads: 2,
        batches: 32,
        f32: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().expect("missing value");
        match a.as_str() {
            "flow" | "dir" | "kernel" | "decode" => args.mode = a,
            "--raw" => args.raw = Some(value()),
            "--dir" => args.dir = Some(value()),
            "--n" => args.n = value().parse().expect("--n"),
            "--threads" => args.threads = value().parse().expect("--threads"),
            "--batches" => args.batches = value().parse().expect("--batches"),
            "--f32" => args.f32 = true,
            // `cargo bench` passes --bench.
            _ => {}
        }
    }
    args
}

/// One thread: the per-file cost of reading and decoding the JPEG folder (best of five).
fn decode(dir: &str) {
    let files: Vec<std::path::PathBuf> = walk(std::path::Path::new(dir));
    let options = graft_data::DecodeOptions::default();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let cpu_start = thread_cpu_seconds();
        for file in &files {
            graft_data::decode_file(file, graft_data::ColorMode::Rgb, &options).expect("decode");
        }
        best = best.min(thread_cpu_seconds() - cpu_start);
    }
    println!(
        "decode files={} cpu_us_per_image={:.1}",
        files.len(),
        best * 1e6 / files.len() as f64
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// One thread, no iterator: the per-image augment + rescale cost, on f32 and u8 input.
fn kernel(images: usize) {
    let shape = graft_data::ImageShape::new(224, 224, 3);
    let src_u8: Vec<u8> = (0..shape.len())
        .map(|i| ((i as u64).wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let src_f32: Vec<f32> = src_u8.iter().map(|&v| f32::from(v)).collect();
    time_kernel("kernel f32", &src_f32, shape, images);
    time_kernel("kernel u8", &src_u8, shape, images);
}

fn time_kernel<T: graft_data::Sample>(
    name: &str,
    src: &[T],
    shape: graft_data::ImageShape,
    images: usize,
) {
    let generator = generator();
    let mut dst = vec![0.0f32; shape.len()];
    // Best of five repetitions: on a shared machine the minimum is the cost of the work itself.
    let (mut best_wall, mut best_cpu) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let cpu_start = thread_cpu_seconds();
        let start = Instant::now();
        for i in 0..images as u64 {
            let p = generator.random_transform_params(224, 224, 1, 0, i);
            generator
                .transform_and_standardize(src, shape, &p, &mut dst)
                .expect("transform");
        }
        best_wall = best_wall.min(start.elapsed().as_secs_f64());
        best_cpu = best_cpu.min(thread_cpu_seconds() - cpu_start);
    }
    println!(
        "{name} threads=1 images={images} seconds={best_wall:.3} img_per_s={:.1} \
         us_per_image={:.1} cpu_us_per_image={:.1}",
        images as f64 / best_wall,
        best_wall * 1e6 / images as f64,
        best_cpu * 1e6 / images as f64
    );
}

/// CPU time of the calling thread (user + system) from /proc, in seconds (0 where unavailable): on a
/// shared machine it shows the cost of the work itself, whatever else competes for the cores.
fn thread_cpu_seconds() -> f64 {
    cpu_seconds("/proc/thread-self/stat")
}

/// CPU time (user + system) from a /proc stat file: the thread's or, from /proc/self/stat, the whole
/// process's.
fn cpu_seconds(stat_file: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(stat_file) else {
        return 0.0;
    };
    // Fields after the command name (which ends with ')'): utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let args = parse();
    if args.mode == "kernel" {
        return kernel(args.batches * 32);
    }
    if args.mode == "decode" {
        return decode(args.dir.as_deref().expect("decode mode needs --dir"));
    }
    let flow = if args.mode == "dir" {
        let dir = args.dir.as_deref().expect("dir mode needs --dir");
        generator()
            .flow_from_directory(
                dir,
                FlowFromDirectoryOptions {
                    target_size: (224, 224),
                    class_mode: ClassMode::Categorical,
                    batch_size: 32,
                    seed: Some(1),
                    num_threads: Some(args.threads),
                    ..Default::default()
                },
            )
            .expect("flow_from_directory")
    } else {
        let values = 224 * 224 * 3;
        let bytes: Vec<u8> = match &args.raw {
            Some(path) => std::fs::read(path).expect("raw images"),
            None => (0..args.n * values)
                .map(|i| ((i as u64).wrapping_mul(2_654_435_761) >> 11) as u8)
                .collect(),
        };
        let n = bytes.len() / values;
        // `--f32` stores the images as f32, as Keras does; by default they stay bytes.
        let x: graft_data::ImageArray = if args.f32 {
            bytes
                .iter()
                .map(|&b| f32::from(b))
                .collect::<Vec<f32>>()
                .into()
        } else {
            bytes.into()
        };
        generator()
            .flow(
                x,
                [n, 224, 224, 3],
                None,
                FlowOptions {
                    batch_size: 32,
                    seed: Some(1),
                    num_threads: Some(args.threads),
                    ..Default::default()
                },
            )
            .expect("flow")
    };
    // Warm-up: one batch (page-in, thread start).
    flow.batch(0, 0).expect("warm-up batch");
    let cpu_start = cpu_seconds("/proc/self/stat");
    let start = Instant::now();
    let mut images = 0;
    let mut epoch = 0;
    'outer: loop {
        for batch in flow.epoch(epoch) {
            let batch = batch.expect("batch");
            images += batch.len();
            // As a training loop would, once done with the batch.
            flow.recycle(batch);
            if images >= args.batches * 32 {
                break 'outer;
            }
        }
        epoch += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds("/proc/self/stat") - cpu_start;
    println!(
        "{} threads={} images={images} seconds={seconds:.3} img_per_s={:.1} cpu_us_per_image={:.1} \
         cores_used={:.2}",
        args.mode,
        args.threads,
        images as f64 / seconds,
        cpu * 1e6 / images as f64,
        cpu / seconds
    );
}
