//! Shared pieces of the scenarios: the hosts, unrelated background traffic, the RDP connection
//! sequence with the times the logs need, captures written to memory, and the event sequences
//! a Windows server and its client log for one connection attempt.
//!
//! Every scenario uses the same cast: the workstation WS041 (10.20.30.41) of CORP\jdoe, the
//! session host RDSH01 (10.20.1.15), a DNS server, a file server and a web site in the
//! background, and sometimes another user (alice, 10.20.30.77) who connects fine. Event times
//! are derived from the packets of the same attempt: the server logs "connection accepted" a
//! one-way trip after the client's handshake ACK, failures right after the packet that caused
//! them, the client its "connecting" just before its SYN and "disconnected" just after the close.
//!
//! References: rdp-facts §4 (which component logs what, and when), §6 (network signatures).

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use crate::synth::conversation::{Frame, Host, Link, TcpConversation, UdpExchange, merge};
use crate::synth::evtx_writer::Value;
use crate::synth::rdp;
use crate::synth::scenario_logs::{Logs, activity};
use crate::synth::writer::CaptureWriter;
use crate::time::Ts;

pub const MS: i64 = 1_000_000;
pub const SEC: i64 = 1_000_000_000;
/// 2026-03-02T09:15:00Z, the scenarios' common start.
pub const T0: Ts = Ts(1_772_442_900 * SEC);
pub const CLIENT_IP: &str = "10.20.30.41";
pub const SERVER_IP: &str = "10.20.1.15";
/// What the user typed in mstsc.
pub const SERVER_NAME: &str = "rdsh01.corp.example";

pub fn at(t: Ts, nanos: i64) -> Ts {
    Ts(t.0 + nanos)
}

pub fn v4(a: u8, b: u8, c: u8, d: u8, ttl: u8) -> Host {
    Host::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), ttl)
}

pub fn client() -> Host {
    v4(10, 20, 30, 41, 128)
}

pub fn server() -> Host {
    v4(10, 20, 1, 15, 128)
}

pub fn conv(link: Link, c: Host, cport: u16, s: Host, sport: u16, start: Ts, seed: u32) -> TcpConversation {
    TcpConversation::new(link, c, cport, s, sport, start, 2 * MS, 1460, seed)
}

/// A connection from the workstation to RDSH01:3389.
pub fn rdp_conv(link: Link, port: u16, start: Ts, seed: u32) -> TcpConversation {
    conv(link, client(), port, server(), 3389, start, seed)
}

/// "10.20.30.41:port", the client address as RdpCoreTS 131 writes it.
pub fn client_addr(port: u16) -> String {
    format!("{CLIENT_IP}:{port}")
}

/// Unrelated traffic: a web download, a DNS lookup and an SMB exchange.
pub fn background(link: Link, start: Ts) -> io::Result<Vec<Frame>> {
    let mut web = conv(link, client(), 51_000, v4(93, 184, 215, 14, 52), 443, start, 11);
    web.handshake().client_send(&[0x16; 517]).server_send(&[0x17; 6000]).fin_from_client();
    let mut smb = conv(link, client(), 51_010, v4(10, 20, 1, 5, 128), 445, Ts(start.0 + 300 * MS), 12);
    smb.handshake().client_send(&[0xfe; 220]).server_send(&[0xfe; 400]).rst_from_client();
    let mut dns = UdpExchange::new(link, client(), 53_535, v4(10, 20, 1, 2, 128), 53, Ts(start.0 + 50 * MS), MS);
    let (query, answer) = dns_lookup();
    dns.send(true, &query)?.send(false, &answer)?;
    Ok(merge(vec![web.frames(), smb.frames(), dns.frames()]))
}

/// A DNS A query for rdsh01.corp.example and its answer 10.20.1.15 (RFC 1035 §4.1).
pub fn dns_lookup() -> (Vec<u8>, Vec<u8>) {
    let mut question = Vec::new();
    for label in ["rdsh01", "corp", "example"] {
        question.push(label.len() as u8);
        question.extend_from_slice(label.as_bytes());
    }
    question.extend_from_slice(&[0, 0, 1, 0, 1]); // root, QTYPE A, QCLASS IN
    let mut query = vec![0x1a, 0x2b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(&question);
    let mut answer = vec![0x1a, 0x2b, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    answer.extend_from_slice(&question);
    // name pointer to offset 12, type A, class IN, TTL 300, RDLENGTH 4, address
    answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 10, 20, 1, 15]);
    (query, answer)
}

/// When the steps of one attempt happened on the capture clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct Marks {
    /// The client's (first) SYN.
    pub syn: Ts,
    /// The handshake's last ACK: the server accepts the connection.
    pub est: Ts,
    /// The server has received the ClientHello (its ACK).
    pub hello: Ts,
    /// The client's third CredSSP record acknowledged: NLA done.
    pub nla: Ts,
    /// The last packet so far.
    pub end: Ts,
}

/// The connection sequence up to the ClientHello (TCP, X.224 CR/CC selecting HYBRID_EX).
pub fn to_client_hello(c: &mut TcpConversation, cookie: &str) -> Marks {
    let syn = c.now();
    c.handshake();
    let est = c.now();
    c.client_send(&rdp::connection_request(Some(cookie), 0xb))
        .server_send(&rdp::connection_confirm(Ok(0x8)))
        .client_send(&rdp::client_hello(Some("rdsh01.corp.example"), [0x42; 32]));
    Marks { syn, est, hello: c.now(), end: c.now(), ..Marks::default() }
}

/// The TLS handshake after the ClientHello: server flight with the certificate, client key
/// exchange and Finished, server Finished.
pub fn tls_handshake(c: &mut TcpConversation) {
    c.server_send(&rdp::server_hello_flight(0xc030, [0x24; 32], &[rdp::SERVER_CERT_DER]))
        .client_send(&rdp::client_finish_flight())
        .server_send(&rdp::change_cipher_spec_and_finished());
}

/// CredSSP record sizes of an NTLM exchange (client, server), then the first session records.
const CREDSSP: [(usize, usize); 3] = [(81, 286), (567, 83), (100, 28)];

/// A healthy session: TLS, CredSSP (record sizes as in a real NTLM exchange), then data.
pub fn session(c: &mut TcpConversation, cookie: &str, close: bool) -> Marks {
    let mut m = to_client_hello(c, cookie);
    tls_handshake(c);
    for (i, (cl, sv)) in CREDSSP.into_iter().chain([(480, 320), (900, 4000), (60, 9000)]).enumerate() {
        c.client_send(&rdp::app_data(cl, 0x17));
        if i == 2 {
            m.nla = c.now();
        }
        c.server_send(&rdp::app_data(sv, 0x17));
    }
    if close {
        c.fin_from_client();
    }
    m.end = c.now();
    m
}

/// TLS and the CredSSP exchange up to NLA done (the client's third record).
pub fn through_nla(c: &mut TcpConversation, cookie: &str) -> Marks {
    let mut m = to_client_hello(c, cookie);
    tls_handshake(c);
    for (i, (cl, sv)) in CREDSSP.into_iter().enumerate() {
        c.client_send(&rdp::app_data(cl, 0x17));
        if i < 2 {
            c.server_send(&rdp::app_data(sv, 0x17));
        }
    }
    m.nla = c.now();
    m.end = m.nla;
    m
}

/// A pcap file in memory.
pub fn pcap(link: Link, nanos: bool, big_endian: bool, frames: &[Frame]) -> io::Result<Vec<u8>> {
    let mut w = CaptureWriter::pcap(Vec::new(), link.linktype(), nanos, big_endian, 262_144)?;
    w.frames(0, frames)?;
    Ok(w.into_inner())
}

/// Rewrites the IPv4 identification of a frame (and the header checksum with it): a sender's
/// retransmission is a new packet with the next IP-ID, the same TCP segment.
pub fn set_ipv4_id(link: Link, frame: &mut Frame, id: u16) {
    let h = link.header_len();
    let Some(ip) = frame.data.get_mut(h..) else { return };
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[10..12].copy_from_slice(&[0, 0]);
    let mut sum: u32 = ip[..ihl].chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

/// The IPv4 identification of a frame.
pub fn ipv4_id(link: Link, frame: &Frame) -> u16 {
    let h = link.header_len();
    frame.data.get(h + 4..h + 6).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

// ---- event sequences of one attempt ----

/// The activity ids of one attempt (the client's and the server's) and its RDP-Tcp#N.
#[derive(Clone, Copy, Debug)]
pub struct Ids {
    pub client: [u8; 16],
    pub server: [u8; 16],
    pub conn: u32,
}

pub fn ids(seed: u64) -> Ids {
    Ids { client: activity(seed * 2 + 1), server: activity(seed * 2), conn: 14 + (seed % 50) as u32 }
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// Client 1024 a moment before the SYN (name resolution, then connect).
pub fn client_starts(logs: &mut Logs, id: Ids, syn: Ts) {
    logs.client_connecting(at(syn, -38 * MS), id.client, SERVER_NAME);
}

/// Client 1026 with the disconnect reason, just after the close.
pub fn client_ends(logs: &mut Logs, id: Ids, close: Ts, reason: u32) {
    logs.client_disconnected(at(close, 3 * MS), id.client, reason);
}

/// The server accepts a TCP connection from `client`: RCM 261, RdpCoreTS 131, 65, 141.
pub fn accepted(logs: &mut Logs, id: Ids, est: Ts, client: &str) {
    let t = at(est, 900_000);
    logs.rcm(at(t, -200_000), 261, 4, Some(id.server), &[("listenerName", s("RDP-Tcp"))]);
    logs.core(t, 131, 4, id.server, &[("ConnType", s("TCP")), ("ClientIP", s(client))]);
    logs.core(t, 65, 4, id.server, &[("ConnectionName", s(&format!("RDP-Tcp#{}", id.conn)))]);
    logs.core(t, 141, 4, id.server, &[("InstanceID", Value::U32(id.conn))]);
}

/// The server ends the connection: RdpCoreTS 102 and 103 with the reason code.
pub fn server_ends(logs: &mut Logs, id: Ids, t: Ts, reason: u32) {
    logs.core(t, 102, 4, id.server, &[]);
    logs.core(t, 103, 4, id.server, &[("ReasonCode", Value::U32(reason))]);
}

/// NLA accepted CORP\jdoe from `port` (4624 type 3, RCM 1149), then the session: RdpCoreTS
/// 66/98, 4624 type 10, LSM 21/22, client 1025/1027. `session` is when the server gave it.
pub fn logged_on(logs: &mut Logs, id: Ids, nla: Ts, session: Ts, port: u16, logon_id: u64) {
    let p = port.to_string();
    logs.logon(at(nla, -MS), 3, "jdoe", CLIENT_IP, &p, logon_id, "-");
    logs.rcm(
        at(nla, MS),
        1149,
        4,
        Some(id.server),
        &[("Param1", s("jdoe")), ("Param2", s("CORP")), ("Param3", s(CLIENT_IP))],
    );
    logs.logoff(at(nla, 2 * MS), "jdoe", logon_id, 3);
    let conn = format!("RDP-Tcp#{}", id.conn);
    logs.core(session, 66, 4, id.server, &[("ConnectionName", s(&conn)), ("SessionID", Value::U32(3))]);
    logs.core(session, 98, 4, id.server, &[]);
    logs.logon(at(session, 2 * MS), 10, "jdoe", CLIENT_IP, &p, logon_id + 0x2f1, "C:\\Windows\\System32\\svchost.exe");
    logs.lsm_fields(at(session, MS), 41, &[("User", s("CORP\\jdoe")), ("SessionID", Value::U32(3))]);
    logs.lsm(at(session, 3 * MS), 21, "jdoe", 3, Some(CLIENT_IP));
    logs.lsm(at(session, 4 * MS), 22, "jdoe", 3, Some(CLIENT_IP));
    logs.lsm_fields(at(session, 5 * MS), 42, &[("User", s("CORP\\jdoe")), ("SessionID", Value::U32(3))]);
    logs.client(at(session, 2 * MS), 1025, id.client, &[]);
    logs.client(at(session, 6 * MS), 1027, id.client, &[("DomainName", s("CORP")), ("SessionId", Value::U32(3))]);
}

/// Another user (CORP\alice on 10.20.30.77) connects and logs on without trouble at `t`;
/// `n` tells her sessions apart.
pub fn other_user(logs: &mut Logs, t: Ts, n: u64) {
    let id = alice(n);
    let (addr, port) = ("10.20.30.77", (61_044 + n as u16).to_string());
    let conn = format!("RDP-Tcp#{}", id.conn);
    logs.rcm(t, 261, 4, Some(id.server), &[("listenerName", s("RDP-Tcp"))]);
    logs.core(t, 131, 4, id.server, &[("ConnType", s("TCP")), ("ClientIP", s(&format!("{addr}:{port}")))]);
    logs.core(t, 65, 4, id.server, &[("ConnectionName", s(&conn))]);
    logs.logon(at(t, 380 * MS), 3, "alice", addr, &port, 0x7c_1f02 + n, "-");
    logs.rcm(
        at(t, 382 * MS),
        1149,
        4,
        Some(id.server),
        &[("Param1", s("alice")), ("Param2", s("CORP")), ("Param3", s(addr))],
    );
    logs.core(at(t, 1100 * MS), 66, 4, id.server, &[("ConnectionName", s(&conn)), ("SessionID", Value::U32(2))]);
    logs.logon(at(t, 1150 * MS), 10, "alice", addr, &port, 0x7c_21a0 + n, "C:\\Windows\\System32\\svchost.exe");
    logs.lsm(at(t, 1160 * MS), 21, "alice", 2, Some(addr));
    logs.lsm(at(t, 1170 * MS), 22, "alice", 2, Some(addr));
}

fn alice(n: u64) -> Ids {
    Ids { client: activity(9001 + 2 * n), server: activity(9000 + 2 * n), conn: 5 + n as u32 }
}

/// CORP\alice signs out of the session `other_user(.., n)` opened (LSM 23, RdpCoreTS 102/103).
pub fn other_user_leaves(logs: &mut Logs, t: Ts, n: u64) {
    let id = alice(n);
    logs.lsm(t, 23, "alice", 2, None);
    server_ends(logs, id, at(t, 150 * MS), 12);
    logs.logoff(at(t, 400 * MS), "alice", 0x7c_21a0 + n, 10);
}

/// What the logs hold from before the case: alice's session on the server a quarter of an
/// hour earlier, and jdoe's earlier session from the workstation to another server.
pub fn history(logs: &mut Logs) {
    logs.background(at(T0, -900 * SEC), at(T0, 150 * SEC));
    other_user(logs, at(T0, -840 * SEC), 0);
    other_user_leaves(logs, at(T0, -420 * SEC), 0);
    let app = ids(999);
    let start = at(T0, -2400 * SEC);
    logs.client_connecting(start, app.client, "app02.corp.example");
    logs.client(at(start, 640 * MS), 1025, app.client, &[]);
    logs.client(at(start, 1900 * MS), 1027, app.client, &[("DomainName", s("CORP")), ("SessionId", Value::U32(6))]);
    logs.client_disconnected(at(T0, -1500 * SEC), app.client, 1);
}

/// What one scenario produces: its capture file and the event logs the analyst exported.
pub struct Case {
    pub capture: Vec<u8>,
    pub logs: Option<Logs>,
    /// More files of the case (a second capture point's capture), by name.
    pub more: Vec<(String, Vec<u8>)>,
}
