//! Integration tests, compiled into one binary: `mod` lines only.

mod batch;
mod cli;
mod corpus;
mod damaged;
mod evtx;
mod evtx_writer;
mod expected;
mod report;
mod samples;
mod timeline;
mod util;
