//! `graft`: the command line.

mod commands;
#[cfg(test)]
mod tests;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Transfer learning that speaks Keras and ONNX.
#[derive(Parser)]
#[command(name = "graft", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Print nothing but errors and the requested output.
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a Keras-style table of a model's layers, output shapes and parameters.
    Summary(commands::summary::Args),
    /// Run a model on .npy inputs and write its outputs as .npy.
    Run(commands::run::Args),
    /// Offline demo: Keras import, fine-tuning, ONNX and .keras export, tract check.
    ///
    /// Imports a small Keras CNN embedded in graft and checks its outputs against those Keras
    /// computed, fine-tunes it on a new synthetic task (new head, frozen base, then the top block
    /// unfrozen), exports ONNX and .keras, and checks the ONNX file in tract, an independent
    /// runtime. Everything is written to the --out folder, with an HTML report.
    Demo(commands::demo::Args),
    /// Convert between Keras (.h5, .keras) and ONNX (.onnx) files.
    Convert(commands::convert::Args),
    /// Fine-tune a pretrained model on an image folder: new head, frozen base, export, report.
    Finetune(Box<commands::finetune::Args>),
    /// Classify images with a model: the top classes of each image.
    Predict(commands::predict::PredictArgs),
    /// Accuracy, per-class precision/recall and the confusion matrix of a model on a class-folder tree.
    Evaluate(commands::predict::EvaluateArgs),
    /// Write augmented images of an image folder (ImageDataGenerator options, Keras' names).
    Augment(commands::augment::Args),
    /// List the keras.applications weights graft knows: parameters, input size, preprocessing, cache.
    Applications(commands::applications::Args),
    /// Download a registry file or a URL into graft's verified cache and print its path.
    Download(commands::download::Args),
    /// Draw a model's layer graph (SVG, PNG, DOT; no Graphviz needed) or a history's training curves.
    Plot(commands::plot::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Summary(args) => commands::summary::run(args),
        Command::Run(args) => commands::run::run(args, cli.quiet),
        Command::Demo(args) => commands::demo::run(args, cli.quiet),
        Command::Convert(args) => commands::convert::run(args, cli.quiet),
        Command::Finetune(args) => commands::finetune::run(*args, cli.quiet),
        Command::Predict(args) => commands::predict::predict(args),
        Command::Evaluate(args) => commands::predict::evaluate(args),
        Command::Augment(args) => commands::augment::run(args, cli.quiet),
        Command::Applications(args) => commands::applications::run(args, cli.quiet),
        Command::Download(args) => commands::download::run(args, cli.quiet),
        Command::Plot(args) => commands::plot::run(args, cli.quiet),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes, outermost first.
            // (A cause whose text its wrapper already shows is not repeated.)
            let mut message = String::new();
            for cause in e.chain().map(|c| c.to_string()) {
                if message.is_empty() {
                    message = cause;
                } else if !message.contains(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
