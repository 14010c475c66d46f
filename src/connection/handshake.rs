//! The X.224 negotiation and the TLS handshake of one connection: their facts in readable form
//! (`Negotiation`, `TlsFacts`), the TLS phase, and the evidence each step leaves.

use super::*;

pub(super) fn negotiation(r: &RdpSummary, ev: &mut Vec<Evidence>) -> Negotiation {
    let mut n = Negotiation { security: r.security, ..Default::default() };
    if let Some((at, reply)) = &r.non_x224_reply {
        let what = reply.protocol.unwrap_or("bytes that are not X.224");
        let text = format!(
            "the server answered the Connection Request with {what} ({} bytes: {})",
            reply.len, reply.first_bytes
        );
        push(ev, *at, Side::Server, Kind::NotX224, text);
        n.not_rdp = Some(reply.clone());
    }
    if let Some((at, cr)) = &r.request {
        n.cookie = cr.cookie.clone();
        n.routing_token = cr.routing_token.clone();
        let mut text = String::from("X.224 Connection Request");
        if let Some(c) = &cr.cookie {
            text.push_str(&format!(", cookie mstshash={c}"));
        }
        match &cr.neg_req {
            Some(req) => {
                n.requested_protocols = Some(req.requested.0);
                n.requested = Some(req.requested.names());
                text.push_str(&format!(", requested {} (0x{:x})", req.requested.names(), req.requested.0));
            }
            None => text.push_str(", no RDP_NEG_REQ (legacy client: Standard RDP Security)"),
        }
        push(ev, *at, Side::Client, Kind::X224Request, text);
    }
    if let Some((at, cc)) = &r.confirm {
        let mut kind = Kind::X224Confirm;
        let text = match &cc.neg {
            Some(NegOutcome::Selected { protocol, .. }) => {
                n.selected_protocol = Some(protocol.0);
                n.selected = Some(protocol.names());
                format!("X.224 Connection Confirm: server selected {} (0x{:x})", protocol.names(), protocol.0)
            }
            Some(NegOutcome::Failure(code)) => {
                kind = Kind::NegFailure { code: code.0 };
                n.failure_code = Some(code.0);
                n.failure = Some(code.to_string());
                format!("X.224 Connection Confirm with RDP_NEG_FAILURE {code} (0x{:x}): {}", code.0, code.meaning())
            }
            None => "X.224 Connection Confirm without RDP_NEG_RSP: Standard RDP Security".into(),
        };
        push(ev, *at, Side::Server, kind, text);
    }
    n
}

pub(super) fn tls_phase(f: &TcpFlow, r: &RdpSummary, ev: &mut Vec<Evidence>) -> (Phase, Option<TlsFacts>) {
    match r.security {
        Security::StandardRdp => return (Phase::NotApplicable, None),
        Security::Refused => return (Phase::NotReached, None),
        Security::Unknown if r.confirm.is_none() && r.client_hello.is_none() => {
            let p = if r.request.is_some() || !f.mid_stream { Phase::NotReached } else { Phase::NotObserved };
            return (p, None);
        }
        _ => {}
    }
    let (c, s) = (&r.tls_client, &r.tls_server);
    if let (Some(at), Some(ch)) = (r.client_hello, &c.client_hello) {
        let versions = if ch.supported_versions.is_empty() {
            tls_version_name(ch.legacy_version)
        } else {
            ch.supported_versions.iter().map(|v| tls_version_name(*v)).collect::<Vec<_>>().join(", ")
        };
        let sni = ch.sni.as_ref().map(|s| format!(", SNI {s}")).unwrap_or_default();
        push(
            ev,
            at,
            Side::Client,
            Kind::ClientHello,
            format!("TLS ClientHello offering {versions}, {} cipher suites{sni}", ch.cipher_suites.len()),
        );
    }
    let mut expired = false;
    if let (Some(at), Some(sh)) = (r.server_hello, &s.server_hello) {
        let suite = crate::rdp::tls::cipher_suite_name(sh.cipher_suite)
            .map(str::to_string)
            .unwrap_or_else(|| format!("0x{:04x}", sh.cipher_suite));
        push(
            ev,
            at,
            Side::Server,
            Kind::ServerHello,
            format!("TLS ServerHello: {}, {suite}", tls_version_name(sh.selected_version)),
        );
    }
    if let (Some(at), Some(cert)) = (r.certificate, s.certificates.first()) {
        let now = f.first.ts.0 / 1_000_000_000;
        expired = cert.error.is_none() && (now > cert.not_after || now < cert.not_before);
        let state = if expired { "EXPIRED or not yet valid" } else { "valid" };
        let signed = if cert.self_signed { "self-signed" } else { "CA-issued" };
        let bits = cert.key_bits.map(|b| format!(" {b}-bit")).unwrap_or_default();
        push(
            ev,
            at,
            Side::Server,
            Kind::Certificate { expired },
            format!(
                "server certificate {} ({signed},{bits} {}), valid {} to {}: {state} at connection time",
                cert.subject,
                cert.key_algorithm,
                Ts(cert.not_before.saturating_mul(1_000_000_000)).rfc3339(0),
                Ts(cert.not_after.saturating_mul(1_000_000_000)).rfc3339(0)
            ),
        );
    }
    for a in &r.alerts {
        let text = if a.alert.encrypted {
            format!("encrypted TLS alert from the {} (level and code hidden)", a.sender)
        } else {
            let level = if a.alert.level == 2 { "fatal" } else { "warning" };
            format!(
                "{level} TLS alert from the {}: {} ({})",
                a.sender,
                TlsAlert(a.alert.description),
                a.alert.description
            )
        };
        let kind =
            Kind::TlsAlert { level: a.alert.level, description: a.alert.description, encrypted: a.alert.encrypted };
        push(ev, a.at, a.sender, kind, text);
    }
    for (i, who) in [Side::Client, Side::Server].into_iter().enumerate() {
        if let Some(at) = r.first_encrypted[i] {
            push(ev, at, who, Kind::FirstEncrypted, format!("first encrypted record from the {who}"));
        }
    }
    let fatal_plain = r.alerts.iter().any(|a| !a.alert.encrypted && a.alert.level == 2);
    let both_encrypted = r.first_encrypted.iter().all(Option::is_some);
    let phase = if fatal_plain {
        Phase::Failed
    } else if s.server_hello.is_some() && both_encrypted {
        Phase::Ok
    } else if c.client_hello.is_none() && s.server_hello.is_none() {
        if f.mid_stream && both_encrypted {
            Phase::NotObserved
        } else if f.is_closed() {
            Phase::NotReached
        } else {
            Phase::Incomplete
        }
    } else if f.is_closed() {
        Phase::Failed
    } else {
        Phase::Incomplete
    };
    let version = s.server_hello.as_ref().map(|h| tls_version_name(h.selected_version));
    let cipher_suite = s.server_hello.as_ref().map(|h| {
        crate::rdp::tls::cipher_suite_name(h.cipher_suite)
            .map(str::to_string)
            .unwrap_or_else(|| format!("0x{:04x}", h.cipher_suite))
    });
    let sni = c.client_hello.as_ref().and_then(|h| h.sni.clone());
    let facts = TlsFacts {
        version,
        cipher_suite,
        sni,
        client: c.clone(),
        server: s.clone(),
        alerts: r.alerts.clone(),
        certificate_expired: expired,
        handshake_done: r.first_encrypted[1],
    };
    (phase, Some(facts))
}
