//! RDP protocol parsers and the per-flow analyzer that drives them.
//!
//! `x224`, `tls`, `udp` are pure parsers over byte slices (no flow state, no I/O);
//! `codes` holds the wire-code newtypes with names and raw-value fallback;
//! `analyzer` keeps one flow's parse state and records at which frame each milestone happened.

pub mod analyzer;
pub mod codes;
pub mod other;
pub mod tls;
pub mod udp;
pub mod x224;
