//! `--redact`: consistent pseudonyms for user names, domains, host names and IP addresses.
//!
//! Takes the finished `Analysis`. Names are learned from the fields that hold them (the
//! mstshash cookie, 4624/4625 TargetUserName/TargetDomainName, RCM 1149 Param1/Param2, LSM
//! User, 4778/4779 AccountName/ClientName, every event's Computer, certificate subject and
//! issuer CN, SNI); IP addresses are found anywhere in any text. Produces `user-1`, `domain-1`,
//! `host-1`, `10.255.0.1` / `fd00::ff:0:1`, numbered in order of first appearance (names: the
//! fields above; addresses: connections, then events), so the same name gets the same
//! pseudonym in every format and every place of one report. Replacement is whole-word: `jdoe`
//! in `mstshash=jdoe` is replaced, `jdoex` is not.
//! Does not escape, and does not touch our own vocabulary (phase and cause names).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::analyze::Analysis;
use crate::events::catalog::{CLIENT, LSM, RCM, SECURITY};

/// Words our own sentences use: a name equal to one of them is replaced only where it appears
/// with exactly the same case, so a host called `SERVER` does not turn "from the server" into
/// "from the host-1".
const OUR_WORDS: &[&str] = &[
    "client",
    "server",
    "user",
    "host",
    "network",
    "session",
    "service",
    "security",
    "system",
    "remote",
    "desktop",
    "local",
    "connection",
    "the",
    "and",
    "not",
    "none",
    "failed",
    "error",
    "tcp",
    "udp",
    "tls",
    "rdp",
    "nla",
];

/// One name to replace.
#[derive(Debug)]
struct Entry {
    text: String,
    pseudonym: String,
    /// Compare with the exact case (our own words), else ASCII case-insensitively.
    exact_case: bool,
}

#[derive(Debug, Default)]
struct Ips {
    map: BTreeMap<IpAddr, IpAddr>,
    v4: u32,
    v6: u32,
}

impl Ips {
    fn pseudonym(&mut self, ip: IpAddr) -> IpAddr {
        if ip.is_loopback() || ip.is_unspecified() {
            return ip;
        }
        if let Some(p) = self.map.get(&ip) {
            return *p;
        }
        let p = match ip {
            IpAddr::V4(_) => {
                let n = self.v4;
                self.v4 += 1;
                IpAddr::V4(Ipv4Addr::new(10, 255, (n / 254).min(255) as u8, (n % 254 + 1) as u8))
            }
            IpAddr::V6(_) => {
                let n = self.v6;
                self.v6 += 1;
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0xff, (n >> 16) as u16, (n & 0xffff) as u16 + 1))
            }
        };
        self.map.insert(ip, p);
        p
    }
}

/// The pseudonym map of one report; `off()` leaves every string as it is.
#[derive(Debug, Default)]
pub struct Redactor {
    on: bool,
    /// Names by their first character (lower case), longest first within each, so
    /// `rdsh01.corp.example` wins over `rdsh01` and a position is compared with few names.
    names: BTreeMap<char, Vec<Entry>>,
    ips: RefCell<Ips>,
}

/// Collects names per class with their pseudonym numbers, in order of registration.
#[derive(Default)]
struct Names {
    /// (class, canonical key) → number.
    numbers: BTreeMap<(&'static str, String), usize>,
    counts: BTreeMap<&'static str, usize>,
    /// exact text → pseudonym.
    texts: BTreeMap<String, String>,
}

impl Names {
    fn into_redactor(self) -> Redactor {
        let mut names: BTreeMap<char, Vec<Entry>> = BTreeMap::new();
        for (text, pseudonym) in self.texts {
            let Some(first) = text.chars().next() else { continue };
            let exact_case = OUR_WORDS.contains(&text.to_ascii_lowercase().as_str());
            names.entry(first.to_ascii_lowercase()).or_default().push(Entry { text, pseudonym, exact_case });
        }
        for list in names.values_mut() {
            list.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then(a.text.cmp(&b.text)));
        }
        Redactor { on: true, names, ips: RefCell::new(Ips::default()) }
    }

    fn pseudonym(&mut self, class: &'static str, key: String) -> String {
        let next = self.counts.get(class).copied().unwrap_or(0) + 1;
        let n = *self.numbers.entry((class, key)).or_insert_with(|| next);
        if n == next {
            self.counts.insert(class, next);
        }
        format!("{class}-{n}")
    }

    fn usable(s: &str) -> Option<&str> {
        let s = s.trim();
        let junk = s.is_empty() || s == "-" || s.parse::<IpAddr>().is_ok() || s.chars().all(|c| c.is_ascii_digit());
        (!junk).then_some(s)
    }

    fn add_text(&mut self, text: &str, pseudonym: &str) {
        self.texts.entry(text.to_string()).or_insert_with(|| pseudonym.to_string());
    }

    fn user(&mut self, raw: &str) {
        let Some(s) = Names::usable(raw) else { return };
        // DOMAIN\user and user@domain carry both.
        if let Some((d, u)) = s.split_once('\\') {
            self.domain(d);
            self.user(u);
            return;
        }
        if let Some((u, d)) = s.split_once('@') {
            self.user(u);
            self.domain(d);
            return;
        }
        let p = self.pseudonym("user", s.to_ascii_lowercase());
        self.add_text(s, &p);
    }

    fn domain(&mut self, raw: &str) {
        let Some(s) = Names::usable(raw) else { return };
        let p = self.pseudonym("domain", s.to_ascii_lowercase());
        self.add_text(s, &p);
    }

    fn host(&mut self, raw: &str) {
        let Some(s) = Names::usable(raw.trim_end_matches('.')) else { return };
        // A host is known by its first label: RDSH01 and rdsh01.corp.example are one machine.
        let (first, rest) = s.split_once('.').unwrap_or((s, ""));
        if first.is_empty() {
            return;
        }
        let p = self.pseudonym("host", first.to_ascii_lowercase());
        self.add_text(s, &p);
        self.add_text(first, &p);
        if !rest.is_empty() {
            self.domain(rest);
        }
    }
}

/// The CN values of an X.500 name as x509-parser prints it (`CN=a, O=b`).
fn common_names(dn: &str) -> impl Iterator<Item = &str> {
    dn.split([',', '+']).filter_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim().eq_ignore_ascii_case("CN").then_some(v.trim())
    })
}

impl Redactor {
    /// No redaction.
    pub fn off() -> Redactor {
        Redactor::default()
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Learns every name and address of the analysis.
    pub fn new(a: &Analysis) -> Redactor {
        let mut n = Names::default();
        for c in &a.connections {
            if let Some(u) = &c.negotiation.cookie {
                n.user(u);
            }
        }
        for c in &a.connections {
            if let Some(t) = &c.tls {
                for cert in t.server.certificates.iter().chain(&t.client.certificates) {
                    common_names(&cert.subject).chain(common_names(&cert.issuer)).for_each(|h| n.host(h));
                }
                if let Some(sni) = &t.sni {
                    n.host(sni);
                }
            }
        }
        for e in &a.events {
            n.host(&e.host);
        }
        for e in &a.events {
            let f = |k: &str| e.fields.get(k).map(String::as_str).unwrap_or("");
            match (&*e.provider, e.event_id) {
                (SECURITY, 4624 | 4625) => {
                    n.user(f("TargetUserName"));
                    n.domain(f("TargetDomainName"));
                }
                (SECURITY, 4778 | 4779) => {
                    n.user(f("AccountName"));
                    n.host(f("ClientName"));
                }
                (RCM, 1149) => {
                    n.user(f("Param1"));
                    n.domain(f("Param2"));
                }
                (LSM, _) => n.user(f("User")),
                (CLIENT, 1027) => n.domain(f("DomainName")),
                (CLIENT, 1024) => n.host(f("Value")),
                _ => {}
            }
        }
        for i in &a.inputs {
            for c in i.events.iter().flat_map(|s| &s.computers) {
                n.host(c);
            }
        }
        let r = n.into_redactor();
        // Number the addresses up front, connections first, so every format numbers them alike.
        for t in a.attempts() {
            let c = t.conn;
            r.register_ips(&c.client.to_string());
            r.register_ips(&c.server.to_string());
            t.evidence().iter().for_each(|e| r.register_ips(&e.text));
            c.notes.iter().for_each(|x| r.register_ips(x));
            t.observations.iter().for_each(|o| r.register_ips(&o.text));
        }
        for e in &a.events {
            if let Some(c) = &e.client {
                r.ips.borrow_mut().pseudonym(c.ip);
            }
            r.register_ips(&e.summary);
            e.fields.values().for_each(|v| r.register_ips(v));
        }
        a.skews.iter().for_each(|s| r.register_ips(&s.anchor));
        a.inputs.iter().for_each(|i| r.register_ips(&i.path));
        a.warnings.iter().for_each(|w| r.register_ips(&w.message));
        r
    }

    /// Gives every IP address in `s` its pseudonym now.
    fn register_ips(&self, s: &str) {
        let mut prev: Option<char> = None;
        let mut i = 0;
        while let Some(c) = s.get(i..).and_then(|r| r.chars().next()) {
            if (c.is_ascii_hexdigit() || c == ':')
                && prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '.' || p == ':'))
            {
                if let Some((len, ip)) = ip_at(s, i) {
                    self.ips.borrow_mut().pseudonym(ip);
                    i += len;
                    prev = s.get(..i).and_then(|h| h.chars().next_back());
                    continue;
                }
            }
            i += c.len_utf8();
            prev = Some(c);
        }
    }

    /// The pseudonymised text (the text itself when redaction is off).
    pub fn text(&self, s: &str) -> String {
        if !self.on {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut prev: Option<char> = None;
        while let Some(c) = s.get(i..).and_then(|r| r.chars().next()) {
            let boundary = prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_'));
            if boundary {
                if let Some((len, p)) = self.name_at(s, i, prev) {
                    out.push_str(p);
                    i += len;
                    prev = s.get(..i).and_then(|h| h.chars().next_back());
                    continue;
                }
            }
            if prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '.' || p == ':')) {
                if let Some((len, ip)) = ip_at(s, i) {
                    out.push_str(&self.ips.borrow_mut().pseudonym(ip).to_string());
                    i += len;
                    prev = s.get(..i).and_then(|h| h.chars().next_back());
                    continue;
                }
            }
            out.push(c);
            i += c.len_utf8();
            prev = Some(c);
        }
        out
    }

    fn name_at(&self, s: &str, i: usize, prev: Option<char>) -> Option<(usize, &str)> {
        let rest = s.get(i..)?;
        let first = rest.chars().next()?.to_ascii_lowercase();
        for e in self.names.get(&first)? {
            let len = e.text.len();
            let Some(candidate) = rest.get(..len) else { continue };
            let same = if e.exact_case { candidate == e.text } else { candidate.eq_ignore_ascii_case(&e.text) };
            if !same {
                continue;
            }
            let next = rest.get(len..).and_then(|r| r.chars().next());
            if next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            // Very short names only where a name is expected (`=jd`, `CORP\jd`, or alone).
            let short = e.text.chars().count() < 3;
            if short && !(prev.is_none_or(|p| matches!(p, '=' | '\\' | '/' | '@')) || rest.len() == len) {
                continue;
            }
            return Some((len, &e.pseudonym));
        }
        None
    }

    /// Pseudonymises every string value of a JSON document (object keys are our field names and
    /// stay). A routing token encodes the server's address, so it is replaced whole.
    pub fn json(&self, v: &mut Value) {
        if !self.on {
            return;
        }
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|x| self.json(x)),
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    if k == "routing_token" && x.is_string() {
                        *x = Value::String(REDACTED_TOKEN.into());
                    } else {
                        self.json(x);
                    }
                }
            }
            _ => {}
        }
    }
}

/// What a routing token becomes under `--redact`.
pub const REDACTED_TOKEN: &str = "[redacted routing token]";

/// An IP address starting at byte `i`: its length and value. IPv4 needs four dotted decimal
/// octets not followed by more digits; IPv6 is the longest run of hex digits, colons and dots
/// that parses (with at least two colons), so times like `09:15:00.5` are never taken.
fn ip_at(s: &str, i: usize) -> Option<(usize, IpAddr)> {
    let rest = s.get(i..)?;
    let b = rest.as_bytes();
    if b.first().is_some_and(u8::is_ascii_digit) {
        if let Some(hit) = ipv4_at(rest) {
            return Some(hit);
        }
    }
    let run = b.iter().take_while(|c| c.is_ascii_hexdigit() || **c == b':' || **c == b'.').count();
    let mut cand = rest.get(..run)?;
    while !cand.is_empty() {
        if cand.matches(':').count() >= 2 {
            if let Ok(ip) = cand.parse::<Ipv6Addr>() {
                let next = rest.get(cand.len()..).and_then(|r| r.chars().next());
                if next.is_some_and(|c| c.is_alphanumeric()) {
                    return None;
                }
                return Some((cand.len(), IpAddr::V6(ip)));
            }
        }
        match cand.char_indices().next_back() {
            Some((j, ':' | '.')) => cand = cand.get(..j)?,
            _ => break,
        }
    }
    None
}

fn ipv4_at(rest: &str) -> Option<(usize, IpAddr)> {
    let b = rest.as_bytes();
    let mut octets = [0u8; 4];
    let mut pos = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(pos) != Some(&b'.') {
                return None;
            }
            pos += 1;
        }
        let digits = b.get(pos..)?.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 3 {
            return None;
        }
        *octet = rest.get(pos..pos + digits)?.parse::<u8>().ok()?;
        pos += digits;
    }
    let after = b.get(pos).copied();
    let after2 = b.get(pos + 1).copied();
    if after.is_some_and(|c| c.is_ascii_alphanumeric())
        || (after == Some(b'.') && after2.is_some_and(|c| c.is_ascii_digit()))
    {
        return None;
    }
    Some((pos, IpAddr::V4(Ipv4Addr::from(octets))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(users: &[&str], hosts: &[&str]) -> Redactor {
        let mut n = Names::default();
        users.iter().for_each(|u| n.user(u));
        hosts.iter().for_each(|h| n.host(h));
        n.into_redactor()
    }

    #[test]
    fn names_are_whole_words_and_consistent() {
        let r = redactor(&["jdoe", "CONTOSO\\alice"], &["RDSH01.corp.example", "SERVER"]);
        assert_eq!(r.text("cookie mstshash=jdoe, requested SSL"), "cookie mstshash=user-1, requested SSL");
        assert_eq!(r.text("jdoex"), "jdoex");
        assert_eq!(r.text("CN=rdsh01.corp.example"), "CN=host-1");
        assert_eq!(r.text("Schannel on RDSH01: x"), "Schannel on host-1: x");
        assert_eq!(r.text("logon failed for CONTOSO\\alice"), "logon failed for domain-1\\user-2");
        assert_eq!(r.text("corp.example"), "domain-2");
        // our own word keeps its meaning; the host with that exact name is replaced
        assert_eq!(r.text("RST from the server on SERVER"), "RST from the server on host-2");
    }

    #[test]
    fn addresses_anywhere() {
        let r = redactor(&[], &[]);
        assert_eq!(r.text("10.20.30.41:50611 -> 10.20.1.15:3389"), "10.255.0.1:50611 -> 10.255.0.2:3389");
        assert_eq!(r.text("from 10.20.30.41."), "from 10.255.0.1.");
        assert_eq!(r.text("[2001:db8:10::41]:57001"), "[fd00::ff:0:1]:57001");
        assert_eq!(r.text("2001:db8:10::41"), "fd00::ff:0:1");
        assert_eq!(
            r.text("at 09:15:00.004350Z, TLS 1.2, 1.2.3.4.5, v10.0.0.1"),
            "at 09:15:00.004350Z, TLS 1.2, 1.2.3.4.5, v10.0.0.1"
        );
        assert_eq!(r.text("127.0.0.1 and ::1"), "127.0.0.1 and ::1");
    }
}
