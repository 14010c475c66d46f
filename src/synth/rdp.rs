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
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    record(22, &hs)
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
        let syn = crate::rdp::udp::parse_syn(&rdpudp_syn(None, 9)).expect("SYN parses");
        assert!(!syn.is_syn_ack() && syn.version == Some(2) && syn.upstream_mtu == 1232);
        assert!(crate::rdp::udp::parse_syn(&rdpudp_syn(Some(9), 77)).is_some_and(|s| s.is_syn_ack()));
    }
}
