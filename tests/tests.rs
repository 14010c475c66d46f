//! Integration tests, compiled into one binary: `mod` lines only.

mod batch;
mod catalog_corpus;
mod cli;
mod corpus;
#[cfg(feature = "samples")]
mod damage_suite;
#[cfg(feature = "samples")]
mod damaged;
#[cfg(feature = "samples")]
mod endings;
mod etl;
mod evtx;
#[cfg(feature = "samples")]
mod evtx_writer;
mod expected;
mod fuzz_regressions;
mod labels;
mod limits;
#[cfg(feature = "samples")]
mod output_safety;
mod pieces;
#[cfg(feature = "samples")]
mod report;
#[cfg(feature = "samples")]
mod samples;
#[cfg(feature = "samples")]
mod smb_noise;
mod tcp_expert;
mod timeline;
#[cfg(feature = "samples")]
mod twopoint;
mod util;
