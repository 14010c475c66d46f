//! Bundled scenario captures: one folder per failure signature under `samples/`, generated
//! deterministically by `rdplog samples --out DIR` from the builders in this module.
//!
//! Each scenario is a small, realistic capture: the failing RDP attempts (the client retrying),
//! unrelated background traffic, and where it matters the analyst's own healthy session. The
//! facts each one must produce are asserted by the integration tests.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use super::conversation::{Frame, Host, Link, TcpConversation, UdpExchange, icmp_frag_needed, merge};
use super::rdp;
use super::writer::{CaptureWriter, Interface};
use crate::time::Ts;

const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;
/// 2026-03-02T09:15:00Z, the scenarios' common start.
const T0: Ts = Ts(1_772_442_900 * SEC);

/// One scenario: folder name, file name, one-line description.
pub struct Scenario {
    pub folder: &'static str,
    pub file: &'static str,
    pub about: &'static str,
    build: fn(&Path) -> io::Result<()>,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        folder: "certificate",
        file: "capture.pcapng",
        about: "server resets every TLS ClientHello (no ServerHello): the RDP certificate or its private key is unusable; client retries twice; the analyst's own session and background traffic on a second interface",
        build: certificate,
    },
    Scenario {
        folder: "security-negotiation",
        file: "capture.pcap",
        about: "server answers the X.224 request with RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (5): client offered only TLS",
        build: negotiation,
    },
    Scenario {
        folder: "tls-mismatch",
        file: "capture.pcap.gz",
        about: "server sends a fatal protocol_version (70) alert to the ClientHello; gzip-compressed, Linux SLL2",
        build: tls_mismatch,
    },
    Scenario {
        folder: "service-down",
        file: "capture.pcap",
        about: "every SYN to 3389 is answered by RST: nothing listens (TermService stopped); nanosecond pcap, big-endian",
        build: service_down,
    },
    Scenario {
        folder: "firewall-block",
        file: "capture.pcap",
        about: "SYNs to 3389 never answered (3 retransmissions, 1-2-4 s back-off); 802.1Q VLAN",
        build: firewall_block,
    },
    Scenario {
        folder: "mtu-blackhole",
        file: "capture.pcap",
        about: "the server's certificate flight (MSS-sized) is retransmitted and never acknowledged; ICMP fragmentation-needed with next-hop MTU 1400",
        build: mtu_blackhole,
    },
    Scenario {
        folder: "middlebox-reset",
        file: "capture.pcap",
        about: "after TLS, a RST claiming to be from the server arrives with TTL 250 while the server's packets have TTL 128; IPv6",
        build: middlebox_reset,
    },
    Scenario {
        folder: "udp-blocked",
        file: "capture.pcap",
        about: "healthy TCP session, but five RDP-UDP SYNs on UDP 3389 are never answered: the session stays on TCP",
        build: udp_blocked,
    },
    Scenario {
        folder: "none",
        file: "capture.pcap",
        about: "healthy connection: NLA, session data both ways, orderly close by the client",
        build: healthy,
    },
];

/// Writes every scenario under `out`; returns the files written.
pub fn write_all(out: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for s in SCENARIOS {
        let dir = out.join(s.folder);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(s.file);
        (s.build)(&path)?;
        files.push(path);
    }
    Ok(files)
}

fn v4(a: u8, b: u8, c: u8, d: u8, ttl: u8) -> Host {
    Host::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), ttl)
}

fn client() -> Host {
    v4(10, 20, 30, 41, 128)
}

fn server() -> Host {
    v4(10, 20, 1, 15, 128)
}

fn conv(link: Link, c: Host, cport: u16, s: Host, sport: u16, start: Ts, seed: u32) -> TcpConversation {
    TcpConversation::new(link, c, cport, s, sport, start, 2 * MS, 1460, seed)
}

/// Unrelated traffic: a web download, a DNS lookup and an SMB exchange.
fn background(link: Link, start: Ts) -> io::Result<Vec<Frame>> {
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
fn dns_lookup() -> (Vec<u8>, Vec<u8>) {
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

/// The connection sequence up to the ClientHello (TCP, X.224 CR/CC selecting HYBRID_EX).
fn to_client_hello(c: &mut TcpConversation, cookie: &str) {
    c.handshake()
        .client_send(&rdp::connection_request(Some(cookie), 0xb))
        .server_send(&rdp::connection_confirm(Ok(0x8)))
        .client_send(&rdp::client_hello(Some("rdsh01.corp.example"), [0x42; 32]));
}

/// The TLS handshake after the ClientHello: server flight with the certificate, client key
/// exchange and Finished, server Finished.
fn tls_handshake(c: &mut TcpConversation) {
    c.server_send(&rdp::server_hello_flight(0xc030, [0x24; 32], &[rdp::SERVER_CERT_DER]))
        .client_send(&rdp::client_finish_flight())
        .server_send(&rdp::change_cipher_spec_and_finished());
}

/// A healthy session: TLS, CredSSP (record sizes as in a real NTLM exchange), then data.
fn session(c: &mut TcpConversation, cookie: &str, close: bool) {
    to_client_hello(c, cookie);
    tls_handshake(c);
    for (cl, sv) in [(81, 286), (567, 83), (100, 28), (480, 320), (900, 4000), (60, 9000)] {
        c.client_send(&rdp::app_data(cl, 0x17)).server_send(&rdp::app_data(sv, 0x17));
    }
    if close {
        c.fin_from_client();
    }
}

fn write_pcap(path: &Path, link: Link, nanos: bool, big_endian: bool, frames: &[Frame]) -> io::Result<()> {
    let mut w = CaptureWriter::pcap(BufWriter::new(File::create(path)?), link.linktype(), nanos, big_endian, 262_144)?;
    w.frames(0, frames)?;
    w.into_inner().flush()
}

fn certificate(path: &Path) -> io::Result<()> {
    // Interface 0: the analyst's workstation NIC (Ethernet); interface 1: a VPN adapter (raw IP).
    let mut attempts = Vec::new();
    for (i, port) in [50_611u16, 50_612, 50_613].into_iter().enumerate() {
        let mut c = conv(Link::Ethernet, client(), port, server(), 3389, Ts(T0.0 + i as i64 * 4 * SEC), 100 + i as u32);
        to_client_hello(&mut c, "jdoe");
        c.rst_from_server();
        attempts.push(c.frames());
    }
    // The analyst's own RDP session to a jump host, running the whole time.
    let mut own = conv(Link::Ethernet, client(), 50_500, v4(10, 20, 1, 9, 128), 3389, Ts(T0.0 - 2 * SEC), 7);
    session(&mut own, "analyst", false);
    attempts.push(own.frames());
    attempts.push(background(Link::Ethernet, Ts(T0.0 + SEC))?);
    let eth = merge(attempts);
    let vpn = background(Link::Raw, Ts(T0.0 + 2 * SEC))?;
    let mut w = CaptureWriter::pcapng(
        BufWriter::new(File::create(path)?),
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
    w.into_inner().flush()
}

fn negotiation(path: &Path) -> io::Result<()> {
    let mut streams = vec![background(Link::Ethernet, T0)?];
    for (i, port) in [52_001u16, 52_002].into_iter().enumerate() {
        let mut c =
            conv(Link::Ethernet, client(), port, server(), 3389, Ts(T0.0 + SEC + i as i64 * 3 * SEC), 200 + i as u32);
        c.handshake()
            .client_send(&rdp::connection_request(Some("jdoe"), 0x1))
            .server_send(&rdp::connection_confirm(Err(5)))
            .fin_from_server();
        streams.push(c.frames());
    }
    write_pcap(path, Link::Ethernet, false, false, &merge(streams))
}

fn tls_mismatch(path: &Path) -> io::Result<()> {
    let link = Link::LinuxSll2;
    let mut c = conv(link, client(), 53_100, server(), 3389, Ts(T0.0 + SEC), 300);
    to_client_hello(&mut c, "jdoe");
    c.server_send(&rdp::alert(2, 70)).fin_from_server();
    let frames = merge(vec![background(link, T0)?, c.frames()]);
    let mut raw = Vec::new();
    let mut w = CaptureWriter::pcap(&mut raw, link.linktype(), false, false, 262_144)?;
    w.frames(0, &frames)?;
    let mut gz = flate2::write::GzEncoder::new(BufWriter::new(File::create(path)?), flate2::Compression::best());
    gz.write_all(&raw)?;
    gz.finish()?.flush()
}

fn service_down(path: &Path) -> io::Result<()> {
    let mut streams = vec![background(Link::Ethernet, T0)?];
    for (i, port) in [54_001u16, 54_002, 54_003].into_iter().enumerate() {
        let mut c =
            conv(Link::Ethernet, client(), port, server(), 3389, Ts(T0.0 + SEC + i as i64 * 2 * SEC), 400 + i as u32);
        c.syn_refused();
        streams.push(c.frames());
    }
    write_pcap(path, Link::Ethernet, true, true, &merge(streams))
}

fn firewall_block(path: &Path) -> io::Result<()> {
    let link = Link::Vlan(120);
    let mut c = conv(link, client(), 55_001, server(), 3389, Ts(T0.0 + SEC), 500);
    c.syn_unanswered(3);
    write_pcap(path, link, false, false, &merge(vec![background(link, T0)?, c.frames()]))
}

fn mtu_blackhole(path: &Path) -> io::Result<()> {
    let mut c = conv(Link::Ethernet, client(), 56_001, server(), 3389, Ts(T0.0 + SEC), 600);
    to_client_hello(&mut c, "jdoe");
    // The server's certificate flight (a two-certificate chain) fills a full-MSS segment that
    // never gets through.
    let chain = [rdp::SERVER_CERT_DER, rdp::SERVER_CERT_DER];
    c.server_send_lost(&rdp::server_hello_flight(0xc030, [0x24; 32], &chain), 5);
    let icmp_at = Ts(c.now().0 - 3 * SEC);
    let quoted = c.last_sent().map(|f| Link::Ethernet.ip_part(&f.data).to_vec()).unwrap_or_default();
    c.rst_from_server();
    let router = v4(10, 20, 30, 1, 255);
    let icmp = icmp_frag_needed(Link::Ethernet, &router, &server(), 1400, &quoted, icmp_at)?;
    write_pcap(
        path,
        Link::Ethernet,
        false,
        false,
        &merge(vec![background(Link::Ethernet, T0)?, c.frames(), vec![icmp]]),
    )
}

fn middlebox_reset(path: &Path) -> io::Result<()> {
    let c6 = Host::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x41)), 64);
    let s6 = Host::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x15)), 128);
    let mut c = TcpConversation::new(Link::Ethernet, c6, 57_001, s6, 3389, Ts(T0.0 + SEC), 2 * MS, 1440, 700);
    to_client_hello(&mut c, "jdoe");
    tls_handshake(&mut c);
    c.client_send(&rdp::app_data(81, 0x17)).wait(40 * MS).rst_injected(250);
    write_pcap(path, Link::Ethernet, false, false, &merge(vec![background(Link::Ethernet, T0)?, c.frames()]))
}

fn udp_blocked(path: &Path) -> io::Result<()> {
    let mut c = conv(Link::Ethernet, client(), 58_001, server(), 3389, Ts(T0.0 + SEC), 800);
    session(&mut c, "jdoe", false);
    let mut u = UdpExchange::new(Link::Ethernet, client(), 58_002, server(), 3389, Ts(c.now().0 + 100 * MS), 2 * MS);
    for i in 0..5 {
        u.send(true, &rdp::rdpudp_syn(None, 0x1000_0001))?.wait((500 * MS) << i);
    }
    c.wait(10 * SEC).client_send(&rdp::app_data(60, 0x17)).server_send(&rdp::app_data(3000, 0x17)).fin_from_client();
    write_pcap(
        path,
        Link::Ethernet,
        false,
        false,
        &merge(vec![background(Link::Ethernet, T0)?, c.frames(), u.frames()]),
    )
}

fn healthy(path: &Path) -> io::Result<()> {
    let mut c = conv(Link::Ethernet, client(), 59_001, server(), 3389, Ts(T0.0 + SEC), 900);
    session(&mut c, "jdoe", true);
    write_pcap(path, Link::Ethernet, false, false, &merge(vec![background(Link::Ethernet, T0)?, c.frames()]))
}
