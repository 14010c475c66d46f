//! Integration tests, compiled into one binary: `mod` lines only.

mod batch;
mod cli;
mod corpus;
mod damage_suite;
mod damaged;
mod evtx;
mod evtx_writer;
mod expected;
mod fuzz_regressions;
mod limits;
mod output_safety;
mod report;
mod samples;
mod tcp_expert;
mod timeline;
mod util;
