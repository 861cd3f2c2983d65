//! `graft download NAME|URL [--hash H]`: fetch a registry file or a URL into graft's cache, as
//! `keras.utils.get_file` does (verified, resumable, never half-written), and print its path.

use anyhow::{Context, Result};
use graft::hub::{Cache, Downloader, FetchOptions, Registry};

#[derive(clap::Args)]
pub struct Args {
    /// A registry name (`resnet50/imagenet-notop`, `imagenet_class_index`; see `graft
    /// applications`) or an http(s) URL (cached under its last path segment).
    pub target: String,
    /// Expected md5 or sha256 of the file (hex, auto-detected by length, or prefixed `md5:` /
    /// `sha256:`). A registry entry's published hash is always checked.
    #[arg(long)]
    pub hash: Option<String>,
    /// Use only the caches, never the network (as `GRAFT_OFFLINE=1`).
    #[arg(long)]
    pub offline: bool,
}

pub fn run(args: Args, quiet: bool) -> Result<()> {
    let mut options = FetchOptions::from_env();
    options.quiet = quiet;
    options.offline |= args.offline;
    let cache = Cache::from_env().context("locating the cache")?;
    let registry = Registry::load_default().context("reading the registry")?;
    let path = Downloader::new(cache, options)
        .download(&registry, &args.target, args.hash.as_deref())
        .with_context(|| format!("graft download {}", args.target))?;
    println!("{}", path.display());
    Ok(())
}
