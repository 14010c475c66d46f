//! The JSON report (DESIGN.md "JSON report contract", schema_version 1).
//!
//! Field names are a public contract: add fields freely, never rename or remove them without
//! bumping `schema_version`. `events` lists the catalogued Windows events; each connection
//! carries its `verdict`, and `diagnosis` is the case-level one.

use std::io::Write;

use serde::Serialize;

use crate::analyze::{Analysis, InputSummary};
use crate::connection::Connection;
use crate::error::Warning;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    tool: Tool,
    inputs: &'a [InputSummary],
    clock_skew: &'a [crate::correlate::ClockSkew],
    diagnosis: &'a Option<crate::diagnose::Diagnosis>,
    connections: &'a [Connection],
    events: &'a [crate::events::catalog::TypedEvent],
    warnings: &'a [Warning],
    skipped_files: &'a [String],
}

pub fn render(a: &Analysis, out: &mut dyn Write) -> std::io::Result<()> {
    let report = Report {
        schema_version: 1,
        tool: Tool { name: "rdplog", version: env!("CARGO_PKG_VERSION") },
        inputs: &a.inputs,
        clock_skew: &a.skews,
        diagnosis: &a.diagnosis,
        connections: &a.connections,
        events: &a.events,
        warnings: &a.warnings,
        skipped_files: &a.skipped_files,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}
