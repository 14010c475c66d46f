//! The case header, the evidence gaps and the input inventory of the report model.
//!
//! Takes the `Analysis` and the redactor; produces the who/what/when of the case (attempts,
//! client and server addresses with the names that belong to them, users, first and last
//! failure), the list of what was not provided or not visible with the command that collects
//! it (`diagnose::collect_next` plus gaps read from the analysis), and one inventory row per
//! input (SHA-256, size, kind, time span, records, warnings). Does not escape.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Case, EventIndex, InputRow, have};
use super::redact::Redactor;
use crate::analyze::Analysis;
use crate::connection::fmt_ts;
use crate::diagnose::collect_next;
use crate::events::catalog::{CLIENT, LSASRV};
use crate::vocab::{Cause, Endpoint, Severity, Transport};

/// User names listed in the case table.
const MAX_USERS: usize = 10;

fn push_unique(v: &mut Vec<String>, s: String) {
    if !s.is_empty() && !v.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
        v.push(s);
    }
}

/// Addresses in order of first appearance, each with the names seen for it.
#[derive(Default)]
struct Named {
    order: Vec<String>,
    names: BTreeMap<String, BTreeSet<String>>,
}

impl Named {
    fn slot(&mut self, ip: String) -> &mut BTreeSet<String> {
        if !self.names.contains_key(&ip) {
            self.order.push(ip.clone());
        }
        self.names.entry(ip).or_default()
    }

    fn into_pairs(mut self) -> impl Iterator<Item = (String, BTreeSet<String>)> {
        let order = std::mem::take(&mut self.order);
        order.into_iter().map(move |ip| {
            let names = self.names.remove(&ip).unwrap_or_default();
            (ip, names)
        })
    }
}

/// The IP of an address, or the host as the connection names it ("HOST (from its logs)").
fn shown_host(e: &Endpoint) -> String {
    e.addr().map_or_else(|| e.to_string(), |a| a.ip().to_string())
}

pub fn case(a: &Analysis, index: &EventIndex, r: &Redactor) -> Case {
    let mut case = Case { attempts: a.connections.len(), ..Case::default() };
    case.tcp = a.connections.iter().filter(|c| c.transport == Transport::Tcp).count();
    case.udp = case.attempts - case.tcp;
    let failing: Vec<_> = a
        .attempts()
        .filter(|t| t.verdict.is_some_and(|v| v.severity == Severity::Error) || t.conn.failed_phase.is_some())
        .filter(|t| t.verdict.is_none_or(|v| v.severity == Severity::Error))
        .map(|t| t.conn)
        .collect();
    case.failed = failing.len();
    if let (Some(first), Some(last)) = (failing.iter().min_by_key(|c| c.start), failing.iter().max_by_key(|c| c.end)) {
        case.first_failure = Some(format!("{} at {}", first.id, fmt_ts(first.start)));
        case.last_failure = Some(format!("{} at {}", last.id, fmt_ts(last.end)));
    }
    // Names per address: SNI and certificate CN name the server; the hosts that logged joined
    // events name the server (or the client, for the client's own logs).
    let mut clients = Named::default();
    let mut servers = Named::default();
    for t in a.attempts() {
        let c = t.conn;
        let cnames = clients.slot(shown_host(&c.client));
        for e in t.joined {
            if let Some(ev) = index.get(&e.origin).filter(|ev| ev.provider == CLIENT || ev.provider == LSASRV) {
                cnames.insert(ev.host.clone());
            }
        }
        let snames = servers.slot(shown_host(&c.server));
        if let Some(t) = &c.tls {
            snames.extend(t.sni.iter().cloned());
            for cert in t.server.certificates.iter().take(1) {
                for part in cert.subject.split(',') {
                    if let Some(cn) = part.trim().strip_prefix("CN=") {
                        snames.insert(cn.to_string());
                    }
                }
            }
        }
        for e in t.joined {
            if let Some(ev) = index.get(&e.origin).filter(|ev| ev.provider != CLIENT && ev.provider != LSASRV) {
                snames.insert(ev.host.clone());
            }
        }
    }
    let show = |(ip, names): (String, BTreeSet<String>)| {
        let mut uniq: Vec<String> = Vec::new();
        // A server known only from its logs is already named by its host.
        for n in names.into_iter().filter(|n| !ip.starts_with(n.as_str())) {
            push_unique(&mut uniq, n);
        }
        if uniq.is_empty() { r.text(&ip) } else { r.text(&format!("{ip} ({})", uniq.join(", "))) }
    };
    case.clients = clients.into_pairs().map(show).collect();
    case.servers = servers.into_pairs().map(show).collect();
    let mut users: Vec<String> = Vec::new();
    for c in &a.connections {
        if let Some(u) = &c.negotiation.cookie {
            push_unique(&mut users, format!("{} (mstshash cookie)", r.text(u)));
        }
    }
    // The accounts of the logon events joined to attempts (not every logon in the logs: SMB
    // guessing names thousands of users that have nothing to do with RDP).
    let mut joined: Vec<&crate::events::catalog::TypedEvent> =
        a.joined.iter().flatten().filter_map(|e| index.get(&e.origin)).collect();
    joined.sort_by_key(|e| (e.ts, e.record_id));
    for e in joined.into_iter().filter(|e| matches!(e.event_id, 4624 | 4625 | 1149)) {
        let Some(full) = e.facts.user.as_deref() else { continue };
        let u = full.rsplit('\\').next().unwrap_or(full);
        if !u.is_empty() && u != "-" {
            let cookie_form = format!("{} (mstshash cookie)", r.text(u));
            if !users.iter().any(|x| x.eq_ignore_ascii_case(&cookie_form)) {
                push_unique(&mut users, format!("{} (Windows logon events)", r.text(u)));
            }
        }
    }
    if users.len() > MAX_USERS {
        let more = users.len() - MAX_USERS;
        users.truncate(MAX_USERS);
        users.push(format!("{more} more"));
    }
    case.users = users;
    case.background = background(a, r);
    case
}

pub fn gaps(a: &Analysis, r: &Redactor) -> Vec<String> {
    let have = have(a);
    let mut out: Vec<String> = Vec::new();
    let missing = !(have.capture && have.server_logs && have.client_logs);
    if missing {
        for line in collect_next(&have) {
            out.push(format!("Not provided: {line}"));
        }
    }
    for c in a.connections.iter().filter(|c| c.mid_stream) {
        out.push(format!(
            "{}: the capture started after the connection began, so its first phases are not observed; \
             start the capture before the client connects",
            c.id
        ));
    }
    if have.capture && (have.server_logs || have.client_logs) && a.skews.iter().all(|s| s.pairs == 0) {
        out.push(
            "No event shares a client ip:port with the capture, so the log clocks could not be aligned with the \
             capture (events are placed at their own times); give `--skew SECONDS` if the offset is known"
                .into(),
        );
    }
    if a.connections.iter().any(|c| c.tls.as_ref().and_then(|t| t.version.as_deref()) == Some("TLS 1.3")) {
        out.push(
            "TLS 1.3 encrypts the server certificate: export it on the server (certlm.msc, Remote Desktop store) \
             to check its validity"
                .into(),
        );
    }
    for i in a.inputs.iter().filter(|i| i.warnings > 0) {
        out.push(format!(
            "`{}` is damaged or truncated ({} warning(s)): what it lost is not in this report; see Warnings",
            r.text(&i.path),
            i.warnings
        ));
    }
    if let Some(d) = &a.diagnosis {
        for line in &d.collect {
            let line = format!("Not provided: {line}");
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    if !missing && out.is_empty() {
        for line in collect_next(&have) {
            out.push(format!("Could also help: {line}"));
        }
    }
    out
}

pub fn inputs(a: &Analysis, r: &Redactor) -> Vec<InputRow> {
    a.inputs
        .iter()
        .map(|i| {
            let capture = i.capture;
            let continues = i.continues.as_ref().map(|p| format!("; continues {} as one stream", r.text(p)));
            let about = match (&i.flows, &i.events) {
                (Some(f), _) => format!(
                    "{} RDP TCP flow(s), {} RDP UDP flow(s){}",
                    f.rdp_tcp_flows,
                    f.rdp_udp_flows,
                    continues.unwrap_or_default()
                ),
                (_, Some(s)) if !s.computers.is_empty() => format!("written by {}", r.text(&s.computers.join(", "))),
                _ => String::new(),
            };
            InputRow {
                path: r.text(&i.path),
                kind: if i.gzip { format!("{} (gzip)", i.format) } else { i.format.clone() },
                size: i.size,
                sha256: i.sha256.clone(),
                first: i.first.clone(),
                last: i.last.clone(),
                records: i.records,
                unit: if capture { "packets" } else { "records" },
                warnings: i.warnings,
                about,
                skipped: i.skipped.as_ref().map(|s| r.text(s)),
            }
        })
        .collect()
}

/// "probes: 65 from 1 source (10.102.81.22)", "not RDP: 1 (Modbus/TCP) from 1 source".
fn background(a: &Analysis, r: &Redactor) -> Vec<String> {
    let mut out: Vec<String> = a.background.iter().map(|s| r.text(&s.sentence())).collect();
    out.extend(a.other_logons.iter().map(|o| o.sentence()));
    let stops = crate::noise::planned_stops(&a.events);
    if stops > 0 {
        out.push(format!(
            "Remote Desktop Services stopped {stops} time(s) during planned shutdowns or restarts (User32 1074, EventLog \
             6006, Kernel-General 13): not service-down"
        ));
    }
    for (cause, label) in [(Cause::Probe, "probes"), (Cause::NotRdp, "not RDP")] {
        let of: Vec<_> = a.attempts().filter(|t| t.verdict.is_some_and(|v| v.cause == cause)).collect();
        if of.is_empty() {
            continue;
        }
        let sources: BTreeSet<String> = of.iter().map(|t| shown_host(&t.conn.client)).collect();
        let listed: Vec<String> = sources.iter().take(5).map(|s| r.text(s)).collect();
        let more = if sources.len() > 5 { format!(", {} more", sources.len() - 5) } else { String::new() };
        out.push(format!(
            "{label}: {} from {} source(s) ({}{more}), not failures (see the JSON report)",
            of.len(),
            sources.len(),
            listed.join(", ")
        ));
    }
    out
}
