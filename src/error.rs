//! Errors and warnings.
//!
//! `Error` is fatal for one input (unreadable file, unknown format) and always names the file.
//! `Warning` is recoverable damage (a malformed packet, a bogus length): counted, listed in the
//! report with its file and byte offset or frame number, and the run goes on.

use std::path::PathBuf;

use serde::Serialize;

/// A fatal problem with one input or with the command line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("{path}: unsupported format: {message}")]
    UnknownFormat { path: PathBuf, message: String },
}

impl Error {
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Input { path: path.into(), message: message.into() }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Where in an input a warning points: a byte offset in the (decompressed) file, and the
/// frame number when the damage is inside a packet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Warning {
    pub input: String,
    pub offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    pub message: String,
}

/// Warnings kept per input; further ones are only counted.
pub const MAX_WARNINGS: usize = 200;

/// Collects one input's warnings, bounded so that a thoroughly broken file cannot flood memory.
#[derive(Debug)]
pub struct WarningSink {
    input: String,
    pub list: Vec<Warning>,
    /// Warnings beyond `MAX_WARNINGS`, counted but not kept.
    pub dropped: u64,
}

impl WarningSink {
    pub fn new(input: impl Into<String>) -> Self {
        WarningSink { input: input.into(), list: Vec::new(), dropped: 0 }
    }

    pub fn push(&mut self, offset: u64, frame: Option<u64>, message: impl Into<String>) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(Warning { input: self.input.clone(), offset, frame, message: message.into() });
        } else {
            self.dropped += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.list.len() as u64 + self.dropped
    }

    /// The warnings kept, then a line saying how many more were counted but not kept (when any
    /// were); and the total.
    pub fn into_listed(self) -> (Vec<Warning>, u64) {
        let total = self.total();
        let mut list = self.list;
        if self.dropped > 0 {
            let message = format!("{} more warnings not listed", self.dropped);
            list.push(Warning { input: self.input, offset: 0, frame: None, message });
        }
        (list, total)
    }
}
