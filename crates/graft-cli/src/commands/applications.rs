//! `graft applications`: the keras.applications architectures graft builds and their pretrained
//! weights files, with what Keras counts as their parameters and whether the file is cached.

use std::collections::HashMap;

use anyhow::{Context, Result};
use graft::applications::{Application, Options, count_params};
use graft::hub::{Cache, CacheState, Registry, WeightsEntry};

#[derive(clap::Args)]
pub struct Args {
    /// Only the weights of this architecture (`ResNet50`, `mobilenetv2`...; case-insensitive).
    #[arg(long)]
    pub architecture: Option<String>,
}

/// The builder a registry entry's weights fit, with the entry's alpha and variant.
fn application_of(entry: &WeightsEntry) -> Option<Application> {
    let app = Application::from_name(&entry.architecture)?;
    let app = app.with_alpha(entry.alpha_or_default()).unwrap_or(app);
    Some(match app {
        Application::MobileNetV3Small(mut c) => {
            c.minimalistic = entry.minimalistic;
            Application::MobileNetV3Small(c)
        }
        Application::MobileNetV3Large(mut c) => {
            c.minimalistic = entry.minimalistic;
            Application::MobileNetV3Large(c)
        }
        other => other,
    })
}

/// Parameters of the model with its top at the entry's input size, as Keras counts them.
fn params_with_top(entry: &WeightsEntry) -> Option<usize> {
    let app = application_of(entry)?;
    let [h, w, c] = entry.input_size.map(|d| d as usize);
    let graph = app
        .architecture(&Options::default().input_shape(h, w, c))
        .ok()?;
    count_params(&graph).ok().map(|p| p.total())
}

fn group_digits(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn state_text(state: &CacheState) -> String {
    match state {
        CacheState::Cached { .. } => "cached".into(),
        CacheState::InKerasCache { .. } => "in Keras' cache".into(),
        CacheState::Partial { bytes, .. } => format!("partial ({bytes} bytes)"),
        CacheState::Missing => "-".into(),
    }
}

pub fn run(args: Args, quiet: bool) -> Result<()> {
    let registry = Registry::load_default().context("reading the registry")?;
    let cache = Cache::from_env().context("locating the cache")?;
    let mut params: HashMap<String, Option<usize>> = HashMap::new();
    let header = [
        "weights",
        "architecture",
        "params (with top)",
        "input",
        "preprocessing",
        "cache",
    ];
    let mut rows: Vec<[String; 6]> = vec![];
    for status in graft::hub::applications(&registry, &cache) {
        let e = status.entry;
        if let Some(a) = &args.architecture
            && !e.architecture.eq_ignore_ascii_case(a.trim())
        {
            continue;
        }
        let key = format!(
            "{}/{:?}/{}/{:?}",
            e.architecture, e.alpha, e.minimalistic, e.input_size
        );
        let n = *params.entry(key).or_insert_with(|| params_with_top(e));
        rows.push([
            e.name.clone(),
            e.architecture.clone(),
            n.map_or_else(|| "?".into(), group_digits),
            format!(
                "{}x{}x{}",
                e.input_size[0], e.input_size[1], e.input_size[2]
            ),
            e.preprocessing.to_string(),
            state_text(&status.state),
        ]);
    }
    if rows.is_empty()
        && let Some(a) = &args.architecture
    {
        anyhow::bail!(
            "no pretrained weights for architecture '{a}' (graft builds: {})",
            Application::ALL.map(|a| a.name()).join(", ")
        );
    }
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 2 {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for row in &rows {
        println!("{}", line(row));
    }
    if !quiet {
        eprintln!(
            "{} weights files; cache {} (GRAFT_HOME){}",
            rows.len(),
            cache.models_dir().display(),
            cache
                .keras_home()
                .map(|k| format!(", also reading {} (KERAS_HOME)", k.join("models").display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}
