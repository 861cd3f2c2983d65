//! `graft summary MODEL`.

use std::path::PathBuf;

use graft::SummaryOptions;

#[derive(clap::Args)]
pub struct Args {
    /// The model file (.h5, .keras or .onnx).
    pub model: PathBuf,

    /// Also list the layers inside nested models.
    #[arg(long)]
    pub expand_nested: bool,

    /// Draw the table with plain ASCII characters.
    #[arg(long)]
    pub ascii: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let graph = graft::load_graph(&args.model)?;
    let table = graph.summary(&SummaryOptions {
        ascii: args.ascii,
        expand_nested: args.expand_nested,
    })?;
    print!("{table}");
    Ok(())
}
