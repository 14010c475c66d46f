//! Scenarios that fail before any session exists: the server's TLS credential, the security
//! negotiation, TLS versions, the service being down, a firewall, and a case whose packets and
//! logs point at different TLS causes.

use std::io::{self, Write};

use super::kit::*;
use crate::synth::conversation::{Link, merge};
use crate::synth::evtx_writer::Value;
use crate::synth::rdp;
use crate::synth::scenario_logs::{Channel, Logs};
use crate::synth::writer::{CaptureWriter, Interface};
use crate::time::Ts;

const SERVER_LOGS: [Channel; 4] = [Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Client];

/// Three attempts whose ClientHello the server answers with RST (Schannel 36870 each time, RCM
/// 1057 once), the analyst's own session to a jump host, and a second (VPN) interface.
pub fn certificate() -> io::Result<Case> {
    let mut logs =
        Logs::new(1, &[Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Rcm, Channel::Client]);
    history(&mut logs);
    let mut attempts = Vec::new();
    for (i, port) in [50_611u16, 50_612, 50_613].into_iter().enumerate() {
        let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + i as i64 * 4 * SEC), 100 + i as u32);
        let m = to_client_hello(&mut c, "jdoe");
        c.rst_from_server();
        let id = ids(10 + i as u64);
        client_starts(&mut logs, id, m.syn);
        accepted(&mut logs, id, m.est, &client_addr(port));
        logs.schannel_private_key(m.hello);
        if i == 0 {
            let status = [("Param1", Value::Str("Keyset does not exist".into()))];
            logs.rcm(at(m.hello, 2 * MS), 1057, 2, Some(id.server), &status);
        }
        server_ends(&mut logs, id, at(c.now(), 200_000), 0);
        client_ends(&mut logs, id, c.now(), 2308);
        attempts.push(c.frames());
    }
    // The analyst's own RDP session to a jump host, running the whole time.
    let mut own = conv(Link::Ethernet, client(), 50_500, v4(10, 20, 1, 9, 128), 3389, Ts(T0.0 - 2 * SEC), 7);
    let m = session(&mut own, "analyst", false);
    let jump = ids(19);
    logs.client_connecting(at(m.syn, -41 * MS), jump.client, "jump01.corp.example");
    logs.client(at(m.end, 2 * MS), 1025, jump.client, &[]);
    let domain = [("DomainName", Value::Str("CORP".into())), ("SessionId", Value::U32(4))];
    logs.client(at(m.end, 9 * MS), 1027, jump.client, &domain);
    attempts.push(own.frames());
    attempts.push(background(Link::Ethernet, Ts(T0.0 + SEC))?);
    let eth = merge(attempts);
    let vpn = background(Link::Raw, Ts(T0.0 + 2 * SEC))?;
    let mut w = CaptureWriter::pcapng(
        Vec::new(),
        &[
            Interface { name: Some("Ethernet0".into()), ..Interface::new(1) },
            Interface { name: Some("VPN".into()), tsresol: 9, ..Interface::new(101) },
        ],
    )?;
    // Interleave the two interfaces by time, as a capture tool would.
    let (mut a, mut b) = (eth.iter().peekable(), vpn.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.ts <= y.ts => w.packet(0, x.ts, &x.data).map(|_| a.next())?,
            (Some(x), None) => w.packet(0, x.ts, &x.data).map(|_| a.next())?,
            (_, Some(y)) => w.packet(1, y.ts, &y.data).map(|_| b.next())?,
            (None, None) => break,
        };
    }
    Ok(Case { more: Vec::new(), capture: w.into_inner(), logs: Some(logs) })
}

/// The server requires NLA; the client offers TLS only: RDP_NEG_FAILURE 5, client reason 2825.
pub fn negotiation() -> io::Result<Case> {
    let mut logs = Logs::new(2, &SERVER_LOGS);
    history(&mut logs);
    let mut streams = vec![background(Link::Ethernet, T0)?];
    for (i, port) in [52_001u16, 52_002].into_iter().enumerate() {
        let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + SEC + i as i64 * 3 * SEC), 200 + i as u32);
        let syn = c.now();
        c.handshake();
        let est = c.now();
        c.client_send(&rdp::connection_request(Some("jdoe"), 0x1)).server_send(&rdp::connection_confirm(Err(5)));
        let refused = c.now();
        c.fin_from_server();
        let id = ids(20 + i as u64);
        client_starts(&mut logs, id, syn);
        accepted(&mut logs, id, est, &client_addr(port));
        server_ends(&mut logs, id, at(refused, 20_000), 0);
        client_ends(&mut logs, id, c.now(), 2825);
        streams.push(c.frames());
    }
    other_user(&mut logs, at(T0, 31 * SEC), 1);
    let capture = pcap(Link::Ethernet, false, false, &merge(streams))?;
    Ok(Case { capture, logs: Some(logs), more: Vec::new() })
}

/// A fatal protocol_version alert to the ClientHello; Schannel 36874 and 36888 (70). The capture
/// is gzip-compressed Linux SLL2.
pub fn tls_mismatch() -> io::Result<Case> {
    let mut logs = Logs::new(3, &SERVER_LOGS);
    history(&mut logs);
    let link = Link::LinuxSll2;
    let mut c = rdp_conv(link, 53_100, Ts(T0.0 + SEC), 300);
    let m = to_client_hello(&mut c, "jdoe");
    c.server_send(&rdp::alert(2, 70)).fin_from_server();
    let id = ids(30);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(53_100));
    logs.schannel_no_common_cipher(m.hello, "TLS 1.2");
    logs.schannel_alert_sent(at(m.hello, 10_000), 70);
    server_ends(&mut logs, id, at(m.hello, 400_000), 0);
    client_ends(&mut logs, id, c.now(), 2308);
    let frames = merge(vec![background(link, T0)?, c.frames()]);
    let raw = pcap(link, false, false, &frames)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw)?;
    let capture = gz.finish()?;
    Ok(Case { capture, logs: Some(logs), more: Vec::new() })
}

/// Remote Desktop Services was stopped 1.6 s before the first attempt: every SYN gets RST.
pub fn service_down() -> io::Result<Case> {
    let mut logs = Logs::new(4, &SERVER_LOGS);
    history(&mut logs);
    logs.service_state(at(T0, -900 * MS), "Remote Desktop Services UserMode Port Redirector", "UmRdpService", false);
    logs.service_state(at(T0, -600 * MS), "Remote Desktop Services", "TermService", false);
    let mut streams = vec![background(Link::Ethernet, T0)?];
    for (i, port) in [54_001u16, 54_002, 54_003].into_iter().enumerate() {
        let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + SEC + i as i64 * 2 * SEC), 400 + i as u32);
        let syn = c.now();
        c.syn_refused();
        let id = ids(40 + i as u64);
        client_starts(&mut logs, id, syn);
        client_ends(&mut logs, id, c.now(), 516);
        streams.push(c.frames());
    }
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, true, true, &merge(streams))?, logs: Some(logs) })
}

/// The host firewall drops the SYNs (WFP 5157 for each); the client gives up with 516.
pub fn firewall_block() -> io::Result<Case> {
    let mut logs = Logs::new(5, &SERVER_LOGS);
    history(&mut logs);
    let link = Link::Vlan(120);
    let mut c = rdp_conv(link, 55_001, Ts(T0.0 + SEC), 500);
    let syn = c.now();
    c.syn_unanswered(3);
    let id = ids(50);
    client_starts(&mut logs, id, syn);
    for offset in [0, 1, 3, 7] {
        // Each SYN reaches the server a one-way trip later and is classified again.
        logs.wfp_blocked(at(syn, offset * SEC + 1_200_000), SERVER_IP, 3389, CLIENT_IP, 55_001);
    }
    client_ends(&mut logs, id, at(syn, 15 * SEC), 516);
    let capture = pcap(link, false, false, &merge(vec![background(link, T0)?, c.frames()]))?;
    Ok(Case { capture, logs: Some(logs), more: Vec::new() })
}

/// The packets look like a certificate failure (RST right after the ClientHello), the server's
/// System log names the TLS negotiation (Schannel 36874, 36888 alert 40 generated but not sent).
pub fn disagreeing_evidence() -> io::Result<Case> {
    let mut logs = Logs::new(6, &SERVER_LOGS);
    history(&mut logs);
    let mut streams = vec![background(Link::Ethernet, T0)?];
    for (i, port) in [57_301u16, 57_302].into_iter().enumerate() {
        let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + SEC + i as i64 * 5 * SEC), 1300 + i as u32);
        let m = to_client_hello(&mut c, "jdoe");
        c.rst_from_server();
        let id = ids(60 + i as u64);
        client_starts(&mut logs, id, m.syn);
        accepted(&mut logs, id, m.est, &client_addr(port));
        logs.schannel_no_common_cipher(m.hello, "TLS 1.2");
        logs.schannel_alert_sent(at(m.hello, 10_000), 40);
        server_ends(&mut logs, id, at(c.now(), 200_000), 0);
        client_ends(&mut logs, id, c.now(), 2308);
        streams.push(c.frames());
    }
    other_user(&mut logs, at(T0, 34 * SEC), 1);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &merge(streams))?, logs: Some(logs) })
}
