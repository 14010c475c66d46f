//! Real public captures from ../shared/corpus/pcap, checked against tshark's reading of the
//! same packets. Each expected value cites the tshark command that produced it.

use crate::util::{analyze_json, corpus};
