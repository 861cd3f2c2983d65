//! A tiny HTTP/1.1 server on 127.0.0.1 for download tests.
//!
//! Hand-written on `std::net::TcpListener` (one thread per connection, `Connection: close`)
//! because the tests need byte-level control that ready-made servers hide: cutting a body after
//! K bytes while announcing the full Content-Length, ignoring `Range`, stalling before the
//! response head. Every request's path and `Range` header is recorded.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use graft_hub::{Cache, FetchOptions};

/// How a path answers.
#[derive(Clone, Debug)]
pub enum Route {
    /// Serve `body`; honour `Range: bytes=N-` with 206 (or 416 past the end) when `ranges`.
    /// Waits `delay` before answering.
    Serve {
        body: Vec<u8>,
        ranges: bool,
        delay: Duration,
    },
    /// Answer `status` to the first `failures` requests, then behave like `Serve` with ranges.
    FailThen {
        failures: usize,
        status: u16,
        body: Vec<u8>,
    },
    /// For the first `times` requests, announce the full length but send only `cut` bytes
    /// (from the requested offset) and close; then behave like `Serve` with ranges.
    DropAfter {
        body: Vec<u8>,
        cut: usize,
        times: usize,
    },
    /// `302 Found` to another path.
    Redirect { to: String },
    /// Read the request, then send nothing for `delay` and close.
    Stall { delay: Duration },
}

impl Route {
    /// Plain serving with range support and no delay.
    pub fn serve(body: &[u8]) -> Route {
        Route::Serve {
            body: body.to_vec(),
            ranges: true,
            delay: Duration::ZERO,
        }
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
}

struct State {
    routes: HashMap<String, Route>,
    counts: HashMap<String, usize>,
    seen: Vec<Seen>,
}

/// The running server; stops accepting when dropped.
pub struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Starts a server on 127.0.0.1 with an OS-chosen port.
    pub fn start(routes: Vec<(&str, Route)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            routes: routes
                .into_iter()
                .map(|(p, r)| (p.to_string(), r))
                .collect(),
            counts: HashMap::new(),
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = state2.clone();
                thread::spawn(move || handle(stream, &state));
            }
        });
        Server { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake up accept()
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_string());
        }
    }
    let (route, count) = {
        let mut state = state.lock().unwrap();
        state.seen.push(Seen {
            path: path.clone(),
            range: range.clone(),
        });
        let count = state.counts.entry(path.clone()).or_insert(0);
        *count += 1;
        let count = *count;
        (state.routes.get(&path).cloned(), count)
    };
    let mut out = stream;
    let Some(route) = route else {
        let _ = write_head(&mut out, "404 Not Found", &[("Content-Length", "0".into())]);
        return;
    };
    match route {
        Route::Serve {
            body,
            ranges,
            delay,
        } => {
            thread::sleep(delay);
            serve(&mut out, &body, range.as_deref().filter(|_| ranges), None);
        }
        Route::FailThen {
            failures,
            status,
            body,
        } => {
            if count <= failures {
                let text = format!("{status} Failing");
                let msg = b"failing on purpose";
                let _ = write_head(
                    &mut out,
                    &text,
                    &[("Content-Length", msg.len().to_string())],
                );
                let _ = out.write_all(msg);
            } else {
                serve(&mut out, &body, range.as_deref(), None);
            }
        }
        Route::DropAfter { body, cut, times } => {
            let cut = (count <= times).then_some(cut);
            serve(&mut out, &body, range.as_deref(), cut);
        }
        Route::Redirect { to } => {
            let _ = write_head(
                &mut out,
                "302 Found",
                &[("Location", to), ("Content-Length", "0".into())],
            );
        }
        Route::Stall { delay } => thread::sleep(delay),
    }
    let _ = out.flush();
}

fn write_head(
    out: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())
}

/// Serves `body` (from the requested offset when `range` is `bytes=N-`), sending at most `cut`
/// body bytes while still announcing the full length.
fn serve(out: &mut TcpStream, body: &[u8], range: Option<&str>, cut: Option<usize>) {
    let start = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    let total = body.len();
    let (status, start, extra) = match start {
        Some(s) if s >= total => {
            let _ = write_head(
                out,
                "416 Range Not Satisfiable",
                &[
                    ("Content-Range", format!("bytes */{total}")),
                    ("Content-Length", "0".into()),
                ],
            );
            return;
        }
        Some(s) => (
            "206 Partial Content",
            s,
            Some(("Content-Range", format!("bytes {s}-{}/{total}", total - 1))),
        ),
        None => ("200 OK", 0, None),
    };
    let rest = &body[start..];
    let mut headers = vec![("Content-Length", rest.len().to_string())];
    headers.extend(extra);
    if write_head(out, status, &headers).is_err() {
        return;
    }
    let send = cut.map_or(rest.len(), |c| c.min(rest.len()));
    let _ = out.write_all(&rest[..send]);
    let _ = out.flush();
    if cut.is_some() {
        let _ = out.shutdown(std::net::Shutdown::Both);
    }
}

/// Deterministic pseudo-random bytes.
pub fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Options for tests: quiet, no proxies, millisecond backoff, short timeouts.
pub fn options() -> FetchOptions {
    FetchOptions {
        offline: false,
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        max_retries: 3,
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        quiet: true,
        reuse_keras_cache: true,
        use_env_proxy: false,
    }
}

/// A temp dir with `graft/` and `keras/` homes.
pub fn temp_cache() -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache =
        Cache::new(dir.path().join("graft")).with_keras_home(Some(dir.path().join("keras")));
    (dir, cache)
}

/// Lists the file names in the cache's models folder (sorted).
pub fn models_listing(cache: &Cache) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache.models_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
