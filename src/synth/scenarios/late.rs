//! Scenarios that get through TCP and X.224: the path (MTU, an injected reset, loss), RDP-UDP,
//! NLA, the server's decision after authentication, licensing, and the healthy session.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::kit::*;
use crate::synth::conversation::{Host, Link, TcpConversation, UdpExchange, icmp_frag_needed, merge};
use crate::synth::evtx_writer::Value;
use crate::synth::rdp;
use crate::synth::scenario_logs::{Channel, Logs};
use crate::time::Ts;

const BASIC: [Channel; 4] = [Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Client];
const FULL: [Channel; 6] =
    [Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Rcm, Channel::Lsm, Channel::Client];
/// ERROR_NETNAME_DELETED as an HRESULT: the network dropped the connection.
const NETNAME_DELETED: u32 = 0x8007_0040;

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn logs_for(seed: u64, channels: &[Channel]) -> Logs {
    let mut logs = Logs::new(seed, channels);
    history(&mut logs);
    logs
}

/// RdpCoreTS 143/142 (socket write/read failed) and 226 with ERROR_NETNAME_DELETED.
fn transport_failed(logs: &mut Logs, id: Ids, t: Ts, read_too: bool) {
    logs.core(t, 143, 3, id.server, &[("error", Value::U32(NETNAME_DELETED))]);
    if read_too {
        logs.core(at(t, 300_000), 142, 3, id.server, &[("error", Value::U32(NETNAME_DELETED))]);
    }
    logs.core(
        at(t, 500_000),
        226,
        3,
        id.server,
        &[
            ("StateTransition", s("RDP_TCP")),
            ("PreviousState", Value::U32(23)),
            ("PreviousStateName", s("StateUnknown")),
            ("NewState", Value::U32(23)),
            ("NewStateName", s("StateUnknown")),
            ("Event", Value::U32(2)),
            ("EventName", s("Event_Disconnect")),
            ("ErrorCode", Value::HexU32(NETNAME_DELETED)),
        ],
    );
}

/// The server's certificate flight never gets through (ICMP says MTU 1400); RdpCoreTS 143/226.
pub fn mtu_blackhole() -> io::Result<Case> {
    let mut logs = logs_for(7, &BASIC);
    let mut c = rdp_conv(Link::Ethernet, 56_001, Ts(T0.0 + SEC), 600);
    let m = to_client_hello(&mut c, "jdoe");
    // The server's certificate flight (a two-certificate chain) fills a full-MSS segment that
    // never gets through.
    let chain = [rdp::SERVER_CERT_DER, rdp::SERVER_CERT_DER];
    c.server_send_lost(&rdp::server_hello_flight(0xc030, [0x24; 32], &chain), 5);
    let icmp_at = Ts(c.now().0 - 3 * SEC);
    let quoted = c.last_sent().map(|f| Link::Ethernet.ip_part(&f.data).to_vec()).unwrap_or_default();
    let give_up = at(c.now(), 50_000);
    c.rst_from_server();
    let router = v4(10, 20, 30, 1, 255);
    let icmp = icmp_frag_needed(Link::Ethernet, &router, &server(), 1400, &quoted, icmp_at)?;
    let id = ids(70);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(56_001));
    transport_failed(&mut logs, id, at(give_up, -MS), false);
    server_ends(&mut logs, id, give_up, 0);
    client_ends(&mut logs, id, c.now(), 2308);
    other_user(&mut logs, at(T0, 40 * SEC), 1);
    let frames = merge(vec![background(Link::Ethernet, T0)?, c.frames(), vec![icmp]]);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &frames)?, logs: Some(logs) })
}

/// After TLS a RST with a foreign TTL ends the connection (IPv6); the server only logs that its
/// read failed (it did not send that RST).
pub fn middlebox_reset() -> io::Result<Case> {
    let mut logs = logs_for(8, &BASIC);
    let c6 = Host::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x41)), 64);
    let s6 = Host::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x15)), 128);
    let mut c = TcpConversation::new(Link::Ethernet, c6, 57_001, s6, 3389, Ts(T0.0 + SEC), 2 * MS, 1440, 700);
    let m = to_client_hello(&mut c, "jdoe");
    tls_handshake(&mut c);
    c.client_send(&rdp::app_data(81, 0x17)).wait(40 * MS);
    let reset = c.now();
    c.rst_injected(250);
    let id = ids(80);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, "[2001:db8:10::41]:57001");
    // WSAECONNRESET as an HRESULT: the device reset the server's side too.
    logs.core(at(reset, 1_100_000), 142, 3, id.server, &[("error", Value::U32(0x8007_2746))]);
    client_ends(&mut logs, id, c.now(), 2308);
    other_user(&mut logs, at(T0, 40 * SEC), 1);
    let frames = merge(vec![background(Link::Ethernet, T0)?, c.frames()]);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &frames)?, logs: Some(logs) })
}

/// A session whose client disconnects normally: LSM 24/40, RdpCoreTS 102/103, client 1026 (1).
fn user_disconnects(logs: &mut Logs, id: Ids, close: Ts) {
    server_ends(logs, id, at(close, MS), 11);
    logs.lsm(at(close, 4 * MS), 24, "jdoe", 3, Some(CLIENT_IP));
    logs.lsm_fields(at(close, 5 * MS), 40, &[("Session", Value::U32(3)), ("Reason", Value::U32(11))]);
    client_ends(logs, id, close, 1);
}

/// RDP-UDP set-up that never gets an answer: RdpCoreTS 130 then 136, client 1102 then 1104.
/// Returns the UDP frames; `start` is the first SYN.
pub fn udp_fallback(
    logs: &mut Logs,
    id: Ids,
    port: u16,
    start: Ts,
) -> io::Result<Vec<crate::synth::conversation::Frame>> {
    let mut u = UdpExchange::new(Link::Ethernet, client(), port, server(), 3389, start, 2 * MS);
    for i in 0..5 {
        u.send(true, &rdp::rdpudp_syn(None, 0x1000_0001))?.wait((500 * MS) << i);
    }
    logs.core(at(start, -20 * MS), 130, 4, id.server, &[("TunnelID", Value::U32(1))]);
    logs.client(
        at(start, -MS),
        1102,
        id.client,
        &[("Name", s("ServerAddress")), ("Value", s(SERVER_IP)), ("CustomLevel", s("Info"))],
    );
    let give_up = at(start, 8600 * MS);
    logs.client(give_up, 1104, id.client, &[]);
    logs.core(at(give_up, 150 * MS), 136, 2, id.server, &[]);
    Ok(u.frames())
}

/// A healthy TCP session whose RDP-UDP side channel never gets an answer.
pub fn udp_blocked() -> io::Result<Case> {
    let mut logs = logs_for(9, &FULL);
    let mut c = rdp_conv(Link::Ethernet, 58_001, Ts(T0.0 + SEC), 800);
    let m = session(&mut c, "jdoe", false);
    let id = ids(90);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(58_001));
    logged_on(&mut logs, id, m.nla, at(m.nla, 4 * MS), 58_001, 0x1d_4a10);
    let udp = udp_fallback(&mut logs, id, 58_002, Ts(c.now().0 + 100 * MS))?;
    c.wait(10 * SEC).client_send(&rdp::app_data(60, 0x17)).server_send(&rdp::app_data(3000, 0x17)).fin_from_client();
    user_disconnects(&mut logs, id, c.now());
    other_user(&mut logs, at(T0, 45 * SEC), 1);
    let frames = merge(vec![background(Link::Ethernet, T0)?, c.frames(), udp]);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &frames)?, logs: Some(logs) })
}

/// A healthy connection: NLA, session data both ways, the client disconnects.
pub fn healthy() -> io::Result<Case> {
    let mut logs = logs_for(10, &FULL);
    let mut c = rdp_conv(Link::Ethernet, 59_001, Ts(T0.0 + SEC), 900);
    let m = session(&mut c, "jdoe", true);
    let id = ids(100);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(59_001));
    logged_on(&mut logs, id, m.nla, at(m.nla, 4 * MS), 59_001, 0x1d_5b20);
    user_disconnects(&mut logs, id, m.end);
    other_user(&mut logs, at(T0, 30 * SEC), 1);
    let frames = merge(vec![background(Link::Ethernet, T0)?, c.frames()]);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &frames)?, logs: Some(logs) })
}

/// Wrong password twice: the server ends CredSSP after the client's AUTHENTICATE (4625,
/// RdpCoreTS 140). The server's clock is 47 s ahead of the capture's.
pub fn nla_auth() -> io::Result<Case> {
    let mut logs = Logs::new(11, &BASIC);
    logs.skew_server(47 * SEC);
    history(&mut logs);
    let mut streams = vec![background(Link::Ethernet, T0)?];
    for (i, port) in [50_811u16, 50_812].into_iter().enumerate() {
        let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + SEC + i as i64 * 9 * SEC), 1100 + i as u32);
        let m = to_client_hello(&mut c, "jdoe");
        tls_handshake(&mut c);
        c.client_send(&rdp::app_data(81, 0x17))
            .server_send(&rdp::app_data(286, 0x17))
            .client_send(&rdp::app_data(567, 0x17));
        let rejected = c.now();
        // The TSRequest carrying the NTSTATUS, then the server closes.
        c.server_send(&rdp::app_data(59, 0x17)).fin_from_server();
        let id = ids(110 + i as u64);
        client_starts(&mut logs, id, m.syn);
        accepted(&mut logs, id, m.est, &client_addr(port));
        logs.logon_failed(at(rejected, -300_000), 0xC000_006D, 0xC000_006A, CLIENT_IP, &port.to_string());
        logs.core(at(rejected, -200_000), 140, 3, id.server, &[("IPString", s(CLIENT_IP))]);
        server_ends(&mut logs, id, at(rejected, 100_000), 0);
        client_ends(&mut logs, id, c.now(), 2055);
        streams.push(c.frames());
    }
    other_user(&mut logs, at(T0, 40 * SEC), 1);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &merge(streams))?, logs: Some(logs) })
}

/// After NLA: the Early User Authorization Result, MCS connect, attach user and Client Info;
/// returns when the server has the Client Info (where it decides to deny or license).
fn after_nla(c: &mut TcpConversation) -> Ts {
    c.server_send(&rdp::app_data(28, 0x17))
        .client_send(&rdp::app_data(480, 0x17))
        .server_send(&rdp::app_data(320, 0x17))
        .client_send(&rdp::app_data(60, 0x17))
        .server_send(&rdp::app_data(60, 0x17))
        .client_send(&rdp::app_data(210, 0x17));
    c.now()
}

/// Logons are disabled (`chglogon /disable`): NLA succeeds, then the server ends the
/// connection before the session (RCM 1071); the client sees 2308.
pub fn server_denied() -> io::Result<Case> {
    let mut logs =
        logs_for(12, &[Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Rcm, Channel::Client]);
    let mut streams = vec![background(Link::Ethernet, T0)?];
    for (i, port) in [50_901u16, 50_902].into_iter().enumerate() {
        let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + SEC + i as i64 * 6 * SEC), 1200 + i as u32);
        let m = through_nla(&mut c, "jdoe");
        let decided = after_nla(&mut c);
        // Set Error Info (SERVER_DENIED_CONNECTION), then the server closes.
        c.server_send(&rdp::app_data(64, 0x17)).fin_from_server();
        let id = ids(120 + i as u64);
        client_starts(&mut logs, id, m.syn);
        accepted(&mut logs, id, m.est, &client_addr(port));
        logs.logon(at(m.nla, -MS), 3, "jdoe", CLIENT_IP, &port.to_string(), 0x2a_0c11 + i as u64, "-");
        logs.rcm(
            at(m.nla, MS),
            1149,
            4,
            Some(id.server),
            &[("Param1", s("jdoe")), ("Param2", s("CORP")), ("Param3", s(CLIENT_IP))],
        );
        logs.rcm(at(decided, 300_000), 1071, 3, Some(id.server), &[]);
        server_ends(&mut logs, id, at(decided, 500_000), 7);
        client_ends(&mut logs, id, c.now(), 2308);
        streams.push(c.frames());
    }
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &merge(streams))?, logs: Some(logs) })
}

/// The RD licensing grace period has expired: NLA succeeds, the licensing exchange fails and
/// the server closes (RCM 1069 in the Admin log); the client sees 2056.
pub fn licensing() -> io::Result<Case> {
    let channels =
        [Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Rcm, Channel::RcmAdmin, Channel::Client];
    let mut logs = logs_for(13, &channels);
    let mut c = rdp_conv(Link::Ethernet, 51_001, Ts(T0.0 + SEC), 1250);
    let m = through_nla(&mut c, "jdoe");
    after_nla(&mut c);
    // License Request, the client's New License Request, the server's licensing error.
    c.server_send(&rdp::app_data(120, 0x17)).client_send(&rdp::app_data(140, 0x17));
    let failed = c.now();
    c.server_send(&rdp::app_data(95, 0x17)).fin_from_server();
    let id = ids(130);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(51_001));
    logs.logon(at(m.nla, -MS), 3, "jdoe", CLIENT_IP, "51001", 0x2b_7d01, "-");
    logs.rcm(
        at(m.nla, MS),
        1149,
        4,
        Some(id.server),
        &[("Param1", s("jdoe")), ("Param2", s("CORP")), ("Param3", s(CLIENT_IP))],
    );
    logs.rcm(at(failed, 200_000), 1069, 2, None, &[]);
    server_ends(&mut logs, id, at(failed, 400_000), 0);
    client_ends(&mut logs, id, c.now(), 2056);
    let frames = merge(vec![background(Link::Ethernet, T0)?, c.frames()]);
    Ok(Case { more: Vec::new(), capture: pcap(Link::Ethernet, false, false, &frames)?, logs: Some(logs) })
}

/// The path dies during a session: the client's next small segment is retransmitted five
/// times (RTO 0.3 s doubling) and the client resets; the server logs its write/read failures.
pub fn network_loss() -> io::Result<Case> {
    let mut logs = logs_for(14, &FULL);
    let port = 51_101;
    let mut c = rdp_conv(Link::Ethernet, port, Ts(T0.0 + SEC), 1400);
    let m = session(&mut c, "jdoe", false);
    for (cl, sv) in [(92, 1800), (60, 650), (140, 3100), (60, 420)] {
        c.wait(2 * SEC).client_send(&rdp::app_data(cl, 0x17)).server_send(&rdp::app_data(sv, 0x17));
    }
    // The lost segment: a 300-byte record (input events) the server never acknowledges.
    c.wait(1500 * MS).client_send(&rdp::app_data(295, 0x6c));
    let lost_ack = c.last_sent().cloned();
    let rto = [300, 900, 2100, 4500, 9300, 18_900];
    let first = lost_ack.as_ref().map_or(c.now(), |a| at(a.ts, -(MS + 50_000)));
    c.wait(at(first, rto[5] * MS).0 - c.now().0).rst_from_client();
    let reset = c.now();
    let mut frames = c.frames();
    frames.retain(|f| Some(f) != lost_ack.as_ref());
    let link = Link::Ethernet;
    if let Some(i) = frames.iter().position(|f| f.ts == first && f.data.ends_with(&[0x6c; 16])) {
        let lost = frames[i].clone();
        let id0 = ipv4_id(link, &lost);
        for (n, ms) in rto[..5].iter().enumerate() {
            let mut again = lost.clone();
            again.ts = at(first, ms * MS);
            set_ipv4_id(link, &mut again, id0.wrapping_add(n as u16 + 1));
            frames.push(again);
        }
        if let Some(rst) = frames.iter_mut().find(|f| f.ts == reset) {
            set_ipv4_id(link, rst, id0.wrapping_add(6));
        }
    }
    let id = ids(140);
    client_starts(&mut logs, id, m.syn);
    accepted(&mut logs, id, m.est, &client_addr(port));
    logged_on(&mut logs, id, m.nla, at(m.nla, 4 * MS), port, 0x1e_0a40);
    // The server's own retransmissions give up a little after the client's.
    let dead = at(reset, 620 * MS);
    transport_failed(&mut logs, id, dead, true);
    server_ends(&mut logs, id, at(dead, MS), 0);
    logs.lsm(at(dead, 3 * MS), 24, "jdoe", 3, Some(CLIENT_IP));
    logs.lsm_fields(at(dead, 4 * MS), 40, &[("Session", Value::U32(3)), ("Reason", Value::U32(0))]);
    client_ends(&mut logs, id, reset, 2308);
    other_user(&mut logs, at(T0, 60 * SEC), 1);
    let frames = merge(vec![background(link, T0)?, frames]);
    Ok(Case { more: Vec::new(), capture: pcap(link, false, false, &frames)?, logs: Some(logs) })
}
