//! How connections end, and what is not somebody's failed logon: the patterns measured on real
//! captures (issue "Real captures: verdicts an expert would sign"), each built as a capture by
//! our conversation writer and analysed end to end. Payload bytes follow the specs, not our
//! parsers: X.224 CR/CC (MS-RDPBCGR 2.2.1.1/2.2.1.2), TLS records (RFC 5246 §6.2), the T.125
//! Disconnect Provider Ultimatum (the 9 bytes of suricata-verify_RDP-003.pcap frame 431), and a
//! Modbus/TCP exception (MBAP header, Modbus Application Protocol V1.1b3 §4.1, §7).

use std::net::Ipv4Addr;

use rdplog::synth::conversation::{Frame, Host, Link, TcpConversation};
use rdplog::synth::rdp::{alert, app_data, change_cipher_spec_and_finished, client_hello, connection_confirm};
use rdplog::synth::rdp::{client_finish_flight, connection_request, server_hello_flight};
use rdplog::synth::writer::CaptureWriter;
use rdplog::time::Ts;
use serde_json::Value;

use crate::util::analyze_json;

const T0: Ts = Ts(1_767_225_600_000_000_000);
const MS: i64 = 1_000_000;

fn conversation(port: u16) -> TcpConversation {
    let client = Host::new(Ipv4Addr::new(10, 1, 0, 5), 128);
    let server = Host::new(Ipv4Addr::new(192, 0, 2, 10), 127);
    TcpConversation::new(Link::Ethernet, client, 50_123, server, port, T0, 10 * MS, 1460, 11)
}

/// The one connection's verdict cause and severity, and its teardown ending.
fn verdict(frames: Vec<Frame>) -> (String, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.pcap");
    let mut w = CaptureWriter::pcap(Vec::new(), Link::Ethernet.linktype(), true, false, 65_535).expect("Vec");
    w.frames(0, &frames).expect("Vec");
    std::fs::write(&path, w.into_inner()).expect("write capture");
    let r = analyze_json(&path);
    let c: &Value = &r["connections"][0];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    (s(&c["verdict"]["cause"]), s(&c["verdict"]["severity"]), s(&c["teardown"]["ending"]))
}

/// Up to the server's TLS Finished, NLA (HYBRID) selected.
fn tls_done(c: &mut TcpConversation) {
    c.handshake()
        .client_send(&connection_request(Some("alice"), 0x3))
        .server_send(&connection_confirm(Ok(0x2)))
        .client_send(&client_hello(Some("rdsh01"), [7; 32]))
        .server_send(&server_hello_flight(0xc030, [9; 32], &[]))
        .client_send(&client_finish_flight())
        .server_send(&change_cipher_spec_and_finished());
}

#[test]
fn credssp_refused_with_an_encrypted_alert_is_nla_auth() {
    let mut c = conversation(3389);
    tls_done(&mut c);
    // NTLM NEGOTIATE, CHALLENGE, AUTHENTICATE, then an alert record after ChangeCipherSpec
    // (encrypted: level and description hidden), then the client's RST.
    c.client_send(&app_data(80, 1)).server_send(&app_data(330, 2)).client_send(&app_data(900, 3));
    let mut encrypted_alert = alert(2, 40);
    encrypted_alert.truncate(5);
    encrypted_alert[3..5].copy_from_slice(&26u16.to_be_bytes());
    encrypted_alert.extend_from_slice(&[0x5a; 26]);
    c.server_send(&encrypted_alert).rst_from_client();
    let (cause, severity, ending) = verdict(c.frames());
    assert_eq!((cause.as_str(), severity.as_str(), ending.as_str()), ("nla-auth", "error", "encrypted-alert"));
}

#[test]
fn a_logoff_by_disconnect_provider_ultimatum_is_no_failure() {
    let mut c = conversation(3389);
    // Standard RDP Security (legacy request, Confirm without negotiation data), some session,
    // then the server's DPUm (reason 3, user requested) and its FIN.
    c.handshake().client_send(&connection_request(Some("alice"), 0)).server_send(&connection_confirm(Ok(0)));
    for _ in 0..4 {
        c.client_send(&[3, 0, 0, 12, 2, 0xF0, 0x80, 0x64, 0, 1, 0, 0]);
        c.server_send(&[3, 0, 0, 12, 2, 0xF0, 0x80, 0x68, 0, 1, 0, 0]);
    }
    c.server_send(&[0xC0; 5000]).wait(20_000 * MS);
    c.server_send(&[3, 0, 0, 9, 2, 0xF0, 0x80, 0x21, 0x80]).fin_from_server();
    let (cause, severity, ending) = verdict(c.frames());
    assert_eq!((cause.as_str(), severity.as_str(), ending.as_str()), ("none", "info", "disconnect-ultimatum"));
}

#[test]
fn a_connect_that_idles_until_the_server_closes_it_is_a_probe() {
    let mut c = conversation(3389);
    c.handshake().wait(60_000 * MS).fin_from_server();
    let (cause, severity, ending) = verdict(c.frames());
    assert_eq!((cause.as_str(), severity.as_str(), ending.as_str()), ("probe", "info", "idle-timeout"));
}

#[test]
fn a_tls_handshake_dropped_at_once_without_credssp_is_a_probe() {
    let mut c = conversation(3389);
    tls_done(&mut c);
    c.rst_from_client();
    let (cause, severity, _) = verdict(c.frames());
    assert_eq!((cause.as_str(), severity.as_str()), ("probe", "info"));
}

#[test]
fn a_modbus_device_answering_the_connection_request_is_not_rdp() {
    let mut c = conversation(502);
    // The MBAP exception echoes the request's first two bytes (03 00) as its transaction id.
    c.handshake()
        .client_send(&connection_request(Some("alice"), 0x3))
        .server_send(&[0x03, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x83, 0x01])
        .fin_from_server();
    let (cause, severity, _) = verdict(c.frames());
    assert_eq!((cause.as_str(), severity.as_str()), ("not-rdp", "info"));
}
