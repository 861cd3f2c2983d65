//! Shared by the Keras writer tests: the ways of writing a model, and Python processes of real
//! Keras 3 and tf.keras 2 that load what graft wrote and check its predictions
//! (`scripts/fixtures/keras_roundtrip/check_written.py`). Included with `#[path]`; not every
//! test file uses every item.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use graft::ir::{Tensor, Weight};
use graft::keras::{Dialect, KerasFormat};
use serde_json::{Value, json};

/// One way of writing a model.
#[derive(Clone, Copy)]
pub struct Variant {
    pub format: KerasFormat,
    pub dialect: Dialect,
    pub file: &'static str,
    /// The framework that must load it.
    pub framework: Framework,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Framework {
    Keras3,
    TfKeras2,
}

pub const VARIANTS: [Variant; 3] = [
    Variant {
        format: KerasFormat::LegacyH5,
        dialect: Dialect::Keras3,
        file: "written.k3.h5",
        framework: Framework::Keras3,
    },
    Variant {
        format: KerasFormat::LegacyH5,
        dialect: Dialect::TfKeras2,
        file: "written.tf2.h5",
        framework: Framework::TfKeras2,
    },
    Variant {
        format: KerasFormat::KerasV3,
        dialect: Dialect::Keras3,
        file: "written.keras",
        framework: Framework::Keras3,
    },
];

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A Python process of one framework answering check requests (see check_written.py).
pub struct Keras {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Keras {
    /// Starts the checker, or `None` when `GRAFT_SKIP_PYTHON` is set.
    pub fn start(framework: Framework) -> Option<Self> {
        if std::env::var_os("GRAFT_SKIP_PYTHON").is_some() {
            return None;
        }
        let python = root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup.sh --python (or set GRAFT_SKIP_PYTHON=1 to skip \
             the checks with real Keras)",
            python.display()
        );
        let name = match framework {
            Framework::Keras3 => "keras3",
            Framework::TfKeras2 => "tfkeras2",
        };
        let mut child = Command::new(python)
            .arg(root().join("scripts/fixtures/keras_roundtrip/check_written.py"))
            .args(["--framework", name])
            .env("TF_CPP_MIN_LOG_LEVEL", "3")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Python checker");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut k = Self {
            child,
            stdin,
            stdout,
        };
        let ready = k.read();
        assert!(
            ready.get("ready").is_some(),
            "checker did not start: {ready}"
        );
        Some(k)
    }

    pub fn read(&mut self) -> Value {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read from the checker");
        serde_json::from_str(&line)
            .unwrap_or_else(|_| json!({"ok": false, "error": format!("checker died: {line:?}")}))
    }

    /// Sends a request; its answer is read later with [`Self::read`] (answers come in order).
    pub fn send(&mut self, request: &Value) {
        let stdin = self.stdin.as_mut().expect("open");
        writeln!(stdin, "{request}").expect("write to the checker");
        stdin.flush().expect("flush");
    }

    pub fn check(&mut self, request: &Value) -> Value {
        self.send(request);
        self.read()
    }
}

impl Drop for Keras {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Both checkers, started in parallel (each imports TensorFlow).
pub fn checkers() -> (Option<Keras>, Option<Keras>) {
    let tf = std::thread::spawn(|| Keras::start(Framework::TfKeras2));
    let k3 = Keras::start(Framework::Keras3);
    (k3, tf.join().expect("checker thread"))
}

/// The checker of framework `f`, if started.
pub fn checker(k: &mut Checkers, f: Framework) -> Option<&mut Keras> {
    match f {
        Framework::Keras3 => k.0.as_mut(),
        Framework::TfKeras2 => k.1.as_mut(),
    }
}

/// Both checkers' handles: Keras 3 first, tf.keras 2 second.
pub type Checkers = (Option<Keras>, Option<Keras>);

/// A weight with a fixed, varied pattern: enough to tell weights apart.
pub fn weight(name: &str, shape: Vec<usize>) -> Weight {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| ((i * 7919 % 113) as f32 - 56.0) / 40.0)
        .collect();
    Weight {
        name: name.into(),
        tensor: Tensor::new(shape, data).expect("sized"),
        trainable: !matches!(name, "moving_mean" | "moving_variance"),
    }
}
