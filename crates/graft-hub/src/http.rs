//! HTTP transfer into a `.part` file: resume with `Range`, retries with exponential backoff.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_RANGE, RANGE};

use crate::error::{HubError, Result, error_chain};
use crate::fetch::FetchOptions;
use crate::progress::Reporter;

/// Builds the blocking client: rustls with the `ring` provider, bounded connect and read waits,
/// redirects followed (reqwest's default policy, at most 10 hops).
pub(crate) fn client(options: &FetchOptions, url: &str) -> Result<Client> {
    // reqwest is built with `rustls-no-provider`: use ring unless the application already chose a
    // process-wide provider. `install_default` only fails when another thread installed one first.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let mut builder = Client::builder()
        .user_agent(concat!("graft-hub/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(options.connect_timeout)
        // In the blocking client this bounds the wait for the response head and for each read of
        // the body: a stall timeout, not a limit on the whole (possibly 500 MB) transfer.
        .timeout(options.read_timeout);
    if !options.use_env_proxy {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| HubError::Request {
        url: url.to_string(),
        cause: format!("building the HTTP client: {}", error_chain(&e)),
    })
}

/// Why one attempt did not complete.
enum AttemptError {
    /// Worth retrying; `progressed` says whether bytes were added to the `.part` file.
    Retry { cause: String, progressed: bool },
    /// Not worth retrying.
    Fatal(HubError),
}

/// One file to transfer.
pub(crate) struct Transfer<'a> {
    /// URL to GET.
    pub(crate) url: &'a str,
    /// Name shown on the progress bar.
    pub(crate) file_name: &'a str,
    /// The `.part` file receiving the data.
    pub(crate) part: &'a Path,
    /// The final path (for error messages only).
    pub(crate) dest: &'a Path,
}

/// Downloads `transfer.url` into `transfer.part`, resuming from its current length. Returns once
/// the server has sent the whole body; the caller verifies the hash and renames.
///
/// Failures without progress are retried `options.max_retries` times with exponential backoff;
/// an attempt that added bytes resets the count (a flaky connection still converges).
pub(crate) fn download_to_part(
    client: &Client,
    transfer: &Transfer<'_>,
    options: &FetchOptions,
    reporter: Reporter,
) -> Result<()> {
    let (url, part) = (transfer.url, transfer.part);
    let mut attempts = 0u32;
    let mut failures = 0u32;
    loop {
        attempts += 1;
        match attempt(client, transfer, reporter) {
            Ok(()) => return Ok(()),
            Err(AttemptError::Fatal(error)) => return Err(error),
            Err(AttemptError::Retry { cause, progressed }) => {
                failures = if progressed { 0 } else { failures + 1 };
                if failures > options.max_retries {
                    // Keep received data for the next run; drop an empty `.part`.
                    let part_path = if file_len(part) > 0 {
                        Some(part.to_path_buf())
                    } else {
                        let _ = std::fs::remove_file(part);
                        None
                    };
                    return Err(HubError::Download {
                        url: url.to_string(),
                        attempts,
                        cause,
                        part_path,
                    });
                }
                let delay = backoff(options, failures);
                reporter.message(&format!(
                    "{url}: {cause}; retrying in {:.1}s (attempt {} of at most {})",
                    delay.as_secs_f64(),
                    attempts + 1,
                    attempts + 1 + options.max_retries - failures,
                ));
                std::thread::sleep(delay);
            }
        }
    }
}

/// `initial * 2^(failures-1)`, capped at `backoff_max` (`initial` after a progressing attempt).
fn backoff(options: &FetchOptions, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(20);
    options
        .backoff_initial
        .saturating_mul(1u32 << exponent)
        .min(options.backoff_max)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn attempt(
    client: &Client,
    transfer: &Transfer<'_>,
    reporter: Reporter,
) -> Result<(), AttemptError> {
    let (url, part) = (transfer.url, transfer.part);
    let offset = file_len(part);
    let mut request = client.get(url);
    if offset > 0 {
        request = request.header(RANGE, format!("bytes={offset}-"));
    }
    let response = request.send().map_err(|e| classify(&e))?;
    let status = response.status();
    let start = match status {
        StatusCode::PARTIAL_CONTENT => match content_range(&response) {
            Some(range) if range.start == offset => offset,
            other => {
                // Not the range we asked for: drop the partial data and start over.
                truncate(part)?;
                return Err(AttemptError::Retry {
                    cause: format!(
                        "asked for bytes {offset}- but the server sent {}",
                        other.map_or("no valid Content-Range".to_string(), |r| format!(
                            "bytes {}-",
                            r.start
                        ))
                    ),
                    progressed: false,
                });
            }
        },
        StatusCode::OK => {
            if offset > 0 {
                reporter.message(&format!(
                    "{url}: the server does not support resuming; downloading from the start"
                ));
            }
            0
        }
        StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
            // The `.part` file is as long as (or longer than) the file: complete, or stale.
            let total = content_range(&response).and_then(|r| r.total);
            if total == Some(offset) {
                return Ok(());
            }
            truncate(part)?;
            return Err(AttemptError::Retry {
                cause: "the server rejected the resume range (HTTP 416); starting over".into(),
                progressed: false,
            });
        }
        s if s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT =>
        {
            return Err(AttemptError::Retry {
                cause: format!("HTTP {s}"),
                progressed: false,
            });
        }
        s => {
            return Err(AttemptError::Fatal(HubError::HttpStatus {
                url: url.to_string(),
                status: s.as_u16(),
                reason: s.canonical_reason().unwrap_or_default().to_string(),
                path: transfer.dest.to_path_buf(),
            }));
        }
    };
    write_body(response, transfer, start, reporter)
}

/// Streams the body to `part` from byte `start` (appending, or truncating when `start == 0`),
/// through a fixed buffer: Content-Length is only used for the progress bar and a completeness
/// check, never to size an allocation.
fn write_body(
    mut response: Response,
    transfer: &Transfer<'_>,
    start: u64,
    reporter: Reporter,
) -> Result<(), AttemptError> {
    let (url, part) = (transfer.url, transfer.part);
    let expected_end = response
        .content_length()
        .map(|len| start.saturating_add(len));
    let mut file = open_part(part, start)?;
    let bar = reporter.bar(transfer.file_name, expected_end, start);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    let write_error = |e: std::io::Error| {
        AttemptError::Fatal(HubError::io(format!("writing data from {url} to"), part, e))
    };
    loop {
        let n = match response.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                bar.abandon();
                file.flush().map_err(write_error)?;
                return Err(AttemptError::Retry {
                    cause: format!(
                        "connection lost after {} bytes: {}",
                        start + written,
                        io_chain(&e)
                    ),
                    progressed: written > 0,
                });
            }
        };
        file.write_all(&buffer[..n]).map_err(write_error)?;
        written += n as u64;
        bar.inc(n as u64);
    }
    file.flush()
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    bar.finish_and_clear();
    if let Some(end) = expected_end
        && start + written < end
    {
        return Err(AttemptError::Retry {
            cause: format!("body ended after {} of {end} bytes", start + written),
            progressed: written > 0,
        });
    }
    Ok(())
}

fn open_part(part: &Path, start: u64) -> Result<File, AttemptError> {
    let mut options = OpenOptions::new();
    if start == 0 {
        options.write(true).create(true).truncate(true);
    } else {
        options.append(true);
    }
    options
        .open(part)
        .map_err(|e| AttemptError::Fatal(HubError::io("opening", part, e)))
}

fn truncate(part: &Path) -> Result<(), AttemptError> {
    match std::fs::remove_file(part) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AttemptError::Fatal(HubError::io("removing", part, e))),
    }
}

/// A parsed `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`).
#[derive(Debug, PartialEq, Eq)]
struct ContentRange {
    start: u64,
    total: Option<u64>,
}

fn content_range(response: &Response) -> Option<ContentRange> {
    parse_content_range(response.headers().get(CONTENT_RANGE)?.to_str().ok()?)
}

fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let start = match range.trim() {
        "*" => u64::MAX,
        r => r.split_once('-')?.0.trim().parse().ok()?,
    };
    Some(ContentRange { start, total })
}

/// Classifies a reqwest error: transport problems are retried, TLS, redirect-loop and
/// configuration errors are not.
fn classify(error: &reqwest::Error) -> AttemptError {
    let url = error.url().map(|u| u.to_string()).unwrap_or_default();
    let cause = error_chain(error);
    if is_tls_error(error) || error.is_redirect() || error.is_builder() {
        return AttemptError::Fatal(HubError::Request { url, cause });
    }
    let cause = if error.is_timeout() {
        format!("timed out: {cause}")
    } else {
        cause
    };
    AttemptError::Retry {
        cause,
        progressed: false,
    }
}

/// Whether a rustls error (bad certificate, handshake failure) is somewhere in the chain.
fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.is::<rustls::Error>() {
            return true;
        }
        // io::Error::source() skips the wrapped error itself; look inside explicitly.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && is_tls_error(inner)
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn io_chain(error: &std::io::Error) -> String {
    match error.get_ref() {
        Some(inner) => error_chain(inner),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some(ContentRange {
                start: 100,
                total: Some(200)
            })
        );
        assert_eq!(
            parse_content_range("bytes */200"),
            Some(ContentRange {
                start: u64::MAX,
                total: Some(200)
            })
        );
        assert_eq!(
            parse_content_range("bytes 0-9/*"),
            Some(ContentRange {
                start: 0,
                total: None
            })
        );
        assert_eq!(parse_content_range("items 0-9/10"), None);
        assert_eq!(parse_content_range("bytes x-9/10"), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let options = FetchOptions {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(350),
            ..FetchOptions::default()
        };
        assert_eq!(backoff(&options, 1), Duration::from_millis(100));
        assert_eq!(backoff(&options, 2), Duration::from_millis(200));
        assert_eq!(backoff(&options, 3), Duration::from_millis(350));
        assert_eq!(backoff(&options, 60), Duration::from_millis(350));
    }
}
