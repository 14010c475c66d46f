//! rdplog: why did this Remote Desktop connection fail?
//!
//! ```text
//! inputs ─► input (detect by magic, gunzip, pcap/pcapng blocks, link layer → IP)
//!        ─► flow (TCP/UDP state per 5-tuple, bounded in-order payload, ICMP errors)
//!        ─► rdp (X.224/RDP_NEG, TLS hello/cert/alert, RDP-UDP SYN) on the flows that are RDP
//!        ─► connection (one record per RDP attempt with its phase ladder)
//! inputs ─► events (.evtx and XML exports; the catalogue types the events that matter)
//!        ─► correlate (events joined to connections; clock offsets per log host)
//!        ─► diagnose (a cause per connection and for the case, with evidence and fix)
//!        ─► report (text, Markdown, HTML, JSON) and timeline (CSV, JSONL, Parquet)
//! ```
//! Each stage consumes the previous stage's types only. `analyze` wires them together and runs
//! one rayon task per input file. `codes` holds the code tables (names and meanings of wire and
//! Windows codes) that the parsers, the diagnosis, the reports and `explain` share.
#![forbid(unsafe_code)]

pub mod analyze;
pub(crate) mod attempts;
pub mod batch;
pub mod cli;
pub mod codes;
pub mod connection;
pub mod correlate;
pub mod diagnose;
pub mod error;
pub mod events;
pub(crate) mod evidence;
pub mod explain;
pub(crate) mod filter;
pub mod flow;
pub mod input;
pub mod limits;
pub(crate) mod noise;
pub mod rdp;
pub mod report;
#[cfg(feature = "samples")]
pub mod synth;
pub mod time;
pub mod timeline;
pub mod twopoint;
pub mod vocab;
