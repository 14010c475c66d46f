//! Integration tests, compiled into one binary: `mod` lines only.

mod batch;
mod catalog_corpus;
mod cli;
mod corpus;
mod damage_suite;
mod damaged;
mod evtx;
mod evtx_writer;
mod expected;
mod fuzz_regressions;
mod labels;
mod limits;
mod output_safety;
mod report;
mod samples;
mod smb_noise;
mod timeline;
mod util;
