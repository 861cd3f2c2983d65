//! Times loading a model ready to run (file -> IR -> burn module), for scripts/bench/load.py.
//!
//! `cargo run --release -p graft --example bench_load -- MODEL [REPEATS]` prints one JSON line:
//! `{"runs": [seconds...], "read": [...], "build": [...]}`.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bench_load MODEL [REPEATS]");
    let repeats: usize = args
        .next()
        .map(|r| r.parse().expect("a number"))
        .unwrap_or(5);
    let device = graft::default_device();
    let (mut runs, mut reads, mut builds) = (vec![], vec![], vec![]);
    for _ in 0..repeats {
        let t = Instant::now();
        let graph = graft::load_graph(&path).expect("loads");
        let read = t.elapsed().as_secs_f64();
        let model = graft::Model::new(graph, &device).expect("builds");
        let total = t.elapsed().as_secs_f64();
        drop(model);
        runs.push(total);
        reads.push(read);
        builds.push(total - read);
    }
    println!("{{\"runs\": {runs:?}, \"read\": {reads:?}, \"build\": {builds:?}}}");
}
