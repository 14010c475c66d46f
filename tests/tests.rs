//! Integration tests, compiled into one binary: `mod` lines only.

mod cli;
mod corpus;
mod damaged;
mod evtx;
mod evtx_writer;
mod samples;
mod timeline;
mod util;
