//! Prints the summary of a Keras file: `cargo run --example inspect -- model.h5`.
fn main() {
    for path in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        match graft_keras::load_model(&path) {
            Ok(m) => {
                let elapsed = t.elapsed();
                let s = m.graph.summary(&Default::default()).unwrap();
                let lines: Vec<&str> = s.lines().collect();
                for l in lines.iter().take(12) {
                    println!("{l}");
                }
                println!("...");
                for l in lines
                    .iter()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    println!("{l}");
                }
                println!(
                    "{path}: {:?} {:?} loaded in {elapsed:?}",
                    m.format, m.dialect
                );
            }
            Err(e) => println!("error: {e}"),
        }
    }
}
