//! `graft download NAME|URL [--hash H] [--extract]`: fetch a registry file or a URL into graft's
//! cache, as `keras.utils.get_file` does (verified, resumable, never half-written), optionally
//! extract it, and print its path.

use anyhow::{Context, Result};
use graft::hub::{Cache, DATASETS_SUBDIR, Downloader, FetchOptions, MODELS_SUBDIR, Registry};

#[derive(clap::Args)]
pub struct Args {
    /// A registry name (`resnet50/imagenet-notop`, `imagenet_class_index`; see `graft
    /// applications`) or an http(s) URL (cached under its last path segment).
    pub target: String,
    /// Expected md5 or sha256 of the file (hex, auto-detected by length, or prefixed `md5:` /
    /// `sha256:`). A registry entry's published hash is always checked.
    #[arg(long)]
    pub hash: Option<String>,
    /// Extract the downloaded tar, tar.gz or zip archive into `<name>_extracted` beside it (as
    /// `get_file(extract=True)`) and print that folder. An unchanged archive is not extracted
    /// twice.
    #[arg(long)]
    pub extract: bool,
    /// Cache subfolder under `$GRAFT_HOME` (and `$KERAS_HOME`, read for reuse), as Keras'
    /// `cache_subdir`. Default: `datasets` with `--extract`, `models` otherwise.
    #[arg(long, value_name = "NAME")]
    pub cache_subdir: Option<String>,
    /// Use only the caches, never the network (as `GRAFT_OFFLINE=1`).
    #[arg(long)]
    pub offline: bool,
}

pub fn run(args: Args, quiet: bool) -> Result<()> {
    let mut options = FetchOptions::from_env();
    options.quiet = quiet;
    options.offline |= args.offline;
    let default_subdir = if args.extract {
        DATASETS_SUBDIR
    } else {
        MODELS_SUBDIR
    };
    let subdir = args.cache_subdir.as_deref().unwrap_or(default_subdir);
    let cache = Cache::from_env()
        .and_then(|cache| cache.with_subdir(subdir))
        .context("locating the cache")?;
    let registry = Registry::load_default().context("reading the registry")?;
    let downloader = Downloader::new(cache, options);
    let context = || format!("graft download {}", args.target);
    let path = if args.extract {
        downloader
            .download_and_extract(&registry, &args.target, args.hash.as_deref())
            .with_context(context)?
            .dir
    } else {
        downloader
            .download(&registry, &args.target, args.hash.as_deref())
            .with_context(context)?
    };
    println!("{}", path.display());
    Ok(())
}
