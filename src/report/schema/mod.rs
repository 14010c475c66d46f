//! The JSON contract's value types (DESIGN.md "JSON report contract", schema_version 1).
//!
//! Each type here is the report's own view of one stage value: built from it by `From` (or a
//! constructor), it names the contract's fields, their order, which are left out when empty,
//! and how numbers and times are written. The parser and stage structs carry no `Serialize`;
//! the contract changes here or nowhere. The job ends at the view: assembling the document and
//! writing it (and redacting it) is `report::json`'s.

mod case;
mod connection;
mod tls;
mod views;

pub use case::{ClockSkewOut, InputOut, StormOut};

pub use connection::{AtOut, IcmpOut, NegotiationOut, PhasesOut, TcpOut, TeardownOut, UdpOut, rdp_by_name};
pub use tls::TlsOut;
pub use views::{PathOut, ViewOut};
