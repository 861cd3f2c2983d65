//! `graft`: the command line.

mod commands;

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
    /// Import a Keras model embedded in graft, run it, and check the numbers against Keras'.
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Summary(args) => commands::summary::run(args),
        Command::Run(args) => commands::run::run(args, cli.quiet),
        Command::Demo(args) => commands::demo::run(args, cli.quiet),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes, outermost first.
            let message = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
