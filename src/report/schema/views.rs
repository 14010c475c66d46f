//! Views of what two capture points saw of one connection (`twopoint`): `views[]`, one per
//! point, and `path`, where the two place a fault. Both are left out of connections seen at
//! one point, so reports of a single capture do not change.

use serde::Serialize;

use crate::connection::fmt_ts;
use crate::twopoint::{DirView, PathFacts, View};
use crate::vocab::Endpoint;

/// One direction as one point saw it.
#[derive(Serialize)]
pub struct DirViewOut {
    packets: u64,
    payload_bytes: u64,
    retransmissions: u32,
    syns: usize,
    rsts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u8>,
}

impl From<&DirView> for DirViewOut {
    fn from(d: &DirView) -> Self {
        DirViewOut {
            packets: d.packets,
            payload_bytes: d.payload_bytes,
            retransmissions: d.retransmissions,
            syns: d.syns,
            rsts: d.rsts,
            ttl: d.ttl,
        }
    }
}

/// One capture point's view (`connections[].views[]`).
#[derive(Serialize)]
pub struct ViewOut<'a> {
    input: &'a str,
    /// `client` or `server`: the end of the path this point sits nearer.
    point: &'static str,
    client: &'a Endpoint,
    server: &'a Endpoint,
    /// First and last packet on this point's own clock.
    first: String,
    last: String,
    /// This point's clock minus the connection's (the client point's), in seconds.
    clock_offset_seconds: f64,
    client_to_server: DirViewOut,
    server_to_client: DirViewOut,
    icmp: usize,
}

impl<'a> From<&'a View> for ViewOut<'a> {
    fn from(v: &'a View) -> Self {
        ViewOut {
            input: &v.input,
            point: v.point.as_str(),
            client: &v.client,
            server: &v.server,
            first: fmt_ts(v.first),
            last: fmt_ts(v.last),
            clock_offset_seconds: (v.offset_ns as f64 / 1e6).round() / 1e3,
            client_to_server: DirViewOut::from(&v.client_to_server),
            server_to_client: DirViewOut::from(&v.server_to_client),
            icmp: v.icmp,
        }
    }
}

/// Where the two points place a fault (`connections[].path`).
#[derive(Serialize)]
pub struct PathOut<'a> {
    client_point: &'a str,
    server_point: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lost_to_server: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lost_to_client: Option<u64>,
    rst_not_sent_by_server: bool,
    rst_not_sent_by_client: bool,
    syn_never_arrived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_only_at: Option<&'static str>,
}

impl<'a> From<&'a PathFacts> for PathOut<'a> {
    fn from(p: &'a PathFacts) -> Self {
        PathOut {
            client_point: &p.client_point,
            server_point: &p.server_point,
            lost_to_server: p.lost_to_server,
            lost_to_client: p.lost_to_client,
            rst_not_sent_by_server: p.rst_not_sent_by_server,
            rst_not_sent_by_client: p.rst_not_sent_by_client,
            syn_never_arrived: p.syn_never_arrived,
            icmp_only_at: p.icmp_only_at.map(|x| x.as_str()),
        }
    }
}
