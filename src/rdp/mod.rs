//! RDP protocol parsers and the per-flow analyzer that drives them.
//!
//! `x224`, `tls`, `udp` are pure parsers over byte slices (no flow state, no I/O);
//! `codes` re-exports the wire-code newtypes (their home is `crate::codes::wire`) and prints ids;
//! `analyzer` keeps one flow's parse state and records at which frame each milestone happened.

pub mod analyzer;
pub mod codes;
pub mod mcs;
pub mod other;
pub mod tls;
pub mod udp;
pub mod x224;
