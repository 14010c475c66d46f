//! Integration tests, compiled into one binary: `mod` lines only.

mod cli;
mod corpus;
mod damaged;
mod samples;
mod util;
