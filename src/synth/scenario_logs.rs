//! Windows event logs for the bundled scenarios: the events a real case would carry, in the
//! shape Windows writes them, with unrelated background activity around them.
//!
//! `Logs` collects events per log file (channel) and writes each file with our evtx writer:
//! sorted by time, record ids continuing from a plausible earlier history, the server's
//! events shifted when a scenario skews the server clock. The methods are a small vocabulary of
//! the providers rdplog reads (Service Control Manager, Schannel, Security auditing, RdpCoreTS,
//! RemoteConnectionManager, LocalSessionManager, the RDP client) with the field names and value
//! types of the providers' manifests and of real exported logs; `background` adds what a busy
//! server and workstation also log (other services' state changes, service logons, process
//! creation, DNS warnings) so that the tool has to pick the relevant records out.
//!
//! Deterministic: the only variation comes from a seeded `XorShift`. It does not model every
//! field Windows writes (no EventSourceName, no RelatedActivityID) and invents no event ids.
//!
//! References: rdp-facts §4 (providers, ids, channels, field names), §4.8 (WFP direction and
//! layer codes); the field layouts were compared with public exported logs (evtx_dump).

mod background;
mod security;

use std::io::{self, Write};

use super::XorShift;
use super::evtx_writer::{EventSpec, Payload, Value, parse_guid, write_evtx};
use crate::time::Ts;

const SEC: i64 = 1_000_000_000;

pub const SERVER_HOST: &str = "RDSH01.corp.example";
pub const CLIENT_HOST: &str = "WS041.corp.example";
/// The failing user's SID (CORP\jdoe) and the domain.
const JDOE_SID: &str = "S-1-5-21-3102938871-2410587335-1820716124-1107";
const DOMAIN: &str = "CORP";

/// The SID of one of the scenarios' accounts.
fn sid_of(user: &str) -> &'static str {
    match user {
        "jdoe" => JDOE_SID,
        "alice" => "S-1-5-21-3102938871-2410587335-1820716124-1132",
        "RDSH01$" => "S-1-5-21-3102938871-2410587335-1820716124-1604",
        _ => "S-1-5-18",
    }
}

const SCM: (&str, &str) = ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}");
const SCHANNEL: (&str, &str) = ("Schannel", "{1f678132-5938-4686-9fdc-c8ff68f15c85}");
const DNS: (&str, &str) = ("Microsoft-Windows-DNS-Client", "{1c95126e-7eea-49a9-a3fe-a378b03ddb4d}");
const SECURITY: (&str, &str) = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}");
const CORE: (&str, &str) =
    ("Microsoft-Windows-RemoteDesktopServices-RdpCoreTS", "{1139c61b-b549-4251-8ed3-27250a1edec8}");
const RCM: (&str, &str) =
    ("Microsoft-Windows-TerminalServices-RemoteConnectionManager", "{c76baa63-ae81-421c-b425-340b4b24157f}");
const LSM: (&str, &str) =
    ("Microsoft-Windows-TerminalServices-LocalSessionManager", "{5d896912-022d-40aa-a3a8-4fa5515c76d7}");
const CLIENT: (&str, &str) =
    ("Microsoft-Windows-TerminalServices-ClientActiveXCore", "{28aa95bb-d444-4719-a36f-40462168127e}");

/// One exported log file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    System,
    Security,
    RdpCoreTs,
    Rcm,
    RcmAdmin,
    Lsm,
    /// The workstation's RDP client log; every other channel is on the server.
    Client,
}

impl Channel {
    /// The file name `wevtutil epl` / Event Viewer gives the exported channel.
    pub fn file(self) -> &'static str {
        match self {
            Channel::System => "System.evtx",
            Channel::Security => "Security.evtx",
            Channel::RdpCoreTs => "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
            Channel::Rcm => "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
            Channel::RcmAdmin => "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx",
            Channel::Lsm => "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
            Channel::Client => "Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx",
        }
    }

    /// The folder of the host whose log it is: the analyst keeps each machine's exports apart.
    pub fn folder(self) -> &'static str {
        if self == Channel::Client { "ws041" } else { "rdsh01" }
    }

    fn name(self) -> &'static str {
        match self {
            Channel::System => "System",
            Channel::Security => "Security",
            Channel::RdpCoreTs => "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
            Channel::Rcm => "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
            Channel::RcmAdmin => "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin",
            Channel::Lsm => "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            Channel::Client => "Microsoft-Windows-TerminalServices-RDPClient/Operational",
        }
    }

    /// The record id of the first exported record: logs are exported long after they started.
    fn first_record(self) -> u64 {
        match self {
            Channel::System => 48_213,
            Channel::Security => 1_204_118,
            Channel::RdpCoreTs => 9_872,
            Channel::Rcm => 6_410,
            Channel::RcmAdmin => 377,
            Channel::Lsm => 3_195,
            Channel::Client => 842,
        }
    }
}

/// An activity id as the RDP components write them (`{f420….-…-…0000}`), from a seed.
pub fn activity(seed: u64) -> [u8; 16] {
    let mut r = XorShift::new(seed.wrapping_mul(0x9E37_79B9) ^ 0xAC71);
    let (a, b, c, d) = (r.next_u64(), r.next_u64(), r.next_u64(), r.next_u64());
    let text = format!(
        "{{f420{:04x}-{:04x}-4{:03x}-{:04x}-{:08x}0000}}",
        a & 0xffff,
        b & 0xffff,
        c & 0xfff,
        0x8000 | (d & 0x3fff),
        (a >> 16) & 0xffff_ffff
    );
    parse_guid(&text).unwrap_or([0; 16])
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn named(fields: &[(&str, Value)]) -> Payload {
    Payload::named(fields)
}

fn event_xml(fields: &[(&str, Value)]) -> Payload {
    Payload::UserData {
        wrapper: "EventXML".into(),
        ns: "Event_NS".into(),
        fields: fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
    }
}

fn after(t: Ts, nanos: i64) -> Ts {
    Ts(t.0 + nanos)
}

/// The events of one case, per channel.
pub struct Logs {
    events: Vec<(Channel, EventSpec)>,
    /// The logs the analyst exported; events of other channels are not written.
    collected: Vec<Channel>,
    /// Added to every server-side event time (the server clock's error).
    server_skew: i64,
    rng: XorShift,
}

impl Logs {
    /// Logs of a case whose analyst exported the `collected` channels.
    pub fn new(seed: u64, collected: &[Channel]) -> Self {
        Logs { events: Vec::new(), collected: collected.to_vec(), server_skew: 0, rng: XorShift::new(seed) }
    }

    /// The server's clock runs `nanos` ahead of the capture (the client's clock is right).
    pub fn skew_server(&mut self, nanos: i64) {
        self.server_skew = nanos;
    }

    /// The event skeleton of a provider on a channel.
    fn push(
        &mut self,
        ch: Channel,
        provider: (&str, &str),
        id: u16,
        level: u8,
        ts: Ts,
        payload: Payload,
    ) -> &mut EventSpec {
        let (pid, sid, keywords) = match ch {
            Channel::System => (676, None, 0x8080_0000_0000_0000),
            Channel::Security => (688, None, 0x8020_0000_0000_0000),
            Channel::RdpCoreTs => (1132, Some("S-1-5-20"), 0x4000_0000_0000_0000),
            Channel::Rcm => (1132, Some("S-1-5-20"), 0x1000_0000_0000_0000),
            Channel::RcmAdmin => (1132, Some("S-1-5-20"), 0x4000_0000_0000_0000),
            Channel::Lsm => (744, Some("S-1-5-18"), 0x1000_0000_0000_0000),
            Channel::Client => (7412, Some(JDOE_SID), 0x4000_0000_0000_0000),
        };
        let skew = if ch == Channel::Client { 0 } else { self.server_skew };
        let thread = 1000 + 4 * self.rng.below(900) as u32;
        let spec = EventSpec {
            provider: provider.0.to_string(),
            provider_guid: parse_guid(provider.1),
            event_id: id,
            level,
            keywords,
            ts: after(ts, skew),
            process_id: pid,
            thread_id: thread,
            channel: ch.name().to_string(),
            computer: if ch == Channel::Client { CLIENT_HOST } else { SERVER_HOST }.to_string(),
            user_sid: sid.map(str::to_string),
            payload,
            ..Default::default()
        };
        self.events.push((ch, spec));
        let last = self.events.len() - 1;
        &mut self.events[last].1
    }

    // ---- System ----

    /// SCM 7036: `display` entered the running or stopped state; Binary "<key>/<4|1>".
    pub fn service_state(&mut self, ts: Ts, display: &str, key: &str, running: bool) {
        let (state, code) = if running { ("running", 4) } else { ("stopped", 1) };
        let payload = Payload::EventData {
            data: vec![("param1".into(), s(display)), ("param2".into(), s(state))],
            binary: Some(utf16z(&format!("{key}/{code}"))),
        };
        let e = self.push(Channel::System, SCM, 7036, 4, ts, payload);
        e.qualifiers = Some(16384);
    }

    /// SCM 7034: `display` terminated unexpectedly `count` times; Binary is the service key.
    pub fn service_crash(&mut self, ts: Ts, display: &str, key: &str, count: u32) {
        let payload = Payload::EventData {
            data: vec![("param1".into(), s(display)), ("param2".into(), s(&count.to_string()))],
            binary: Some(utf16z(key)),
        };
        let e = self.push(Channel::System, SCM, 7034, 2, ts, payload);
        e.qualifiers = Some(49152);
    }

    fn schannel(&mut self, ts: Ts, id: u16, fields: &[(&str, Value)]) {
        let e = self.push(Channel::System, SCHANNEL, id, 2, ts, named(fields));
        e.keywords = 0x8000_0000_0000_0000;
        e.process_id = 688;
        e.user_sid = Some("S-1-5-18".into());
    }

    /// Schannel 36870: the server credential's private key is unusable (0x8009030D).
    pub fn schannel_private_key(&mut self, ts: Ts) {
        self.schannel(
            ts,
            36870,
            &[("Type", s("server")), ("ErrorCode", s("0x8009030D")), ("ErrorStatus", Value::U32(10001))],
        );
    }

    /// Schannel 36874: a `protocol` ClientHello with no cipher suite the server supports.
    pub fn schannel_no_common_cipher(&mut self, ts: Ts, protocol: &str) {
        self.schannel(ts, 36874, &[("Protocol", s(protocol))]);
    }

    /// Schannel 36888: a fatal alert generated and sent.
    pub fn schannel_alert_sent(&mut self, ts: Ts, alert: u32) {
        self.schannel(ts, 36888, &[("AlertDesc", Value::U32(alert)), ("ErrorState", Value::U32(1205))]);
    }

    // ---- RDP server components ----

    /// An RdpCoreTS/Operational event with named data.
    pub fn core(&mut self, ts: Ts, id: u16, level: u8, act: [u8; 16], fields: &[(&str, Value)]) {
        let payload = if fields.is_empty() { Payload::None } else { named(fields) };
        let e = self.push(Channel::RdpCoreTs, CORE, id, level, ts, payload);
        e.task = 4;
        e.opcode = match id {
            65 | 66 => 13,
            139 | 140 => 14,
            141 => 11,
            102 | 103 => 17,
            226 | 228 => 19,
            _ => 15,
        };
        e.activity_id = Some(act);
    }

    /// A RemoteConnectionManager event (UserData/EventXML) on its Operational or Admin channel.
    pub fn rcm(&mut self, ts: Ts, id: u16, level: u8, act: Option<[u8; 16]>, fields: &[(&str, Value)]) {
        let ch = if matches!(id, 1068 | 1069) { Channel::RcmAdmin } else { Channel::Rcm };
        let e = self.push(ch, RCM, id, level, ts, event_xml(fields));
        e.activity_id = act;
    }

    /// A LocalSessionManager event for CORP\`user`'s session (`address` for 21, 22, 24, 25).
    pub fn lsm(&mut self, ts: Ts, id: u16, user: &str, session: u32, address: Option<&str>) {
        let mut fields = vec![("User", s(&format!("{DOMAIN}\\{user}"))), ("SessionID", Value::U32(session))];
        if let Some(a) = address {
            fields.push(("Address", s(a)));
        }
        self.push(Channel::Lsm, LSM, id, 4, ts, event_xml(&fields));
    }

    /// A LocalSessionManager event with other fields (40: Session, Reason).
    pub fn lsm_fields(&mut self, ts: Ts, id: u16, fields: &[(&str, Value)]) {
        self.push(Channel::Lsm, LSM, id, 4, ts, event_xml(fields));
    }

    // ---- the RDP client on the workstation ----

    /// A client event; `fields` empty for 1025/1103/1104-style events without data.
    pub fn client(&mut self, ts: Ts, id: u16, act: [u8; 16], fields: &[(&str, Value)]) {
        let payload =
            if fields.is_empty() { Payload::EventData { data: Vec::new(), binary: None } } else { named(fields) };
        let level = if id == 226 { 3 } else { 4 };
        let e = self.push(Channel::Client, CLIENT, id, level, ts, payload);
        e.task = if id == 226 { 104 } else { 101 };
        e.opcode = match id {
            226 => 19,
            1026 => 11,
            _ => 10,
        };
        e.activity_id = Some(act);
    }

    /// Client 1024 "connecting to `server`".
    pub fn client_connecting(&mut self, ts: Ts, act: [u8; 16], server: &str) {
        self.client(ts, 1024, act, &[("Name", s("Server Name")), ("Value", s(server)), ("CustomLevel", s("Info"))]);
    }

    /// Client 1026 "disconnected (Reason= `reason`)", the reason in decimal.
    pub fn client_disconnected(&mut self, ts: Ts, act: [u8; 16], reason: u32) {
        let fields = [("Name", s("Disconnect Reason")), ("Value", Value::U32(reason)), ("CustomLevel", s("Info"))];
        self.client(ts, 1026, act, &fields);
    }

    /// Writes one `.evtx` per collected channel that has events (gzip-compressed when `gzip`),
    /// in time order with increasing record ids. Returns (path relative to the case folder,
    /// bytes); each host's logs go to a folder of their own (`rdsh01/`, `ws041/`).
    pub fn files(mut self, gzip: bool) -> io::Result<Vec<(String, Vec<u8>)>> {
        let collected = std::mem::take(&mut self.collected);
        self.events.retain(|(ch, _)| collected.contains(ch));
        self.events.sort_by_key(|(ch, e)| (*ch, e.ts));
        let mut out = Vec::new();
        let mut start = 0;
        while start < self.events.len() {
            let ch = self.events[start].0;
            let end = self.events[start..].iter().position(|(c, _)| *c != ch).map_or(self.events.len(), |n| start + n);
            let mut specs: Vec<EventSpec> = self.events[start..end].iter().map(|(_, e)| e.clone()).collect();
            if let Some(first) = specs.first_mut() {
                first.record_id = ch.first_record();
            }
            let mut bytes = Vec::new();
            write_evtx(&specs, &mut bytes)?;
            let name = format!("{}/{}", ch.folder(), ch.file());
            if gzip {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(&bytes)?;
                out.push((format!("{name}.gz"), gz.finish()?));
            } else {
                out.push((name, bytes));
            }
            start = end;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WarningSink;
    use crate::events::catalog::type_event;
    use crate::events::evtx::read_evtx;

    #[test]
    fn written_logs_read_back_with_the_fields_rdplog_uses() {
        let t = Ts(1_772_442_900 * SEC);
        let mut logs = Logs::new(3, &[Channel::System, Channel::Security, Channel::RdpCoreTs, Channel::Client]);
        logs.skew_server(2 * SEC);
        logs.background(Ts(t.0 - 600 * SEC), t);
        logs.lsm(t, 21, "jdoe", 3, Some("10.20.30.41"));
        logs.service_state(t, "Remote Desktop Services", "TermService", false);
        logs.logon_failed(t, 0xC000_006D, 0xC000_006A, "10.20.30.41", "50611");
        logs.core(t, 131, 4, activity(1), &[("ConnType", s("TCP")), ("ClientIP", s("10.20.30.41:50611"))]);
        logs.client_disconnected(t, activity(2), 2308);
        let files = logs.files(false).expect("writes");
        assert_eq!(files.len(), 4);
        let mut typed = Vec::new();
        for (name, bytes) in &files {
            let mut sink = WarningSink::new(name);
            let (_, events) = read_evtx(std::io::Cursor::new(bytes), name, &|_, _| true, &mut sink).expect("reads");
            assert_eq!(sink.total(), 0, "{name}");
            typed.extend(events.iter().filter_map(type_event));
        }
        let find = |id: u16| typed.iter().find(|e| e.event_id == id).expect("typed");
        assert_eq!(find(4625).client.map(|c| c.to_string()).as_deref(), Some("10.20.30.41:50611"));
        assert_eq!(find(4625).fields.get("SubStatus").map(String::as_str), Some("0xc000006a"));
        assert_eq!(find(131).ts, Ts(t.0 + 2 * SEC), "server events carry the skew");
        assert_eq!(find(1026).ts, t, "the client's clock is right");
        assert_eq!(find(1026).fields.get("Value").map(String::as_str), Some("2308"));
        assert_eq!(find(7036).summary, "Remote Desktop Services entered the stopped state");
        // Background: other services' 7036 and service logons are read but not typed.
        assert_eq!(typed.iter().filter(|e| e.event_id == 7036).count(), 1);
        assert!(typed.iter().all(|e| e.event_id != 4624));
    }
}
