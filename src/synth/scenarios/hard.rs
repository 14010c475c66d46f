//! The hard cases: a capture with nothing distinctive, two different problems in one case, and
//! a capture taken after the failure that only the logs recorded.

use std::io;

use super::kit::*;
use super::late::udp_fallback;
use crate::synth::conversation::{Link, merge};
use crate::synth::evtx_writer::Value;
use crate::synth::rdp;
use crate::synth::scenario_logs::{Channel, Logs};
use crate::time::Ts;

const FULL: [Channel; 6] =
    [Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Rcm, Channel::Lsm, Channel::Client];

/// Capture only: handshake, negotiation, TLS and NLA complete, half a minute of ordinary
/// encrypted traffic both ways, then the server closes with a FIN. Nothing says whether the
/// user logged off, an idle limit or an administrator ended it, or something failed.
pub fn undetermined() -> io::Result<Case> {
    let mut c = rdp_conv(Link::Ethernet, 51_201, Ts(T0.0 + SEC), 1500);
    session(&mut c, "jdoe", false);
    let mut r = crate::synth::XorShift::new(51_201);
    while c.now() < at(T0, 31 * SEC) {
        let gap = 400 + r.below(2200) as i64;
        let (cl, sv) = (40 + r.below(160) as usize, 200 + r.below(2400) as usize);
        c.wait(gap * MS).client_send(&rdp::app_data(cl, 0x17)).server_send(&rdp::app_data(sv, 0x17));
    }
    c.wait(700 * MS).fin_from_server();
    let frames = merge(vec![background(Link::Ethernet, T0)?, c.frames()]);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &frames)?, logs: None })
}

/// A morning session that works but falls back to TCP (RDP-UDP unanswered), and, 40 s after it
/// ended, two new attempts that the server resets after the ClientHello (Schannel 36870).
pub fn two_causes() -> io::Result<Case> {
    let mut logs = Logs::new(15, &FULL);
    history(&mut logs);
    let mut c = rdp_conv(Link::Ethernet, 51_301, Ts(T0.0 + SEC), 1600);
    let m = session(&mut c, "jdoe", false);
    let id = ids(150);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(51_301));
    logged_on(&mut logs, id, m.nla, at(m.nla, 4 * MS), 51_301, 0x1f_2210);
    let udp = udp_fallback(&mut logs, id, 51_302, Ts(c.now().0 + 100 * MS))?;
    c.wait(12 * SEC).client_send(&rdp::app_data(60, 0x17)).server_send(&rdp::app_data(2500, 0x17)).fin_from_client();
    let close = c.now();
    logs.core(at(close, MS), 102, 4, id.server, &[]);
    logs.lsm(at(close, 4 * MS), 24, "jdoe", 3, Some(CLIENT_IP));
    client_ends(&mut logs, id, close, 1);
    let mut streams = vec![background(Link::Ethernet, T0)?, c.frames(), udp];
    for (i, port) in [51_311u16, 51_312].into_iter().enumerate() {
        let mut c = rdp_conv(Link::Ethernet, port, at(close, (40 + 4 * i as i64) * SEC), 1610 + i as u32);
        let m = to_client_hello(&mut c, "jdoe");
        c.rst_from_server();
        let id = ids(151 + i as u64);
        client_starts(&mut logs, id, m.syn);
        accepted(&mut logs, id, m.est, &client_addr(port));
        logs.schannel_private_key(m.hello);
        server_ends(&mut logs, id, at(c.now(), 200_000), 0);
        client_ends(&mut logs, id, c.now(), 2308);
        streams.push(c.frames());
    }
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &merge(streams))?, logs: Some(logs) })
}

/// Three attempts fail on the server's TLS credential (RdpCoreTS 131, Schannel 36870, client
/// 1026 2308); an administrator restarts Remote Desktop Services, which creates a new
/// certificate (RCM 1056); only then does the capture start, and the user's retry works.
pub fn after_the_failure() -> io::Result<Case> {
    let mut logs = Logs::new(16, &FULL);
    history(&mut logs);
    for (i, port) in [51_401u16, 51_402, 51_403].into_iter().enumerate() {
        // The same packets as the capture would have shown: only their logs remain.
        let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + SEC + i as i64 * 4 * SEC), 1700 + i as u32);
        let m = to_client_hello(&mut c, "jdoe");
        c.rst_from_server();
        let id = ids(160 + i as u64);
        client_starts(&mut logs, id, m.syn);
        accepted(&mut logs, id, m.est, &client_addr(port));
        logs.schannel_private_key(m.hello);
        server_ends(&mut logs, id, at(c.now(), 200_000), 0);
        client_ends(&mut logs, id, c.now(), 2308);
    }
    logs.service_state(at(T0, 40 * SEC), "Remote Desktop Services UserMode Port Redirector", "UmRdpService", false);
    logs.service_state(at(T0, 41 * SEC), "Remote Desktop Services", "TermService", false);
    logs.service_state(at(T0, 44 * SEC), "Remote Desktop Services", "TermService", true);
    logs.service_state(
        at(T0, 44 * SEC + 300 * MS),
        "Remote Desktop Services UserMode Port Redirector",
        "UmRdpService",
        true,
    );
    logs.rcm(at(T0, 45 * SEC), 1056, 4, None, &[]);
    logs.rcm(at(T0, 45 * SEC + 20 * MS), 258, 4, None, &[("listenerName", Value::Str("RDP-Tcp".into()))]);
    // The capture starts at T0 + 60 s.
    let start = at(T0, 60 * SEC);
    let mut c = rdp_conv(Link::Ethernet, 51_404, at(start, 1200 * MS), 1710);
    let m = session(&mut c, "jdoe", false);
    let id = ids(163);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(51_404));
    logged_on(&mut logs, id, m.nla, at(m.nla, 4 * MS), 51_404, 0x20_3b00);
    c.wait(8 * SEC).client_send(&rdp::app_data(60, 0x17)).server_send(&rdp::app_data(1800, 0x17));
    let frames = merge(vec![background(Link::Ethernet, start)?, c.frames()]);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &frames)?, logs: Some(logs) })
}
