//! RDP protocol bytes for synthetic captures: X.224 Connection Request/Confirm with RDP_NEG,
//! a TLS ClientHello, TLS alerts and RDP-UDP SYN datagrams, laid out as the specs say.
//!
//! Only what scenarios need; every builder's output is read back by our own parsers in the
//! tests below (and by tshark when the samples are reviewed).
//!
//! References: MS-RDPBCGR 2.2.1.1 / 2.2.1.2 (X.224 CR/CC, RDP_NEG_*), ITU-T T.123 §8 (TPKT),
//! RFC 5246 §7.2 and §7.4.1.2 (alerts, ClientHello), RFC 6066 §3 (SNI), MS-RDPEUDP 2.2.2.

/// Wraps a TPDU in a TPKT header (version 3, reserved 0, big-endian total length).
fn tpkt(tpdu: &[u8]) -> Vec<u8> {
    let len = (tpdu.len() + 4) as u16;
    let mut out = vec![3, 0];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(tpdu);
    out
}

/// X.224 Connection Request with an optional `Cookie: mstshash=` and an RDP_NEG_REQ.
pub fn connection_request(cookie: Option<&str>, requested: u32) -> Vec<u8> {
    let mut var = Vec::new();
    if let Some(c) = cookie {
        var.extend_from_slice(format!("Cookie: mstshash={c}\r\n").as_bytes());
    }
    var.extend_from_slice(&[0x01, 0x00, 0x08, 0x00]);
    var.extend_from_slice(&requested.to_le_bytes());
    let mut tpdu = vec![(6 + var.len()) as u8, 0xE0, 0, 0, 0, 0, 0];
    tpdu.extend_from_slice(&var);
    tpkt(&tpdu)
}

/// X.224 Connection Confirm carrying RDP_NEG_RSP (`Ok(selected)`) or RDP_NEG_FAILURE (`Err(code)`).
pub fn connection_confirm(outcome: Result<u32, u32>) -> Vec<u8> {
    let (ty, flags, value) = match outcome {
        Ok(selected) => (0x02, 0x1f, selected),
        Err(code) => (0x03, 0x00, code),
    };
    let mut tpdu = vec![14, 0xD0, 0, 0, 0x12, 0x34, 0, ty, flags, 0x08, 0x00];
    tpdu.extend_from_slice(&value.to_le_bytes());
    tpkt(&tpdu)
}

/// A TLS 1.2 ClientHello record offering a few common suites, with SNI when given.
pub fn client_hello(sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut ext = Vec::new();
    if let Some(name) = sni {
        let n = name.as_bytes();
        let list_len = (n.len() + 3) as u16;
        ext.extend_from_slice(&[0x00, 0x00]);
        ext.extend_from_slice(&(list_len + 2).to_be_bytes());
        ext.extend_from_slice(&list_len.to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&(n.len() as u16).to_be_bytes());
        ext.extend_from_slice(n);
    }
    // supported_groups (secp256r1, secp384r1) and signature_algorithms (rsa_pkcs1_sha256, ecdsa_secp256r1_sha256)
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18]);
    ext.extend_from_slice(&[0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x01, 0x04, 0x03]);
    let suites: [u16; 6] = [0xc030, 0xc02f, 0xc028, 0xc027, 0x009d, 0x009c];
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random);
    body.push(0); // no session id
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    record(22, &handshake(1, &body))
}

/// The server certificate the scenarios present: self-signed, CN=RDSH01.corp.example, RSA 2048,
/// valid 2025-06-01T00:00:00Z to 2035-06-01T00:00:00Z, serial 01. Made for rdplog with
/// `openssl ca -selfsign -startdate 20250601000000Z -enddate 20350601000000Z` (values read back
/// with `openssl x509 -inform DER -noout -subject -dates -serial`).
pub const SERVER_CERT_DER: &[u8] = include_bytes!("rdsh01.der");

/// The server's first TLS 1.2 flight: ServerHello (cipher `suite`), Certificate (the chain, leaf
/// first), ServerHelloDone, one record each.
pub fn server_hello_flight(suite: u16, random: [u8; 32], chain: &[&[u8]]) -> Vec<u8> {
    let mut hello = vec![0x03, 0x03];
    hello.extend_from_slice(&random);
    hello.push(0);
    hello.extend_from_slice(&suite.to_be_bytes());
    hello.push(0);
    let total: usize = chain.iter().map(|c| c.len() + 3).sum();
    let mut certs = (total as u32).to_be_bytes()[1..].to_vec();
    for der in chain {
        certs.extend_from_slice(&(der.len() as u32).to_be_bytes()[1..]);
        certs.extend_from_slice(der);
    }
    let mut out = record(22, &handshake(2, &hello));
    out.extend_from_slice(&record(22, &handshake(11, &certs)));
    out.extend_from_slice(&record(22, &handshake(14, &[])));
    out
}

/// ClientKeyExchange (RSA, 256 opaque bytes), ChangeCipherSpec and the encrypted Finished.
pub fn client_finish_flight() -> Vec<u8> {
    let mut cke = 256u16.to_be_bytes().to_vec();
    cke.extend_from_slice(&[0x5c; 256]);
    let mut out = record(22, &handshake(16, &cke));
    out.extend_from_slice(&change_cipher_spec_and_finished());
    out
}

/// ChangeCipherSpec followed by a 40-byte encrypted Finished record (as AES-GCM produces).
pub fn change_cipher_spec_and_finished() -> Vec<u8> {
    let mut out = record(20, &[1]);
    out.extend_from_slice(&record(22, &[0x3a; 40]));
    out
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut hs = vec![ty];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    hs
}

/// A plaintext TLS alert record (level 2 = fatal).
pub fn alert(level: u8, description: u8) -> Vec<u8> {
    record(21, &[level, description])
}

/// Opaque application-data records standing in for encrypted traffic (CredSSP, RDP).
pub fn app_data(len: usize, fill: u8) -> Vec<u8> {
    record(23, &vec![fill; len])
}

fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![content_type, 0x03, 0x03];
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// An RDP-UDP SYN (client, snSourceAck 0xFFFFFFFF) or SYN+ACK (server, acknowledging `ack`),
/// with SYNEX version 2, padded to the 1232-byte MTU as clients do.
pub fn rdpudp_syn(syn_ack: Option<u32>, initial_seq: u32) -> Vec<u8> {
    let (ack, flags): (u32, u16) = match syn_ack {
        None => (0xFFFF_FFFF, 0x0001 | 0x1000),
        Some(a) => (a, 0x0001 | 0x0004 | 0x1000),
    };
    let mut out = Vec::with_capacity(1232);
    out.extend_from_slice(&ack.to_be_bytes());
    out.extend_from_slice(&64u16.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&initial_seq.to_be_bytes());
    out.extend_from_slice(&1232u16.to_be_bytes());
    out.extend_from_slice(&1232u16.to_be_bytes());
    out.extend_from_slice(&[0x00, 0x01, 0x00, 0x02]); // uSynExFlags VERSION_INFO_VALID, uUdpVer 2
    out.resize(1232, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdp::tls::TlsStream;
    use crate::rdp::x224::{NegOutcome, parse_connection_confirm, parse_connection_request};

    #[test]
    fn builders_read_back() {
        let cr = connection_request(Some("alice"), 0xb);
        let (rest, req) = parse_connection_request(&cr).expect("CR parses");
        assert!(rest.is_empty());
        assert_eq!(req.cookie.as_deref(), Some("alice"));
        assert_eq!(req.neg_req.map(|n| n.requested.0), Some(0xb));
        let (_, cc) = parse_connection_confirm(&connection_confirm(Err(5))).expect("CC parses");
        assert!(matches!(cc.neg, Some(NegOutcome::Failure(c)) if c.0 == 5));
        let mut t = TlsStream::new();
        let mut w = Vec::new();
        t.feed(&client_hello(Some("rdp01.example.test"), [7; 32]), &mut w);
        t.feed(&alert(2, 40), &mut w);
        assert!(w.is_empty(), "{w:?}");
        let s = t.summary();
        assert_eq!(s.client_hello.as_ref().and_then(|c| c.sni.clone()).as_deref(), Some("rdp01.example.test"));
        assert_eq!(s.alerts.first().map(|a| (a.level, a.description)), Some((2, 40)));
        let mut server = TlsStream::new();
        server.feed(&server_hello_flight(0xc030, [1; 32], &[SERVER_CERT_DER]), &mut w);
        server.feed(&change_cipher_spec_and_finished(), &mut w);
        assert!(w.is_empty(), "{w:?}");
        let s = server.summary();
        assert_eq!(s.server_hello.as_ref().map(|h| h.cipher_suite), Some(0xc030));
        let cert = s.certificates.first().expect("certificate parsed");
        // openssl x509 -inform DER -noout -subject -dates: CN = RDSH01.corp.example,
        // notBefore Jun 1 00:00:00 2025 GMT (1748736000), notAfter Jun 1 00:00:00 2035 GMT (2064268800)
        assert_eq!(
            (cert.subject.as_str(), cert.not_before, cert.not_after),
            ("CN=RDSH01.corp.example", 1_748_736_000, 2_064_268_800)
        );
        assert_eq!((cert.self_signed, cert.key_bits), (true, Some(2048)));
        assert_eq!((s.change_cipher_spec, s.encrypted_records), (true, 1));
        let syn = crate::rdp::udp::parse_syn(&rdpudp_syn(None, 9)).expect("SYN parses");
        assert!(!syn.is_syn_ack() && syn.version == Some(2) && syn.upstream_mtu == 1232);
        assert!(crate::rdp::udp::parse_syn(&rdpudp_syn(Some(9), 77)).is_some_and(|s| s.is_syn_ack()));
    }
}
