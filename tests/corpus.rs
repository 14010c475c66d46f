//! Real public captures from ../shared/corpus/pcap, checked against tshark 4.0.17's reading of
//! the same packets. Unless a test says otherwise, the expected values come from:
//!   tshark -r F -d tcp.port==3389,tpkt -Y 'cotp || rdp' -T fields -e frame.number \
//!       -e rdp.rt_cookie -e rdp.negReq.requestedProtocols -e rdp.negReq.selectedProtocol
//!   tshark -r F -d tcp.port==3389,tls -Y tls -T fields -e frame.number -e tls.handshake.type \
//!       -e tls.handshake.version -e tls.handshake.ciphersuite -e x509sat.printableString
//!   tshark -r F -T fields -e frame.number -e ip.src -e tcp.srcport -e tcp.flags.str
//!   tshark -r F -q -z conv,tcp -z conv,udp
//! (for the TLS pass tshark needs `-d tcp.port==3389,tls`; for RDP-UDP `-d udp.port==3389,rdpudp`).

use serde_json::Value;

use crate::util::{analyze_json, corpus};

fn report(name: &str) -> Option<Value> {
    corpus("pcap", name).map(|p| analyze_json(&p))
}

fn conns(r: &Value) -> &Vec<Value> {
    r["connections"].as_array().expect("connections array")
}

/// The frame number of the first evidence line containing `needle`.
fn frame_of(c: &Value, needle: &str) -> Option<u64> {
    c["evidence"]
        .as_array()?
        .iter()
        .find(|e| e["text"].as_str().is_some_and(|t| t.contains(needle)))
        .and_then(|e| e["ref"].as_str()?.strip_prefix("frame ")?.parse().ok())
}

#[test]
fn ndpi_rdp_hybrid_ex_over_tls12() {
    let Some(r) = report("ndpi_rdp.pcap") else { return };
    // capinfos -c: 20 packets; LINKTYPE_NULL
    assert_eq!(r["inputs"][0]["records"], 20);
    let c = &conns(&r)[0];
    assert_eq!(conns(&r).len(), 1);
    // tshark -z conv,tcp: 172.16.2.185:52494 <-> 192.168.2.142:3389, 13 frames A→B, 7 B→A
    assert_eq!(c["client"], "172.16.2.185:52494");
    assert_eq!(c["server"], "192.168.2.142:3389");
    assert_eq!(c["tcp"]["client_to_server"]["packets"], 13);
    assert_eq!(c["tcp"]["server_to_client"]["packets"], 7);
    // frame 4 CR without cookie, requestedProtocols 0x0000000b; frame 5 CC selectedProtocol 0x8
    assert!(c["negotiation"]["cookie"].is_null());
    assert_eq!(c["negotiation"]["requested_protocols"], 0xb);
    assert_eq!(c["negotiation"]["selected_protocol"], 0x8);
    assert_eq!(frame_of(c, "Connection Request"), Some(4));
    assert_eq!(frame_of(c, "Connection Confirm"), Some(5));
    // TLS pass: frame 7 ClientHello (SNI 192.168.2.142), frame 8 ServerHello 0x0303 cipher 0xc030,
    // certificate CN OFFICE-WIN10-VM valid 2019-03-19 10:47:11 → 2019-09-18 10:47:11 (openssl x509).
    assert_eq!(c["tls"]["version"], "TLS 1.2");
    assert_eq!(c["tls"]["server"]["server_hello"]["cipher_suite"], 0xc030);
    assert_eq!(c["tls"]["sni"], "192.168.2.142");
    let cert = &c["tls"]["server"]["certificates"][0];
    assert_eq!(cert["subject"], "CN=OFFICE-WIN10-VM");
    assert_eq!(cert["not_before"], 1_552_992_431); // date -u -d @1552992431 → 2019-03-19 10:47:11
    assert_eq!(cert["not_after"], 1_568_803_631); // 2019-09-18 10:47:11
    assert_eq!(cert["self_signed"], true);
    assert_eq!(frame_of(c, "ClientHello"), Some(7));
    assert_eq!(frame_of(c, "ServerHello"), Some(8));
    // 3 application-data records each way after the handshake (c2s 81, 567, 100; s2c 286, 83, 28),
    // plus the encrypted Finished (40 bytes) each way after ChangeCipherSpec.
    assert_eq!(c["tls"]["client"]["encrypted_sizes"], serde_json::json!([40, 81, 567, 100]));
    assert_eq!(c["tls"]["server"]["encrypted_sizes"], serde_json::json!([40, 286, 83, 28]));
    // No FIN/RST in the capture.
    assert_eq!(c["teardown"]["how"], "open");
    assert_eq!(c["phases"]["nla"], "ok");
}

#[test]
fn rdp_to_ssl_two_connections_client_fin_then_server_rst() {
    let Some(r) = report("zeek_rdp-to-ssl.pcap") else { return };
    let cs = conns(&r);
    assert_eq!(cs.len(), 2);
    for (c, (port, cr, cc, fin, rst)) in cs.iter().zip([(49206, 4, 6, 17, 19), (49207, 23, 25, 656, 658)]) {
        assert_eq!(c["client"], format!("192.168.1.200:{port}"));
        // rdp.rt_cookie "Cookie: mstshash=AWAKECODI"; requested 0x3 → selected 0x2
        assert_eq!(c["negotiation"]["cookie"], "AWAKECODI");
        assert_eq!(c["negotiation"]["requested_protocols"], 3);
        assert_eq!(c["negotiation"]["selected_protocol"], 2);
        assert_eq!(frame_of(c, "Connection Request"), Some(cr));
        assert_eq!(frame_of(c, "Connection Confirm"), Some(cc));
        // TLS 1.0 (0x0301), cipher 0x002f, cert CN WIN2K8R2.awakecoding.ath.cx
        assert_eq!(c["tls"]["version"], "TLS 1.0");
        assert_eq!(c["tls"]["server"]["server_hello"]["cipher_suite"], 0x2f);
        assert_eq!(c["tls"]["server"]["certificates"][0]["subject"], "CN=WIN2K8R2.awakecoding.ath.cx");
        // client FIN+ACK, then server RST+ACK (tcp.flags.str)
        assert_eq!(c["teardown"]["how"], "fin");
        assert_eq!(c["teardown"]["by"], "client");
        assert_eq!(c["tcp"]["client_to_server"]["fin"]["frame"], fin);
        assert_eq!(c["tcp"]["server_to_client"]["rst"]["frame"], rst);
    }
    // Flow 1: 2 application-data records each way (c2s 80, 928; s2c 336, 336), then the client
    // closes: mstsc checking the server before reconnecting, not a server-side failure.
    assert_eq!(cs[0]["phases"]["nla"], "abandoned");
    assert_eq!(cs[1]["phases"]["session"], "ok");
    // tshark -z conv,tcp: flow 2 has 236 frames client→server and 403 server→client
    assert_eq!(cs[1]["tcp"]["client_to_server"]["packets"], 236);
    assert_eq!(cs[1]["tcp"]["server_to_client"]["packets"], 403);
}

#[test]
fn tcp_scan_refused_by_rst() {
    // A classic pcap despite its .pcapng name (xxd -p -l4: d4c3b2a1): detected by content.
    let Some(r) = report("ndpi_tcp_scan.pcapng") else { return };
    assert_eq!(r["inputs"][0]["kind"], "pcap");
    let cs = conns(&r);
    assert_eq!(cs.len(), 1);
    // SYN frame 17 → RST+ACK frame 18 from 192.168.1.2:3389
    assert_eq!(cs[0]["phases"]["tcp"], "refused");
    assert_eq!(cs[0]["failed_phase"], "tcp");
    assert_eq!(frame_of(&cs[0], "SYN from the client"), Some(17));
    assert_eq!(cs[0]["tcp"]["server_to_client"]["rst"]["frame"], 18);
}

#[test]
fn legacy_client_standard_rdp_security() {
    let Some(r) = report("ndpi_rdp3.pcap") else { return };
    let c = &conns(&r)[0];
    // frame 4: CR with rdp.rt_cookie "Cookie: mstshash=Administr" and no RDP_NEG_REQ; frame 5 CC
    assert_eq!(c["negotiation"]["cookie"], "Administr");
    assert!(c["negotiation"]["requested_protocols"].is_null());
    assert_eq!(c["negotiation"]["security"], "standard-rdp");
    assert_eq!(c["phases"]["tls"], "not-applicable");
    assert_eq!(frame_of(c, "Connection Request"), Some(4));
    assert_eq!(frame_of(c, "Connection Confirm"), Some(5));
}

#[test]
fn cookie_keeps_trailing_spaces_and_rdp_security_zero() {
    let Some(r) = report("zeek_rdp-x509.pcap") else { return };
    let c = &conns(&r)[0];
    // rdp.rt_cookie = "Cookie: mstshash=JOHN-PC  " (two trailing spaces, frame 6); 0x0 → 0x0 (frame 7)
    assert_eq!(c["negotiation"]["cookie"], "JOHN-PC  ");
    assert_eq!(c["negotiation"]["requested_protocols"], 0);
    assert_eq!(c["negotiation"]["selected_protocol"], 0);
    assert_eq!(frame_of(c, "Connection Request"), Some(6));
}

#[test]
fn socks5_tunnel_recognised_by_content() {
    // RDP inside a SOCKS5 connection to port 42356: tshark needs -d tcp.port==42356,socks to see
    // the X.224 CR (frame 8, cookie "mstshash=XXX") and CC (frame 9), requested 0x0 → selected 0x0.
    let Some(r) = report("arkime_socks5-rdp.pcap") else { return };
    let c = &conns(&r)[0];
    assert_eq!(c["server"], "10.0.0.2:42356");
    assert_eq!(c["rdp_by"], "content");
    assert_eq!(c["negotiation"]["cookie"], "XXX");
    assert_eq!(frame_of(c, "Connection Request"), Some(8));
    assert_eq!(frame_of(c, "Connection Confirm"), Some(9));
}

#[test]
fn duplicated_packets_are_not_retransmissions() {
    // Every packet of this capture appears twice (10 unique); tshark counts 2 SYNs and flags
    // 8 retransmissions. rdplog counts each packet once and says so.
    let Some(r) = report("zeek_rdp-no-cookie-mstshash.pcap") else { return };
    let c = &conns(&r)[0];
    assert_eq!(c["tcp"]["client_to_server"]["syns"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["tcp"]["client_to_server"]["retransmissions"], 0);
    assert_eq!(c["tcp"]["server_to_client"]["retransmissions"], 0);
    assert!(c["notes"].to_string().contains("appear twice"));
    // client RST+ACK at frame 19 (its copy is 20), right after the TLS handshake (cipher 0x009d)
    assert_eq!(c["teardown"]["by"], "client");
    assert_eq!(c["tcp"]["client_to_server"]["rst"]["frame"], 19);
    assert_eq!(c["tls"]["server"]["server_hello"]["cipher_suite"], 0x9d);
}

#[test]
fn ipv6_tcp_and_rdp_udp() {
    let Some(r) = report("zeek_rdp-rdpeudp-handshake-success_full.pcap") else { return };
    let cs = conns(&r);
    assert_eq!(cs.len(), 2);
    let tcp = cs.iter().find(|c| c["transport"] == "tcp").expect("tcp connection");
    let udp = cs.iter().find(|c| c["transport"] == "udp").expect("udp connection");
    // [::1]:55275 → [::1]:3389, cookie Administr, 0xb → 0x8, TLS 1.2 0xc030, client RST frame 1625
    assert_eq!(tcp["client"], "[::1]:55275");
    assert_eq!(tcp["negotiation"]["cookie"], "Administr");
    assert_eq!(tcp["tls"]["server"]["certificates"][0]["subject"], "CN=dc.windomain.local");
    assert_eq!(tcp["tcp"]["client_to_server"]["rst"]["frame"], 1625);
    assert_eq!(tcp["phases"]["udp"], "ok");
    // RDP-UDP [::1]:61291 → [::1]:3389: SYN frame 72, SYN+ACK frame 73, MTUs 1232
    assert_eq!(udp["client"], "[::1]:61291");
    assert_eq!(udp["udp"]["syns"][0]["frame"], 72);
    assert_eq!(udp["udp"]["syn_ack"][0]["frame"], 73);
    assert_eq!(udp["udp"]["syn"]["upstream_mtu"], 1232);
    assert_eq!(udp["phases"]["udp"], "ok");
}

#[test]
fn pcapng_with_vlans_and_three_rdp_udp_flows() {
    let Some(r) = report("ndpi_rdp2.pcap") else { return };
    assert_eq!(r["inputs"][0]["kind"], "pcapng");
    assert_eq!(r["inputs"][0]["records"], 39);
    let cs = conns(&r);
    assert_eq!(cs.len(), 3);
    assert!(cs.iter().all(|c| c["transport"] == "udp"));
    // flow 3: SYN frame 33 with uFlags 0x1a01 (SYN|SYNLOSSY|CORRELATION_ID|SYNEX), answered at 34
    let lossy = cs.iter().find(|c| c["udp"]["syn"]["flags"] == 0x1a01).expect("lossy SYN");
    assert_eq!(lossy["udp"]["syns"][0]["frame"], 33);
    assert_eq!(lossy["udp"]["syn_ack"][0]["frame"], 34);
    // flow 2 has no SYN at all (mid-stream)
    assert!(cs.iter().any(|c| c["udp"]["syn_count"] == 0 && c["mid_stream"] == true));
}

#[test]
fn capture_starting_at_client_hello() {
    let Some(r) = report("wswiki_rdp-ssl.pcap") else { return };
    let c = &conns(&r)[0];
    // 192.168.1.109:49181 → 10.0.2.15:3389; first frame is the ClientHello; TLS 1.0, 0x002f,
    // cert CN WIN-08Q9KQFPPO6
    assert_eq!(c["client"], "192.168.1.109:49181");
    assert_eq!(c["mid_stream"], true);
    assert_eq!(c["phases"]["tcp"], "not-observed");
    assert_eq!(c["tls"]["version"], "TLS 1.0");
    assert_eq!(c["tls"]["server"]["certificates"][0]["subject"], "CN=WIN-08Q9KQFPPO6");
}

#[test]
fn mid_session_capture_orients_by_port() {
    // The first frame is server→client (tshark's conversation A side is the server here); the
    // client is 10.112.91.55:4400 by the 3389 rule.
    let Some(r) = report("wswiki_MINET-SAC-Traces.pcap") else { return };
    let cs = conns(&r);
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0]["client"], "10.112.91.55:4400");
    assert_eq!(cs[0]["server"], "10.112.75.222:3389");
    assert_eq!(cs[0]["mid_stream"], true);
}

// Oracle: the labels' facts for wswiki_SASP.pcap and `tshark -z conv,tcp`: the load balancer's
// two legs of one session, 10.103.24.35:50185 <-> 10.102.81.51:3389 (the virtual address) and
// 10.103.24.35:7936 <-> 200.200.201.11:3389 (the real server), each 355 frames / 19,852 payload
// bytes client→server and 259 / 18,353 back, starting 7 µs apart. They are matched (each names
// the other) and kept as two rows, as the labels list them; nothing else in the file is linked
// (its health-check probes carry no data).
#[test]
fn a_load_balancers_two_legs_of_one_session_name_each_other() {
    let Some(r) = report("wswiki_SASP.pcap") else { return };
    let linked: Vec<(String, String, String)> = conns(&r)
        .iter()
        .filter_map(|c| {
            let other = c["other_leg"].as_str()?;
            Some((c["id"].as_str()?.to_string(), c["client"].as_str()?.to_string(), other.to_string()))
        })
        .collect();
    assert_eq!(linked.len(), 2, "{linked:?}");
    let by_client = |client: &str| linked.iter().find(|l| l.1 == client).cloned().expect(client);
    let (a, b) = (by_client("10.103.24.35:50185"), by_client("10.103.24.35:7936"));
    assert_eq!((a.2.as_str(), b.2.as_str()), (b.0.as_str(), a.0.as_str()));
}
