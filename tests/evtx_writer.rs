//! `synth::evtx_writer` round trip: one event of every payload shape plus enough events to fill
//! several chunks, written and read back by the evtx crate (checksum validation on) and by our
//! own `read_evtx`, field by field.

use std::collections::{BTreeMap, BTreeSet};

use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxChunkData, EvtxFileHeader, EvtxParser, ParserSettings};
use rdplog::error::WarningSink;
use rdplog::events::evtx::read_evtx_counted;
use rdplog::synth::evtx_writer::{EventSpec, Payload, Value, parse_guid, write_evtx};
use rdplog::time::Ts;
use serde_json::Value as Json;

const T0: i64 = 1_772_359_205_000_000_000; // 2026-03-01T10:00:05Z

fn guid(text: &str) -> Option<[u8; 16]> {
    Some(parse_guid(text).expect("test GUID"))
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
}

fn named(fields: &[(&str, Value)], binary: Option<Vec<u8>>) -> Payload {
    Payload::EventData { data: fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(), binary }
}

/// One event of each shape we write.
fn shapes() -> Vec<EventSpec> {
    let base = EventSpec { computer: "RDSH01.contoso.local".into(), level: 4, ..Default::default() };
    let security = EventSpec {
        provider: "Microsoft-Windows-Security-Auditing".into(),
        provider_guid: guid("{54849625-5478-4994-a5ba-3e3b0328c30d}"),
        event_id: 4625,
        level: 0,
        task: 12544,
        keywords: 0x8010_0000_0000_0000,
        process_id: 640,
        thread_id: 3012,
        channel: "Security".into(),
        payload: named(
            &[
                ("SubjectUserSid", Value::Sid("S-1-5-18".into())),
                ("SubjectLogonId", Value::HexU64(0x3e7)),
                ("TargetUserName", Value::Str("alice".into())),
                ("TargetDomainName", Value::Str("CONTOSO".into())),
                ("Status", Value::HexU32(0xC000_006D)),
                ("FailureReason", Value::Str("%%2313".into())),
                ("SubStatus", Value::HexU32(0xC000_006A)),
                ("LogonType", Value::U32(3)),
                ("IpAddress", Value::Str("10.0.0.5".into())),
                ("IpPort", Value::Str("50123".into())),
            ],
            None,
        ),
        ..base.clone()
    };
    let rcm = EventSpec {
        provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager".into(),
        provider_guid: guid("{c76baa63-ae81-421c-b425-340b4b24157f}"),
        event_id: 1149,
        keywords: 0x1000_0000_0000_0000,
        channel: "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational".into(),
        user_sid: Some("S-1-5-20".into()),
        payload: Payload::UserData {
            wrapper: "EventXML".into(),
            ns: "Event_NS".into(),
            fields: vec![
                ("Param1".into(), Value::Str("alice".into())),
                ("Param2".into(), Value::Str("CONTOSO".into())),
                ("Param3".into(), Value::Str("10.0.0.5".into())),
            ],
        },
        ..base.clone()
    };
    let scm = EventSpec {
        provider: "Service Control Manager".into(),
        provider_guid: guid("{555908d1-a6d7-4695-8e1e-26931d2012f4}"),
        event_id: 7036,
        qualifiers: Some(16384),
        keywords: 0x8080_0000_0000_0000,
        channel: "System".into(),
        payload: named(
            &[("param1", Value::Str("Remote Desktop Services".into())), ("param2", Value::Str("stopped".into()))],
            Some(utf16z("TermService/1")),
        ),
        ..base.clone()
    };
    // A classic binary block whose last DWORD is the HRESULT-ised NTSTATUS 0xD0000184.
    let mut termdd_binary = vec![0, 0, 4, 0, 2, 0, 0x30, 0, 0, 0, 0, 0, 0x38, 0, 0x0A, 0xC0];
    termdd_binary.extend([0; 8]);
    termdd_binary.extend(0xD000_0184u32.to_le_bytes());
    let termdd = EventSpec {
        provider: "TermDD".into(),
        event_id: 56,
        qualifiers: Some(49162),
        level: 2,
        keywords: 0x0080_0000_0000_0000,
        channel: "System".into(),
        payload: Payload::Unnamed {
            data: vec!["\\Device\\Termdd".into(), "10.0.0.5".into()],
            binary: Some(termdd_binary),
        },
        ..base.clone()
    };
    let core = EventSpec {
        provider: "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS".into(),
        provider_guid: guid("{1139c61b-b549-4251-8ed3-27250a1edec8}"),
        event_id: 131,
        task: 4,
        opcode: 15,
        keywords: 0x4000_0000_0000_0000,
        process_id: 1956,
        thread_id: 2144,
        channel: "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational".into(),
        activity_id: guid("{f420934d-77ce-407f-beca-93aa0ecf0000}"),
        user_sid: Some("S-1-5-20".into()),
        payload: named(
            &[("ConnType", Value::Str("TCP".into())), ("ClientIP", Value::Str("10.0.0.5:50123".into()))],
            None,
        ),
        ..base.clone()
    };
    let client = EventSpec {
        provider: "Microsoft-Windows-TerminalServices-ClientActiveXCore".into(),
        provider_guid: guid("{28aa95bb-d444-4719-a36f-40462168127e}"),
        event_id: 1026,
        task: 101,
        opcode: 11,
        keywords: 0x4000_0000_0000_0000,
        channel: "Microsoft-Windows-TerminalServices-RDPClient/Operational".into(),
        computer: "WKS07".into(),
        activity_id: guid("{59288327-6042-4b62-907a-3af47a800000}"),
        user_sid: Some("S-1-5-21-2232410529-1445126562-2725690660-500".into()),
        payload: named(
            &[
                ("Name", Value::Str("Disconnect Reason".into())),
                ("Value", Value::U32(2308)),
                ("CustomLevel", Value::Str("Info".into())),
            ],
            None,
        ),
        ..base.clone()
    };
    let bare = EventSpec {
        event_id: 98,
        payload: Payload::None,
        activity_id: guid("{00000000-0000-0000-0000-000000000001}"),
        ..core.clone()
    };
    // Every other value type, in one event.
    let types = EventSpec {
        provider: "rdplog-test".into(),
        event_id: 65535,
        version: 2,
        channel: "Application".into(),
        payload: named(
            &[
                ("U8", Value::U8(200)),
                ("U16", Value::U16(65000)),
                ("U64", Value::U64(u64::MAX)),
                ("Guid", Value::Guid(parse_guid("{0123abcd-4567-89ab-cdef-0123456789ab}").expect("GUID"))),
                ("When", Value::FileTime(Ts(T0 + 123_456_700))),
                ("Yes", Value::Bool(true)),
                ("No", Value::Bool(false)),
                ("Blob", Value::Binary(vec![0xde, 0xad, 0xbe, 0xef])),
                ("Empty", Value::Str(String::new())),
                ("Unicode", Value::Str("Zürich – Δ".into())),
            ],
            None,
        ),
        ..base.clone()
    };
    vec![security, rcm, scm, termdd, core, client, bare, types]
}

/// `n` events cycling through the shapes, with varied texts, three computers, rising times and
/// a few explicit record ids with gaps.
fn many(n: usize) -> Vec<EventSpec> {
    let shapes = shapes();
    let computers = ["RDSH01.contoso.local", "RDSH02.contoso.local", "WKS07"];
    let vary = |v: &Value, i: usize| match v {
        Value::Str(s) if !s.is_empty() => Value::Str(format!("{s} #{i}")),
        Value::U32(x) => Value::U32(x.wrapping_add(i as u32)),
        other => other.clone(),
    };
    (0..n)
        .map(|i| {
            let mut ev = shapes[i % shapes.len()].clone();
            ev.computer = computers[(i / shapes.len()) % computers.len()].to_string();
            ev.ts = Ts(T0 + i as i64 * 1_234_567_800);
            if i % 500 == 499 {
                ev.record_id = 10_000 + i as u64 * 3;
            }
            ev.payload = match ev.payload {
                Payload::EventData { data, binary } => {
                    Payload::EventData { data: data.iter().map(|(k, v)| (k.clone(), vary(v, i))).collect(), binary }
                }
                Payload::Unnamed { data, binary } => {
                    Payload::Unnamed { data: data.iter().map(|s| format!("{s} #{i}")).collect(), binary }
                }
                Payload::UserData { wrapper, ns, fields } => Payload::UserData {
                    wrapper,
                    ns,
                    fields: fields.iter().map(|(k, v)| (k.clone(), vary(v, i))).collect(),
                },
                Payload::None => Payload::None,
            };
            ev
        })
        .collect()
}

/// The record ids `write_evtx` assigns.
fn ids(events: &[EventSpec]) -> Vec<u64> {
    let mut last = 0;
    events
        .iter()
        .map(|e| {
            last = if e.record_id == 0 { last + 1 } else { e.record_id };
            last
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn guid_text(g: &[u8; 16]) -> String {
    let (a, b, c) = (
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
    );
    format!("{{{a:08x}-{b:04x}-{c:04x}-{}-{}}}", hex(&g[8..10]), hex(&g[10..])).to_lowercase()
}

/// How a value prints (the text forms of [MS-EVEN6] §2.2.12.3, as both readers print them).
fn text(v: &Value) -> String {
    match v {
        Value::Str(s) | Value::Sid(s) => s.clone(),
        Value::U8(x) => x.to_string(),
        Value::U16(x) => x.to_string(),
        Value::U32(x) => x.to_string(),
        Value::U64(x) => x.to_string(),
        Value::HexU32(x) => format!("{x:#x}"),
        Value::HexU64(x) => format!("{x:#x}"),
        Value::Guid(g) => guid_text(g),
        Value::FileTime(t) => t.rfc3339(7),
        Value::Bool(b) => b.to_string(),
        Value::Binary(b) => hex(b),
    }
}

/// The fields as `WinEvent.fields` names them (unnamed Data → Data1.., Binary lower-case hex).
fn expected_fields(p: &Payload) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let binary = match p {
        Payload::None => None,
        Payload::EventData { data, binary } => {
            out.extend(data.iter().map(|(k, v)| (k.clone(), text(v))));
            binary.as_ref()
        }
        Payload::Unnamed { data, binary } => {
            out.extend(data.iter().enumerate().map(|(i, s)| (format!("Data{}", i + 1), s.clone())));
            binary.as_ref()
        }
        Payload::UserData { fields, .. } => {
            out.extend(fields.iter().map(|(k, v)| (k.clone(), text(v))));
            None
        }
    };
    if let Some(b) = binary {
        out.insert("Binary".into(), hex(b).to_lowercase());
    }
    out
}

/// A JSON leaf as text.
fn jtext(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares one record as the evtx crate renders it with what was written.
fn check_crate_record(json: &Json, ev: &EventSpec, id: u64) {
    let what = format!("record {id} ({} {})", ev.provider, ev.event_id);
    let sys = &json["Event"]["System"];
    assert_eq!(sys["Provider"]["#attributes"]["Name"], Json::from(&*ev.provider), "{what}");
    let guid = sys["Provider"]["#attributes"].get("Guid").map(jtext);
    assert_eq!(guid, ev.provider_guid.as_ref().map(guid_text), "{what}");
    match ev.qualifiers {
        Some(q) => {
            assert_eq!(sys["EventID"]["#text"], Json::from(ev.event_id), "{what}");
            assert_eq!(sys["EventID"]["#attributes"]["Qualifiers"], Json::from(q), "{what}");
        }
        None => assert_eq!(sys["EventID"], Json::from(ev.event_id), "{what}"),
    }
    assert_eq!(sys["Version"], Json::from(ev.version), "{what}");
    assert_eq!(sys["Level"], Json::from(ev.level), "{what}");
    assert_eq!(sys["Task"], Json::from(ev.task), "{what}");
    assert_eq!(sys["Opcode"], Json::from(ev.opcode), "{what}");
    assert_eq!(sys["Keywords"], Json::from(format!("{:#x}", ev.keywords)), "{what}");
    assert_eq!(sys["TimeCreated"]["#attributes"]["SystemTime"], Json::from(ev.ts.rfc3339(7)), "{what}");
    assert_eq!(sys["EventRecordID"], Json::from(id), "{what}");
    let activity = sys["Correlation"].get("#attributes").and_then(|a| a.get("ActivityID")).map(jtext);
    assert_eq!(activity, ev.activity_id.as_ref().map(guid_text), "{what}");
    assert_eq!(sys["Execution"]["#attributes"]["ProcessID"], Json::from(ev.process_id), "{what}");
    assert_eq!(sys["Execution"]["#attributes"]["ThreadID"], Json::from(ev.thread_id), "{what}");
    assert_eq!(sys["Channel"], Json::from(&*ev.channel), "{what}");
    assert_eq!(sys["Computer"], Json::from(&*ev.computer), "{what}");
    let user = sys["Security"].get("#attributes").and_then(|a| a.get("UserID")).map(jtext);
    assert_eq!(user, ev.user_sid, "{what}");

    let event = &json["Event"];
    match &ev.payload {
        Payload::None => {
            assert!(event.get("EventData").is_none() && event.get("UserData").is_none(), "{what}: {event}");
        }
        Payload::EventData { data, binary } => {
            let ed = &event["EventData"];
            for (name, v) in data {
                assert_eq!(jtext(&ed[name]), text(v), "{what}: {name} in {ed}");
            }
            let keys = ed.as_object().map(|o| o.len()).unwrap_or(0);
            assert_eq!(keys, data.len() + usize::from(binary.is_some()), "{what}: {ed}");
            if let Some(b) = binary {
                assert_eq!(jtext(&ed["Binary"]), hex(b), "{what}");
            }
        }
        Payload::Unnamed { data, binary } => {
            let ed = &event["EventData"];
            // The crate renders repeated unnamed `<Data>` as `{"#text": [..]}`.
            let data_json = ed["Data"].get("#text").unwrap_or(&ed["Data"]);
            let items: Vec<String> = match data_json {
                Json::Array(items) => items.iter().map(jtext).collect(),
                one => vec![jtext(one)],
            };
            assert_eq!(&items, data, "{what}: {ed}");
            assert_eq!(ed.get("Binary").map(jtext), binary.as_deref().map(hex), "{what}");
        }
        Payload::UserData { wrapper, ns, fields } => {
            let inner = &event["UserData"][wrapper];
            assert_eq!(inner["#attributes"]["xmlns"], Json::from(ns.as_str()), "{what}: {inner}");
            for (name, v) in fields {
                assert_eq!(jtext(&inner[name]), text(v), "{what}: {name} in {inner}");
            }
        }
    }
}

fn write(events: &[EventSpec]) -> Vec<u8> {
    let mut out = Vec::new();
    write_evtx(events, &mut out).expect("write_evtx");
    out
}

/// Reads with the evtx crate (checksums validated) and compares every record.
fn check_with_crate(bytes: &[u8], events: &[EventSpec]) {
    let header = EvtxFileHeader::from_bytes(bytes).expect("file header");
    assert!(header.validate_checksum(), "file header CRC");
    let settings = ParserSettings::default().validate_checksums(true);
    let mut parser = EvtxParser::from_buffer(bytes.to_vec()).expect("parser").with_configuration(settings);
    let records: Vec<_> = parser.records_json_value().map(|r| r.expect("record the crate can read")).collect();
    let ids = ids(events);
    assert_eq!(records.len(), events.len());
    for ((record, ev), id) in records.iter().zip(events).zip(ids) {
        assert_eq!(record.event_record_id, id);
        check_crate_record(&record.data, ev, id);
    }
}

/// Reads with our reader and compares every `WinEvent`; no warnings and no JSON fallback.
fn check_with_ours(bytes: &[u8], events: &[EventSpec]) {
    let mut sink = WarningSink::new("written.evtx");
    let cursor = std::io::Cursor::new(bytes);
    let (stats, got, counters) = read_evtx_counted(cursor, "written.evtx", &|_, _| true, &mut sink).expect("read_evtx");
    assert_eq!(sink.total(), 0, "warnings: {:?}", sink.list);
    assert_eq!(stats.records, events.len() as u64);
    assert_eq!(counters.typed, events.len() as u64, "{counters:?}");
    assert_eq!((counters.rendered, counters.failed, counters.crate_chunks), (0, 0, 0), "{counters:?}");
    assert_eq!(got.len(), events.len());
    for ((w, ev), id) in got.iter().zip(events).zip(ids(events)) {
        let what = format!("record {id} ({} {})", ev.provider, ev.event_id);
        assert_eq!(w.record_id, id, "{what}");
        assert_eq!(w.ts, ev.ts, "{what}");
        assert_eq!(&*w.provider, ev.provider, "{what}");
        assert_eq!(w.event_id, ev.event_id, "{what}");
        assert_eq!(w.qualifiers, ev.qualifiers, "{what}");
        assert_eq!(w.level, ev.level, "{what}");
        assert_eq!(&*w.channel, ev.channel, "{what}");
        assert_eq!(&*w.computer, ev.computer, "{what}");
        assert_eq!(w.activity_id, ev.activity_id.as_ref().map(guid_text), "{what}");
        assert_eq!(w.fields, expected_fields(&ev.payload).into(), "{what}");
    }
}

#[test]
fn every_shape_round_trips() {
    let events: Vec<EventSpec> =
        shapes().into_iter().enumerate().map(|(i, e)| EventSpec { ts: Ts(T0 + i as i64 * 100), ..e }).collect();
    let bytes = write(&events);
    assert_eq!(bytes.len(), 4096 + 65_536);
    check_with_crate(&bytes, &events);
    check_with_ours(&bytes, &events);
    // Real logs store 4625's Status as HexInt32 and render it in lower-case hex.
    let mut parser = EvtxParser::from_buffer(bytes.clone()).expect("parser");
    let first = parser.records_json_value().next().expect("a record").expect("readable");
    assert_eq!(first.data["Event"]["EventData"]["Status"], Json::from("0xc000006d"));

    // The checksums are really checked: one changed byte in a record's value is caught.
    let mut damaged = bytes;
    let at = damaged
        .windows(10)
        .position(|w| w == "CONTOSO".encode_utf16().flat_map(u16::to_le_bytes).take(10).collect::<Vec<_>>())
        .expect("a value");
    damaged[at] ^= 0x01;
    let settings = ParserSettings::default().validate_checksums(true);
    let mut parser = EvtxParser::from_buffer(damaged.clone()).expect("parser").with_configuration(settings);
    assert!(parser.records_json_value().any(|r| r.is_err()), "the crate reports the bad chunk");
    let mut sink = WarningSink::new("damaged.evtx");
    read_evtx_counted(std::io::Cursor::new(&damaged), "damaged.evtx", &|_, _| true, &mut sink).expect("read");
    assert!(sink.list.iter().any(|w| w.message.contains("CRC32")), "{:?}", sink.list);
}

#[test]
fn many_events_span_chunks_and_reuse_templates() {
    let events = many(2000);
    let bytes = write(&events);
    assert_eq!(bytes, write(&events), "output is deterministic");
    let chunks = (bytes.len() - 4096) / 65_536;
    assert!(chunks >= 3, "{chunks} chunks");
    assert_eq!((bytes.len() - 4096) % 65_536, 0);
    assert_eq!(u16::from_le_bytes([bytes[42], bytes[43]]) as usize, chunks);
    let last = *ids(&events).last().expect("ids");
    assert_eq!(u64::from_le_bytes(bytes[24..32].try_into().expect("8 bytes")), last + 1);

    check_with_crate(&bytes, &events);
    check_with_ours(&bytes, &events);

    // Per chunk: valid CRCs, and few template definitions shared by many records.
    let settings = std::sync::Arc::new(ParserSettings::default());
    let mut previous_last = 0;
    for n in 0..chunks {
        let start = 4096 + n * 65_536;
        let mut data = EvtxChunkData::new(bytes[start..start + 65_536].to_vec(), true).expect("chunk with valid CRCs");
        let (first, last) = (data.header.first_event_record_id, data.header.last_event_record_id);
        assert!(first > previous_last && last >= first, "chunk {n}: ids {first}..={last}");
        previous_last = last;
        let mut seen = Vec::new();
        let mut chunk = data.parse(settings.clone()).expect("chunk");
        let (mut roots, mut inner, mut records) = (BTreeSet::new(), BTreeSet::new(), 0);
        for record in chunk.iter() {
            let record = record.expect("record");
            records += 1;
            seen.push(record.event_record_id);
            for instance in record.template_instances().expect("instances") {
                roots.insert(instance.template_def_offset);
                if let Some(BinXmlValue::BinXmlType(b)) = instance.values.get(17) {
                    // Fragment header (4), token and unknown byte (2), template id (4), offset.
                    inner.insert(u32::from_le_bytes(b[10..14].try_into().expect("4 bytes")));
                }
            }
        }
        assert_eq!((seen.first(), seen.last()), (Some(&first), Some(&last)), "chunk {n}");
        // 3 computers × (EventData, UserData) roots; 7 payload templates.
        assert!(
            roots.len() <= 6 && inner.len() <= 7,
            "chunk {n}: {} roots, {} payload templates",
            roots.len(),
            inner.len()
        );
        assert!(records > 40 || n + 1 == chunks, "chunk {n}: {records} records");
    }
}
