//! Renders sample plots into a folder (default `/tmp/graft-plot-samples`) and prints how long
//! the DenseNet-sized layer graph takes: `cargo run --release -p graft-plot --example
//! plot_samples [folder]`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use graft_plot::{
    ModelPlotOptions, RankDir, confusion_matrix_svg, model_to_dot, model_to_svg, plot_model,
    svg_to_png, training_curves_svg, write_svg_or_png,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/graft-plot-samples".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let all = ModelPlotOptions {
        show_shapes: true,
        show_layer_activations: true,
        show_trainable: true,
        ..Default::default()
    };
    plot_model(&common::small(), &dir.join("small.png"), &all)?;
    plot_model(
        &common::small(),
        &dir.join("small_plain.png"),
        &Default::default(),
    )?;
    plot_model(&common::residual(), &dir.join("residual.png"), &all)?;
    let lr = ModelPlotOptions {
        rankdir: RankDir::LR,
        ..all.clone()
    };
    plot_model(&common::residual(), &dir.join("residual_lr.png"), &lr)?;
    plot_model(&common::nested(), &dir.join("nested.png"), &all)?;
    let expanded = ModelPlotOptions {
        expand_nested: true,
        ..all.clone()
    };
    plot_model(
        &common::nested(),
        &dir.join("nested_expanded.png"),
        &expanded,
    )?;

    let g = common::densenet_like();
    println!("densenet_like: {} layers", g.layers.len());
    for (name, opts) in [
        ("plain", ModelPlotOptions::default()),
        ("shapes", all.clone()),
    ] {
        let t = Instant::now();
        let dot = model_to_dot(&g, &opts)?;
        let t_dot = t.elapsed();
        let t = Instant::now();
        let svg = model_to_svg(&g, &opts)?;
        let t_svg = t.elapsed();
        let t = Instant::now();
        let png = svg_to_png(&svg, 0.25)?;
        let t_png = t.elapsed();
        let t = Instant::now();
        let path = dir.join(format!("densenet_{name}.png"));
        plot_model(&g, &path, &opts)?;
        let t_full = t.elapsed();
        println!(
            "{name}: dot {t_dot:?} ({} B), layout+svg {t_svg:?} ({} KiB), png at 0.25 {t_png:?} \
             ({} KiB), plot_model png at 96 dpi {t_full:?} ({} KiB)",
            dot.len(),
            svg.len() / 1024,
            png.len() / 1024,
            std::fs::metadata(&path)?.len() / 1024
        );
        std::fs::write(dir.join(format!("densenet_{name}.svg")), &svg)?;
    }

    let mut history = BTreeMap::new();
    let n = 20;
    let f = |a: f64, b: f64| {
        (0..n)
            .map(|i| a + b * (-(i as f64) / 6.0).exp())
            .collect::<Vec<_>>()
    };
    history.insert("loss".to_string(), f(0.2, 1.8));
    history.insert("val_loss".to_string(), f(0.35, 1.6));
    history.insert("accuracy".to_string(), f(0.95, -0.6));
    history.insert("val_accuracy".to_string(), f(0.9, -0.55));
    history.insert(
        "learning_rate".to_string(),
        (0..n).map(|i| 1e-3 * 0.9f64.powi(i)).collect(),
    );
    let svg = training_curves_svg(&history, "Fine-tuning <resnet> & head")?;
    write_svg_or_png(&svg, &dir.join("curves.png"), 1.0)?;

    let classes: Vec<String> = [
        "cat",
        "dog",
        "bird",
        "a very long class name indeed",
        "fish",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let m = vec![
        vec![50, 3, 1, 0, 2],
        vec![4, 45, 0, 6, 1],
        vec![0, 2, 38, 1, 9],
        vec![1, 7, 0, 1200, 3],
        vec![0, 0, 5, 2, 0],
    ];
    let svg = confusion_matrix_svg(&classes, &m, "Validation confusion matrix")?;
    write_svg_or_png(&svg, &dir.join("confusion.png"), 1.0)?;
    let many: Vec<String> = (0..40).map(|i| format!("class_{i}")).collect();
    let mm: Vec<Vec<usize>> = (0..40)
        .map(|i| {
            (0..40)
                .map(|j| if i == j { 90 } else { (i * j) % 5 })
                .collect()
        })
        .collect();
    let svg = confusion_matrix_svg(&many, &mm, "40 classes")?;
    write_svg_or_png(&svg, &dir.join("confusion_40.png"), 1.0)?;
    println!("wrote samples to {}", dir.display());
    Ok(())
}
