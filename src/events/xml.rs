//! Windows events exported as XML: `wevtutil qe <log> /f:xml` output (a bare run of `<Event>`
//! elements, no root, often no declaration) and Event Viewer "Save As → XML" files (`<Events>`
//! root, sometimes UTF-16 with a BOM).
//!
//! Takes any `Read`; UTF-8 (with or without BOM) and UTF-16 LE/BE (BOM, or a leading `<` with
//! a zero byte beside it) are transcoded to UTF-8 on the fly. A small scanner cuts the stream
//! into `<Event …>…</Event>` pieces (each capped at `MAX_EVENT_BYTES`, so memory stays bounded
//! whatever the file size) and quick-xml parses each piece on its own. That is also the
//! recovery rule: damage costs at most the event it is in, and reading resumes at the next
//! `<Event`.
//!
//! Produces the same `WinEvent` the .evtx reader produces (`System` values, `EventData` /
//! `UserData` fields for the events `wanted` keeps, named as `WinEvent.fields` says; leaves
//! only, repeated names joined by `,`) and `LogStats` counting every event.
//! `RenderingInfo` (the rendered message Event Viewer adds) and `ProcessingErrorData` are
//! ignored. Does not validate against the schema, resolve DTD entities or render messages.
//!
//! References: the event schema, namespace "http://schemas.microsoft.com/win/2004/08/events/event"
//! (<https://learn.microsoft.com/windows/win32/wes/eventschema-schema>); wevtutil
//! (<https://learn.microsoft.com/windows-server/administration/windows-commands/wevtutil>).

use std::io::{self, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::{LogStats, WinEvent};
use crate::error::{Error, Result, WarningSink};
use crate::time::Ts;

/// Bytes read from the input at a time.
const READ_BLOCK: usize = 64 * 1024;
/// A single event larger than this is skipped (a real one is at most a few hundred KiB).
const MAX_EVENT_BYTES: usize = 8 << 20;
const OPEN: &[u8] = b"<Event";
const CLOSE: &[u8] = b"</Event";

/// True when `head` (the first bytes of a file) looks like an XML event export.
pub fn sniff(head: &[u8]) -> bool {
    let (enc, bom) = detect(head);
    let body = head.get(bom..).unwrap_or_default();
    // Down to ASCII: enough to recognise the markup in either encoding.
    let text: Vec<u8> = match enc {
        Enc::Utf8 => body.to_vec(),
        Enc::Utf16 { big_endian } => {
            body.chunks_exact(2).map(|p| unit(p, big_endian)).map(|u| if u < 0x80 { u as u8 } else { b'?' }).collect()
        }
    };
    let first = text.iter().position(|b| !b.is_ascii_whitespace());
    if first.and_then(|i| text.get(i)) != Some(&b'<') {
        return false;
    }
    matches!(find_tag(&text, 0, OPEN), Hit::At(_)) || matches!(find_tag(&text, 0, b"<Events"), Hit::At(_))
}

/// Reads every <Event> of an XML export. `wanted(provider, event_id)` says which events keep
/// their fields (all are counted in LogStats).
pub fn read_xml(
    mut reader: impl Read,
    name: &str,
    wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    sink: &mut WarningSink,
) -> Result<(LogStats, Vec<WinEvent>)> {
    let io_err = |source| Error::Io { path: name.into(), source };
    let mut head = [0u8; 4];
    let mut got = 0;
    while let Some(free @ [_, ..]) = head.get_mut(got..) {
        match read_some(&mut reader, free).map_err(io_err)? {
            0 => break,
            n => got += n,
        }
    }
    let head = head.get(..got).unwrap_or_default();
    let (enc, bom) = detect(head);
    let rest = io::Cursor::new(head.get(bom..).unwrap_or_default().to_vec()).chain(reader);
    let mut st = Scan { name, wanted, sink, stats: LogStats::default(), events: Vec::new(), note: "" };
    let done = match enc {
        Enc::Utf8 => st.run(rest, bom as u64),
        Enc::Utf16 { big_endian } => {
            st.note = " (offset in the UTF-8 text transcoded from this UTF-16 file)";
            st.run(Utf16Reader { inner: rest, big_endian, carry: None, high: None, out: Vec::new(), pos: 0 }, 0)
        }
    };
    done.map_err(io_err)?;
    if st.events.is_empty() && st.sink.total() == 0 {
        st.sink.push(0, None, "no <Event> element found");
    }
    Ok((st.stats, st.events))
}

#[derive(Clone, Copy)]
enum Enc {
    Utf8,
    Utf16 { big_endian: bool },
}

/// Encoding and BOM length from the first bytes.
fn detect(head: &[u8]) -> (Enc, usize) {
    match head {
        [0xEF, 0xBB, 0xBF, ..] => (Enc::Utf8, 3),
        [0xFF, 0xFE, ..] => (Enc::Utf16 { big_endian: false }, 2),
        [0xFE, 0xFF, ..] => (Enc::Utf16 { big_endian: true }, 2),
        [b'<', 0, ..] => (Enc::Utf16 { big_endian: false }, 0),
        [0, b'<', ..] => (Enc::Utf16 { big_endian: true }, 0),
        _ => (Enc::Utf8, 0),
    }
}

fn unit(pair: &[u8], big_endian: bool) -> u16 {
    let (a, b) = (pair.first().copied().unwrap_or(0), pair.get(1).copied().unwrap_or(0));
    if big_endian { u16::from_be_bytes([a, b]) } else { u16::from_le_bytes([a, b]) }
}

/// `read` that retries on `Interrupted` and fills as much of `buf` as one call gives.
fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// UTF-16 → UTF-8 as a `Read`; broken surrogates and a dangling odd byte become U+FFFD.
struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    carry: Option<u8>,
    high: Option<u16>,
    out: Vec<u8>,
    pos: usize,
}

impl<R: Read> Utf16Reader<R> {
    fn push(&mut self, c: char) {
        let mut tmp = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    }

    fn push_unit(&mut self, u: u16) {
        if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                return;
            }
            self.push(char::REPLACEMENT_CHARACTER);
        }
        if (0xD800..0xDC00).contains(&u) {
            self.high = Some(u);
        } else {
            self.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
    }

    /// Decodes the next block; false at the end of the input.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        let mut block = [0u8; 16 * 1024];
        let n = read_some(&mut self.inner, &mut block)?;
        if n == 0 {
            if self.high.take().is_some() || self.carry.take().is_some() {
                self.push(char::REPLACEMENT_CHARACTER);
            }
            return Ok(!self.out.is_empty());
        }
        let mut bytes: Vec<u8> = self.carry.take().into_iter().collect();
        bytes.extend_from_slice(block.get(..n).unwrap_or_default());
        let pairs = bytes.chunks_exact(2);
        self.carry = pairs.remainder().first().copied();
        for p in pairs {
            self.push_unit(unit(p, self.big_endian));
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let avail = self.out.get(self.pos..).unwrap_or_default();
        let n = avail.len().min(buf.len());
        for (d, s) in buf.iter_mut().zip(avail) {
            *d = *s;
        }
        self.pos += n;
        Ok(n)
    }
}

enum Hit {
    /// The tag starts here.
    At(usize),
    /// A `<` here may start the tag once more bytes arrive.
    Partial(usize),
    Nothing,
}

/// Finds `pat` (`<Event` or `</Event`) followed by whitespace, `>` or `/`, from `from` on.
fn find_tag(buf: &[u8], from: usize, pat: &[u8]) -> Hit {
    let mut i = from;
    while let Some(p) = buf.get(i..).and_then(|b| b.iter().position(|&c| c == b'<')) {
        let at = i + p;
        let rest = buf.get(at..).unwrap_or_default();
        match rest.get(pat.len()) {
            None if pat.starts_with(rest) => return Hit::Partial(at),
            Some(&d) if rest.starts_with(pat) && (d.is_ascii_whitespace() || d == b'>' || d == b'/') => {
                return Hit::At(at);
            }
            _ => {}
        }
        i = at + 1;
    }
    Hit::Nothing
}

/// Where scanning resumes once no step is possible: at the earliest tag that may still complete.
fn resume_at(win: &[u8], in_event: bool, from: usize) -> usize {
    let at = |h| match h {
        Hit::At(i) | Hit::Partial(i) => i,
        Hit::Nothing => win.len(),
    };
    let open = at(find_tag(win, from, OPEN));
    if in_event { open.min(at(find_tag(win, from, CLOSE))) } else { open }
}

/// One input being read.
struct Scan<'a> {
    name: &'a str,
    wanted: &'a (dyn Fn(&str, u16) -> bool + Sync),
    sink: &'a mut WarningSink,
    stats: LogStats,
    events: Vec<WinEvent>,
    note: &'static str,
}

impl Scan<'_> {
    fn warn(&mut self, offset: u64, message: String) {
        let message = format!("{message} [after {} events]{}", self.events.len(), self.note);
        self.sink.push(offset, None, message);
    }

    /// Cuts the stream into events. `off` is the input offset of the first byte `src` yields.
    fn run(&mut self, mut src: impl Read, mut off: u64) -> io::Result<()> {
        let mut win: Vec<u8> = Vec::new();
        let mut block = vec![0u8; READ_BLOCK];
        // Start of the current event in `win`, and where scanning resumes.
        let (mut start, mut from): (Option<usize>, usize) = (None, 0);
        loop {
            while let Some(next) = self.step(&win, off, &mut start, from) {
                from = next;
            }
            from = resume_at(&win, start.is_some(), from);
            let keep = start.unwrap_or(from).min(win.len());
            win.drain(..keep);
            off += keep as u64;
            from -= keep.min(from);
            start = start.map(|s| s - keep.min(s));
            if start.is_some() && win.len() > MAX_EVENT_BYTES {
                self.warn(off, format!("event larger than {MAX_EVENT_BYTES} bytes skipped"));
                (start, from) = (None, OPEN.len());
                continue;
            }
            // A read error (a truncated or corrupt gzip stream) ends the input where it happens:
            // the events before it are kept.
            let n = match read_some(&mut src, &mut block) {
                Ok(n) => n,
                Err(e) => {
                    self.warn(off + win.len() as u64, format!("read error: {e}; the input ends here"));
                    0
                }
            };
            if n == 0 {
                break;
            }
            win.extend_from_slice(block.get(..n).unwrap_or_default());
        }
        if start.is_some() {
            self.warn(off, format!("input ends inside the event that starts at byte {off}; it is dropped"));
        }
        Ok(())
    }

    /// One scanner move on the window; `Some(next scan position)` when it made progress.
    fn step(&mut self, win: &[u8], off: u64, start: &mut Option<usize>, from: usize) -> Option<usize> {
        let Some(s) = *start else {
            let Hit::At(i) = find_tag(win, from, OPEN) else { return None };
            *start = Some(i);
            return Some(i + OPEN.len());
        };
        let gt = s + win.get(s..)?.iter().position(|&b| b == b'>')?;
        if win.get(gt.wrapping_sub(1)) == Some(&b'/') {
            self.parse_event(win.get(s..=gt)?, off + s as u64);
            *start = None;
            return Some(gt + 1);
        }
        let from = from.max(gt + 1);
        let (close, reopen) = (find_tag(win, from, CLOSE), find_tag(win, from, OPEN));
        if let Hit::At(r) = reopen
            && !matches!(close, Hit::At(c) if c < r)
        {
            self.warn(off + s as u64, format!("event at byte {} has no </Event>; skipped", off + s as u64));
            *start = Some(r);
            return Some(r + OPEN.len());
        }
        let Hit::At(c) = close else { return None };
        let end = c + win.get(c..)?.iter().position(|&b| b == b'>')?;
        self.parse_event(win.get(s..=end)?, off + s as u64);
        *start = None;
        Some(end + 1)
    }

    /// Parses one `<Event>` element; damage is a warning and drops only this event.
    fn parse_event(&mut self, xml: &[u8], off: u64) {
        let mut r = Reader::from_reader(xml);
        r.config_mut().expand_empty_elements = true;
        r.config_mut().allow_dangling_amp = true;
        let mut ev = Parsed::default();
        let mut path: Vec<Vec<u8>> = Vec::new();
        loop {
            match r.read_event() {
                Err(e) => {
                    let at = r.error_position();
                    return self.warn(off + at, format!("malformed XML {at} bytes into an event: {e}; event skipped"));
                }
                Ok(Event::Eof) => break,
                Ok(Event::Start(e)) => {
                    path.push(e.local_name().as_ref().to_vec());
                    ev.start(&path, &e, &r, self.wanted);
                }
                Ok(Event::End(_)) => {
                    ev.end(path.len());
                    path.pop();
                }
                // No end-of-line normalisation: the .evtx reader keeps "\r\n" as stored.
                Ok(Event::Text(t)) => match t.decode() {
                    Ok(s) => ev.text(&s),
                    Err(_) => ev.text(&String::from_utf8_lossy(&t)),
                },
                Ok(Event::CData(t)) => ev.text(&String::from_utf8_lossy(&t)),
                Ok(Event::GeneralRef(g)) => {
                    let name = String::from_utf8_lossy(&g);
                    match g.resolve_char_ref() {
                        Ok(Some(c)) => ev.text(c.encode_utf8(&mut [0u8; 4])),
                        _ => {
                            ev.text(quick_xml::escape::resolve_predefined_entity(&name).unwrap_or(&format!("&{name};")))
                        }
                    }
                }
                Ok(_) => {}
            }
        }
        self.finish(ev, off);
    }

    fn finish(&mut self, p: Parsed, off: u64) {
        let (Some(provider), Some(id_text)) = (p.provider, p.event_id) else {
            return self.warn(off, "event without System/Provider@Name or System/EventID skipped".into());
        };
        let Ok(event_id) = id_text.trim().parse::<u16>() else {
            return self.warn(off, format!("{provider}: EventID {:?} is not a number 0..65535; skipped", id_text));
        };
        let ts = p.time.as_deref().and_then(Ts::parse_rfc3339);
        if ts.is_none() {
            self.warn(off, format!("{provider}/{event_id}: TimeCreated {:?} unreadable; time set to 0", p.time));
        }
        // A damaged EventRecordID is named like a damaged TimeCreated, not silently made 0.
        let record_id = number(&p.record_id);
        if record_id.is_none() && p.record_id.is_some() {
            let text = &p.record_id;
            self.warn(
                off,
                format!("{provider}/{event_id}: EventRecordID {text:?} is not a number; record id set to 0"),
            );
        }
        let keep = p.keep.unwrap_or_else(|| (self.wanted)(&provider, event_id));
        let ev = WinEvent {
            ts: ts.unwrap_or_default(),
            input: self.name.into(),
            record_id: record_id.unwrap_or(0),
            event_id,
            qualifiers: number(&p.qualifiers),
            level: number(&p.level).unwrap_or(0),
            channel: p.channel.unwrap_or_default().into(),
            computer: p.computer.unwrap_or_default().into(),
            activity_id: p.activity.as_deref().and_then(guid),
            fields: if keep { p.fields.into() } else { Default::default() },
            provider: provider.into(),
        };
        self.stats.count(&ev.provider, event_id, ev.ts, &ev.computer);
        self.events.push(ev);
    }
}

/// What one event's elements gave so far.
#[derive(Default)]
struct Parsed {
    provider: Option<String>,
    event_id: Option<String>,
    qualifiers: Option<String>,
    level: Option<String>,
    time: Option<String>,
    record_id: Option<String>,
    channel: Option<String>,
    computer: Option<String>,
    activity: Option<String>,
    fields: std::collections::BTreeMap<String, String>,
    /// `wanted(provider, id)` once both are known.
    keep: Option<bool>,
    unnamed: usize,
    /// The element whose text is being collected: (depth, slot, text).
    capture: Option<(usize, Slot, String)>,
}

enum Slot {
    EventId,
    Level,
    RecordId,
    Channel,
    Computer,
    Field(String),
}

impl Parsed {
    fn start(&mut self, path: &[Vec<u8>], e: &BytesStart, r: &Reader<&[u8]>, wanted: &dyn Fn(&str, u16) -> bool) {
        let attr = |key: &[u8]| {
            e.attributes().flatten().find(|a| a.key.local_name().as_ref() == key).map(|a| {
                a.decode_and_unescape_value(r.decoder())
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned())
            })
        };
        let names: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
        let slot = match names.as_slice() {
            [b"Event", b"System", b"Provider"] => return self.provider = attr(b"Name"),
            [b"Event", b"System", b"TimeCreated"] => return self.time = attr(b"SystemTime"),
            [b"Event", b"System", b"Correlation"] => return self.activity = attr(b"ActivityID"),
            [b"Event", b"System", b"EventID"] => {
                self.qualifiers = attr(b"Qualifiers");
                Slot::EventId
            }
            [b"Event", b"System", b"Level"] => Slot::Level,
            [b"Event", b"System", b"EventRecordID"] => Slot::RecordId,
            [b"Event", b"System", b"Channel"] => Slot::Channel,
            [b"Event", b"System", b"Computer"] => Slot::Computer,
            [b"Event", b"EventData", b"Data"] => match attr(b"Name") {
                Some(n) => Slot::Field(n),
                None => {
                    self.unnamed += 1;
                    Slot::Field(format!("Data{}", self.unnamed))
                }
            },
            [b"Event", b"EventData", b"Binary"] => Slot::Field("Binary".into()),
            // Other elements by their name; a nested one replaces its parent (only leaves count).
            [b"Event", b"EventData", .., leaf] | [b"Event", b"UserData", _, .., leaf] => {
                Slot::Field(String::from_utf8_lossy(leaf).into_owned())
            }
            _ => return,
        };
        if matches!(slot, Slot::Field(_)) && !self.keep(wanted) {
            return;
        }
        self.capture = Some((path.len(), slot, String::new()));
    }

    /// Whether fields are worth collecting; undecided (collect) until provider and id are known.
    fn keep(&mut self, wanted: &dyn Fn(&str, u16) -> bool) -> bool {
        if self.keep.is_none()
            && let (Some(p), Some(Ok(id))) = (&self.provider, self.event_id.as_deref().map(|s| s.trim().parse()))
        {
            self.keep = Some(wanted(p, id));
        }
        self.keep.unwrap_or(true)
    }

    fn text(&mut self, s: &str) {
        if let Some((_, _, buf)) = &mut self.capture {
            buf.push_str(s);
        }
    }

    fn end(&mut self, depth: usize) {
        if !matches!(&self.capture, Some((d, _, _)) if *d == depth) {
            return;
        }
        let Some((_, slot, text)) = self.capture.take() else { return };
        match slot {
            Slot::EventId => self.event_id = Some(text),
            Slot::Level => self.level = Some(text),
            Slot::RecordId => self.record_id = Some(text),
            Slot::Channel => self.channel = Some(text),
            Slot::Computer => self.computer = Some(text),
            Slot::Field(name) => {
                let text = if name == "Binary" { text.trim().to_ascii_lowercase() } else { text };
                // Two elements of one name are joined by ',', as the .evtx reader does.
                match self.fields.get_mut(&name) {
                    Some(old) => {
                        old.push(',');
                        old.push_str(&text);
                    }
                    None => {
                        self.fields.insert(name, text);
                    }
                }
            }
        }
    }
}

/// A decimal element text or attribute, surrounding whitespace ignored.
fn number<T: std::str::FromStr>(v: &Option<String>) -> Option<T> {
    v.as_deref()?.trim().parse().ok()
}

/// `{GUID}` / `GUID` → `{lower-case guid}`; empty → None.
fn guid(s: &str) -> Option<String> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    (!inner.is_empty()).then(|| format!("{{{}}}", inner.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

    /// Hand-written events in the shape `wevtutil qe /f:xml` prints (single-quoted attributes).
    fn security_4625() -> String {
        format!(
            "<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-Security-Auditing' \
             Guid='{{11111111-2222-3333-4444-555555555555}}'/><EventID>4625</EventID><Version>0</Version>\
             <Level>0</Level><Task>12544</Task><Keywords>0x8010000000000000</Keywords>\
             <TimeCreated SystemTime='2024-05-06T07:08:09.1234567Z'/><EventRecordID>90210</EventRecordID>\
             <Correlation ActivityID='{{A1B2C3D4-0000-1111-2222-ABCDEFABCDEF}}'/>\
             <Execution ProcessID='712' ThreadID='3344'/><Channel>Security</Channel>\
             <Computer>SRV01.corp.example</Computer><Security/></System><EventData>\
             <Data Name='TargetUserName'>alice</Data><Data Name='TargetDomainName'>CORP</Data>\
             <Data Name='Status'>0xc000006d</Data><Data Name='SubStatus'>0xc000006a</Data>\
             <Data Name='LogonType'>3</Data><Data Name='WorkstationName'>LAP&amp;TOP&#x21;</Data>\
             <Data Name='IpAddress'>192.0.2.44</Data><Data Name='IpPort'>50123</Data></EventData></Event>"
        )
    }

    fn rcm_1149() -> String {
        format!(
            "<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager' \
             Guid='{{66666666-7777-8888-9999-AAAAAAAAAAAA}}'/><EventID>1149</EventID><Level>4</Level>\
             <TimeCreated SystemTime='2024-05-06T07:08:15.5Z'/><EventRecordID>77</EventRecordID>\
             <Correlation/><Channel>Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational</Channel>\
             <Computer>SRV01.corp.example</Computer><Security UserID='S-1-5-20'/></System><UserData>\
             <EventXML xmlns='Event_NS'><Param1>alice</Param1><Param2>CORP</Param2><Param3>192.0.2.44</Param3>\
             </EventXML></UserData></Event>"
        )
    }

    fn termdd_56() -> String {
        format!(
            "<Event xmlns=\"{NS}\">\n  <System>\n    <Provider Name=\"TermDD\"/>\n    \
             <EventID Qualifiers=\"49162\">56</EventID>\n    <Level>2</Level>\n    \
             <TimeCreated SystemTime=\"2024-05-06T09:09:00+02:00\"/>\n    <EventRecordID>5150</EventRecordID>\n    \
             <Channel>System</Channel>\n    <Computer>SRV01.corp.example</Computer>\n  </System>\n  <EventData>\n    \
             <Data>\\Device\\Termdd</Data>\n    <Data>198.51.100.7</Data>\n    \
             <Binary>0000040001002C0000000000380000C00000000038000AD0</Binary>\n  </EventData>\n</Event>"
        )
    }

    fn stream() -> String {
        format!("{}\n{}{}\n", security_4625(), rcm_1149(), termdd_56())
    }

    fn all(_: &str, _: u16) -> bool {
        true
    }

    /// Hands out at most `step` bytes per read, to cut the input at awkward places.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read(
        bytes: &[u8],
        step: usize,
        wanted: &(dyn Fn(&str, u16) -> bool + Sync),
    ) -> (LogStats, Vec<WinEvent>, WarningSink) {
        let mut sink = WarningSink::new("t.xml");
        let (stats, events) = read_xml(Trickle(bytes, step), "t.xml", wanted, &mut sink).unwrap();
        (stats, events, sink)
    }

    fn ts(s: &str) -> Ts {
        Ts::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn wevtutil_stream_maps_every_field() {
        let xml = stream();
        assert!(sniff(xml.as_bytes()));
        for step in [usize::MAX, 7, 1] {
            let (stats, ev, sink) = read(xml.as_bytes(), step, &all);
            assert!(sink.list.is_empty(), "{:?}", sink.list);
            assert_eq!(ev.len(), 3);
            let s = &ev[0];
            assert_eq!(
                (&*s.provider, s.event_id, s.qualifiers, s.level),
                ("Microsoft-Windows-Security-Auditing", 4625, None, 0)
            );
            assert_eq!(s.ts.rfc3339(7), "2024-05-06T07:08:09.1234567Z");
            assert_eq!((s.record_id, &*s.channel, &*s.computer), (90210, "Security", "SRV01.corp.example"));
            assert_eq!(s.activity_id.as_deref(), Some("{a1b2c3d4-0000-1111-2222-abcdefabcdef}"));
            assert_eq!(&*s.input, "t.xml");
            for (k, v) in [("IpAddress", "192.0.2.44"), ("IpPort", "50123"), ("Status", "0xc000006d")] {
                assert_eq!(s.fields.get(k).unwrap(), v);
            }
            assert_eq!(s.fields.get("SubStatus").unwrap(), "0xc000006a");
            assert_eq!(s.fields.get("WorkstationName").unwrap(), "LAP&TOP!");
            assert_eq!(s.fields.len(), 8);

            let r = &ev[1];
            assert_eq!((r.event_id, r.level, r.record_id, r.activity_id.as_deref()), (1149, 4, 77, None));
            let want = [("Param1", "alice"), ("Param2", "CORP"), ("Param3", "192.0.2.44")];
            assert_eq!(r.fields, want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());

            let t = &ev[2];
            assert_eq!((&*t.provider, t.event_id, t.qualifiers, t.level), ("TermDD", 56, Some(49162), 2));
            assert_eq!(t.ts, ts("2024-05-06T07:09:00Z"));
            assert_eq!(t.fields.get("Data1").unwrap(), "\\Device\\Termdd");
            assert_eq!(t.fields.get("Data2").unwrap(), "198.51.100.7");
            assert_eq!(t.fields.get("Binary").unwrap(), "0000040001002c0000000000380000c00000000038000ad0");

            assert_eq!(stats.records, 3);
            assert_eq!(stats.per_event["TermDD/56"], 1);
            assert_eq!(stats.per_event["Microsoft-Windows-Security-Auditing/4625"], 1);
            assert_eq!((stats.first, stats.last), (Some(ev[0].ts), Some(ev[2].ts)));
            assert_eq!(stats.computers, vec!["SRV01.corp.example".to_string()]);
        }
    }

    fn event_viewer_doc() -> String {
        let rendering = "<RenderingInfo Culture='en-US'><Message>Remote Desktop Services: User authentication \
             succeeded:&#13;\n\nUser: bob &lt;x&gt;</Message><Level>Information</Level><Task></Task>\
             <Keywords><Keyword>Classic</Keyword></Keywords><Provider>x</Provider></RenderingInfo>";
        let ev = rcm_1149()
            .replace("<Param1>alice</Param1>", "<Param1>Jürgen😀</Param1>")
            .replace("SRV01.corp.example", "SRV-ÄÖ")
            .replace("</UserData>", &format!("</UserData>{rendering}"));
        format!("<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<Events>{ev}\r\n{}</Events>", termdd_56())
    }

    #[test]
    fn event_viewer_utf16_with_rendering_info() {
        let doc = event_viewer_doc();
        for big_endian in [false, true] {
            let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            for u in doc.encode_utf16() {
                bytes.extend(if big_endian { u.to_be_bytes() } else { u.to_le_bytes() });
            }
            assert!(sniff(&bytes[..bytes.len().min(512)]));
            let (stats, ev, sink) = read(&bytes, 3, &all);
            assert!(sink.list.is_empty(), "{:?}", sink.list);
            assert_eq!(ev.len(), 2);
            assert_eq!(ev[0].fields.get("Param1").unwrap(), "Jürgen😀");
            assert_eq!(ev[0].fields.len(), 3, "RenderingInfo must not add fields");
            assert_eq!((ev[0].level, &*ev[0].computer), (4, "SRV-ÄÖ"));
            assert_eq!(ev[1].fields.get("Data2").unwrap(), "198.51.100.7");
            assert_eq!(stats.records, 2);
        }
        // UTF-8 with a BOM, same result.
        let bytes = [&[0xEF, 0xBB, 0xBF][..], doc.as_bytes()].concat();
        assert!(sniff(&bytes));
        let (_, ev, sink) = read(&bytes, 2, &all);
        assert!(sink.list.is_empty() && ev.len() == 2);
    }

    #[test]
    fn truncated_input_keeps_complete_events() {
        let xml = stream();
        let third = xml.rfind("<Event ").unwrap();
        let cut = &xml.as_bytes()[..third + 150];
        let (stats, ev, sink) = read(cut, 4096, &all);
        assert_eq!(ev.len(), 2);
        assert_eq!(stats.records, 2);
        assert_eq!(sink.list.len(), 1);
        assert_eq!(sink.list[0].offset, third as u64);
        assert!(sink.list[0].message.contains(&format!("byte {third}")), "{}", sink.list[0].message);
        assert!(sink.list[0].message.contains("after 2 events"));
    }

    #[test]
    fn damage_costs_one_event() {
        let broken = security_4625().replace("</EventID>", "</EventIDx>");
        let no_id = termdd_56().replace("<EventID Qualifiers=\"49162\">56</EventID>", "");
        let unterminated = rcm_1149().replace("</Event>", "");
        let xml = format!("{broken}{}{no_id}{unterminated}{}", rcm_1149(), termdd_56());
        let (stats, ev, sink) = read(xml.as_bytes(), 100, &all);
        let ids: Vec<u16> = ev.iter().map(|e| e.event_id).collect();
        assert_eq!(ids, vec![1149, 56]);
        assert_eq!(stats.records, 2);
        assert_eq!(sink.list.len(), 3, "{:?}", sink.list);
        assert!(sink.list[0].message.contains("malformed XML"));
        assert!(sink.list[1].message.contains("EventID"));
        assert!(sink.list[2].message.contains("no </Event>"));
        let unterminated_at = broken.len() + rcm_1149().len() + no_id.len();
        assert_eq!(sink.list[2].offset, unterminated_at as u64);
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut seed = 0x1234_5678u32;
        let mut noise: Vec<u8> = (0..200_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        assert!(!sniff(&noise[..4096]));
        let (_, ev, sink) = read(&noise, 4096, &all);
        assert!(ev.is_empty() && sink.total() >= 1);
        let frags =
            ["<Event", "<Event>", "</Event>", "<Event/>", "<Event <", "&#xFFFFFFFF;", "<![CDATA[", "<!x", "\u{0}"];
        for (i, f) in frags.iter().cycle().take(5000).enumerate() {
            let at = (i * 37) % noise.len();
            noise.splice(at..at, f.bytes());
        }
        for enc in [&[][..], &[0xFF, 0xFE][..], &[0xFE, 0xFF][..]] {
            let bytes = [enc, &noise[..]].concat();
            let _ = read(&bytes, 1000, &all);
        }
        for s in ["", "<", "<Event", "<Event xmlns='a'/>", "<Events></Events>", "\u{feff}"] {
            let _ = read(s.as_bytes(), 1, &all);
        }
    }

    #[test]
    fn nested_user_data_and_repeated_names() {
        let xml = rcm_1149().replace(
            "<Param3>192.0.2.44</Param3>",
            "<Param3>192.0.2.44</Param3><Param3>x</Param3><Addr><Ip>198.51.100.9</Ip><Port/></Addr><Note>a\r\nb</Note>",
        );
        let (_, ev, sink) = read(xml.as_bytes(), 9, &all);
        assert!(sink.list.is_empty());
        let f = &ev[0].fields;
        assert_eq!(
            (f.get("Param3").unwrap(), f.get("Ip").unwrap(), f.get("Port").unwrap()),
            ("192.0.2.44,x", "198.51.100.9", "")
        );
        assert!(!f.contains_key("Addr") && !f.contains_key("EventXML"));
        assert_eq!(f.get("Note").unwrap(), "a\r\nb", "line ends stay as stored, like the .evtx reader");
    }

    #[test]
    fn wanted_filters_fields_not_counts() {
        let only_1149 = |_: &str, id: u16| id == 1149;
        let (stats, ev, _) = read(stream().as_bytes(), 64, &only_1149);
        assert_eq!(ev.len(), 3);
        assert!(ev[0].fields.is_empty() && ev[2].fields.is_empty());
        assert_eq!(ev[1].fields.len(), 3);
        assert_eq!(ev[2].qualifiers, Some(49162));
        assert_eq!(stats.records, 3);
        assert_eq!(stats.per_event.len(), 3);
    }

    #[test]
    fn sniffs_by_content() {
        assert!(sniff(b"\r\n<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"));
        assert!(sniff(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Events>"));
        assert!(!sniff(b"ElfFile\0\0\0\0\0"));
        assert!(!sniff(b"<html><body>Event</body></html>"));
        assert!(!sniff(b"x<Event>"));
        assert!(!sniff(b""));
    }
}
