//! Unit tests of the BinXML reader on hand-built byte streams (layouts as in [MS-EVEN6] §2.2.12
//! and rdp-facts §7.4), each with its truncated variants: every cut must be an error (or "not an
//! instance"), never a panic.

use super::*;

/// Writes BinXML tokens with inline names, the way Windows writes a chunk's first template.
#[derive(Default)]
struct W {
    b: Vec<u8>,
    /// Writing a template definition: element starts carry a dependency id.
    def: bool,
    /// Chunk offset of `b[0]` (name references are chunk offsets).
    base: usize,
}

impl W {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.b.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.b.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn utf16(&mut self, s: &str) -> &mut Self {
        for u in s.encode_utf16() {
            self.u16(u);
        }
        self
    }
    /// A name reference whose NameLink follows inline.
    fn name(&mut self, name: &str) -> &mut Self {
        let here = (self.base + self.b.len()) as u32 + 4;
        self.u32(here).u32(0).u16(0).u16(name.encode_utf16().count() as u16).utf16(name).u16(0)
    }
    fn fragment_header(&mut self) -> &mut Self {
        self.b.extend_from_slice(&[token::FRAGMENT_HEADER, 1, 1, 0]);
        self
    }
    fn open(&mut self, name: &str, attrs: bool) -> &mut Self {
        self.b.push(if attrs { token::OPEN_START_ATTRS } else { token::OPEN_START });
        if self.def {
            self.u16(0xFFFF);
        }
        self.u32(0).name(name);
        if attrs {
            self.u32(0);
        }
        self
    }
    fn attr(&mut self, name: &str) -> &mut Self {
        self.b.push(token::ATTRIBUTE);
        self.name(name)
    }
    fn text(&mut self, s: &str) -> &mut Self {
        self.b.extend_from_slice(&[token::VALUE, vtype::STRING]);
        self.u16(s.encode_utf16().count() as u16).utf16(s)
    }
    fn subst(&mut self, index: u16, vt: u8, optional: bool) -> &mut Self {
        self.b.push(if optional { token::OPTIONAL_SUBSTITUTION } else { token::SUBSTITUTION });
        self.u16(index);
        self.b.push(vt);
        self
    }
    fn tok(&mut self, t: u8) -> &mut Self {
        self.b.push(t);
        self
    }
}

/// `<Event><System><EventID>%0</EventID><Provider Name="%1"/><Computer>HOST</Computer></System>
/// <EventData><Data Name="X">%2</Data><Data>%3</Data></EventData></Event>` as a definition body.
fn event_body(base: usize) -> Vec<u8> {
    let mut w = W { def: true, base, ..W::default() };
    w.fragment_header().open("Event", false).tok(token::CLOSE_START);
    w.open("System", false).tok(token::CLOSE_START);
    w.open("EventID", false).tok(token::CLOSE_START).subst(0, vtype::U16, false).tok(token::END_ELEMENT);
    w.open("Provider", true).attr("Name").subst(1, vtype::STRING, true).tok(token::CLOSE_EMPTY);
    w.open("Computer", false).tok(token::CLOSE_START).text("HOST").tok(token::END_ELEMENT);
    w.tok(token::END_ELEMENT);
    w.open("EventData", false).tok(token::CLOSE_START);
    w.open("Data", true).attr("Name").text("X").tok(token::CLOSE_START).subst(2, vtype::STRING, false);
    w.tok(token::END_ELEMENT);
    w.open("Data", false).tok(token::CLOSE_START).subst(3, vtype::HEX32, true).tok(token::END_ELEMENT);
    w.tok(token::END_ELEMENT).tok(token::END_ELEMENT).tok(token::EOF);
    w.b
}

/// A record stream: fragment header, template instance with the definition inline, 4 values.
fn record(base: usize) -> Vec<u8> {
    let mut w = W::default();
    w.b.resize(base, 0xEE);
    w.fragment_header().tok(token::TEMPLATE_INSTANCE).tok(1).u32(0x1234);
    let def = w.b.len() as u32 + 4;
    let body = event_body(def as usize + 24);
    w.u32(def).u32(0).u32(0).u32(0).u32(0).u32(0).u32(body.len() as u32);
    w.b.extend_from_slice(&body);
    w.u32(4);
    for (size, vt) in [(2u16, vtype::U16), (10, vtype::STRING), (4, vtype::STRING), (0, vtype::NULL)] {
        w.u16(size).tok(vt).tok(0);
    }
    w.u16(4625).utf16("Audit").utf16("ab").tok(token::EOF);
    w.b
}

fn text(s: &str) -> Source {
    Source::Text(s.to_string())
}

#[test]
fn template_definition_lists_substitutions_and_literals() {
    let mut chunk = vec![0u8; 24];
    chunk.extend(event_body(24));
    let size = (chunk.len() - 24) as u32;
    chunk[20..24].copy_from_slice(&size.to_le_bytes());
    let t = read_template(&chunk, 0).expect("definition");
    let got: Vec<(&str, Option<&str>, &Source)> =
        t.entries.iter().map(|e| (e.path.as_str(), e.attr.as_deref(), &e.source)).collect();
    assert_eq!(
        got,
        vec![
            ("Event/System/EventID", None, &Source::Subst { index: 0, vtype: vtype::U16, optional: false }),
            ("Event/System/Provider", Some("Name"), &Source::Subst { index: 1, vtype: vtype::STRING, optional: true }),
            // An element without content gets an empty text, so that it exists.
            ("Event/System/Provider", None, &text("")),
            ("Event/System/Computer", None, &text("HOST")),
            ("Event/EventData/Data[@Name=X]", Some("Name"), &text("X")),
            ("Event/EventData/Data[@Name=X]", None, &Source::Subst { index: 2, vtype: vtype::STRING, optional: false }),
            ("Event/EventData/Data", None, &Source::Subst { index: 3, vtype: vtype::HEX32, optional: true }),
        ]
    );
    // The two Data elements are told apart.
    assert_ne!(t.entries[5].element, t.entries[6].element);

    // Every cut before the final EOF token.
    for cut in 0..chunk.len() - 1 {
        let mut short = chunk[..cut].to_vec();
        if cut >= 24 {
            short[20..24].copy_from_slice(&((cut - 24) as u32).to_le_bytes());
        }
        assert!(read_template(&short, 0).is_err(), "cut at {cut} must fail");
    }
    assert!(read_template(&chunk, chunk.len() + 5).is_err());
}

#[test]
fn instance_with_inline_definition_and_values() {
    let base = 100;
    let chunk = record(base);
    let mut values = Vec::new();
    let head = read_instance(&chunk, base, chunk.len(), &mut values).expect("instance").expect("one instance");
    assert_eq!(head.def_offset, base + 14);
    let t = read_template(&chunk, head.def_offset).expect("inline definition");
    assert_eq!(t.entries.len(), 7);
    assert_eq!(values.len(), 4);
    let v = |i: usize| (values[i].vtype, values[i].bytes(&chunk));
    assert_eq!(value_uint(v(0).0, v(0).1), Some(4625));
    assert_eq!(value_string(v(1).0, v(1).1).as_deref(), Some("Audit"));
    assert_eq!(value_string(v(2).0, v(2).1).as_deref(), Some("ab"));
    assert_eq!(v(3), (vtype::NULL, &[][..]));

    for cut in base..chunk.len() - 1 {
        match read_instance(&chunk[..cut], base, cut, &mut values) {
            Err(_) | Ok(None) => {}
            Ok(Some(h)) => panic!("cut at {cut} read as an instance {h:?}"),
        }
    }
    // A window outside the chunk is an error, not a panic.
    assert!(read_instance(&chunk, base, chunk.len() + 1, &mut values).is_err());
}

#[test]
fn instance_referring_to_an_earlier_definition() {
    let first = record(0);
    let def = 14u32;
    let mut chunk = first.clone();
    let start = chunk.len();
    let mut w = W::default();
    w.tok(token::TEMPLATE_INSTANCE).tok(1).u32(0x1234).u32(def).u32(1).u16(2).tok(vtype::U16).tok(0).u16(7);
    chunk.extend(w.b);
    let mut values = Vec::new();
    let head = read_instance(&chunk, start, chunk.len(), &mut values).expect("instance").expect("one");
    assert_eq!(head.def_offset, def as usize);
    assert_eq!(values, vec![ValueRef { vtype: vtype::U16, start: chunk.len() - 2, len: 2 }]);
    // A descriptor count larger than the bytes left is refused before allocating.
    let mut huge = chunk[..start + 10].to_vec();
    huge.extend(u32::MAX.to_le_bytes());
    assert!(read_instance(&huge, start, huge.len(), &mut values).is_err());
}

#[test]
fn plain_fragment_and_names_by_offset() {
    // `<UserData><EventXML><Param1>alice</Param1><Param2/></EventXML></UserData>`, where the
    // second use of a name points back at the first NameLink instead of repeating it.
    let mut w = W::default();
    w.fragment_header().open("UserData", false).tok(token::CLOSE_START);
    w.open("EventXML", false).tok(token::CLOSE_START);
    let param_name_at = w.b.len() + 1 + 4 + 4;
    w.open("Param1", false).tok(token::CLOSE_START).text("alice").tok(token::END_ELEMENT);
    w.tok(token::OPEN_START).u32(0).u32(param_name_at as u32).tok(token::CLOSE_EMPTY);
    w.tok(token::END_ELEMENT).tok(token::END_ELEMENT).tok(token::EOF);
    let chunk = w.b;
    let t = read_plain(&chunk, 0, chunk.len()).expect("plain fragment");
    let got: Vec<(&str, &Source)> = t.entries.iter().map(|e| (e.path.as_str(), &e.source)).collect();
    assert_eq!(got, vec![("UserData/EventXML/Param1", &text("alice")), ("UserData/EventXML/Param1", &text(""))]);
    for cut in 1..chunk.len() - 1 {
        assert!(read_plain(&chunk, 0, cut).is_err(), "cut at {cut} must fail");
    }
    // A name offset past the chunk.
    let mut bad = chunk.clone();
    bad[param_name_at - 4 + 9..param_name_at - 4 + 13].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    assert!(read_plain(&bad, 0, bad.len()).is_err());
}

#[test]
fn malformed_streams_are_errors() {
    let unknown = [token::FRAGMENT_HEADER, 1, 1, 0, 0x3F];
    assert_eq!(read_plain(&unknown, 0, unknown.len()).unwrap_err().what, "unknown token");
    // Substitutions belong in template definitions only.
    let mut w = W::default();
    w.open("A", false).tok(token::CLOSE_START).subst(0, vtype::U8, false);
    assert!(read_plain(&w.b, 0, w.b.len()).is_err());
    // Nesting deeper than MAX_DEPTH.
    let mut w = W::default();
    for _ in 0..=MAX_DEPTH {
        w.open("A", false).tok(token::CLOSE_START);
    }
    assert_eq!(read_plain(&w.b, 0, w.b.len()).unwrap_err().what, "elements nested too deep");
    // An element left open.
    let mut w = W::default();
    w.open("A", false).tok(token::CLOSE_START).text("x");
    assert_eq!(read_plain(&w.b, 0, w.b.len()).unwrap_err().what, "element not closed");
    // Text outside an element, an end without a start.
    assert!(read_plain(&[token::END_ELEMENT], 0, 1).is_err());
}

#[test]
fn values_render_like_evtx_dump() {
    let r = |vt: u8, b: &[u8]| {
        let mut s = String::new();
        render_value(vt, b, &mut s).map(|_| s)
    };
    assert_eq!(r(vtype::U16, &4625u16.to_le_bytes()).unwrap(), "4625");
    assert_eq!(r(vtype::I32, &(-5i32).to_le_bytes()).unwrap(), "-5");
    assert_eq!(r(vtype::HEX32, &0xC000_006Du32.to_le_bytes()).unwrap(), "0xc000006d");
    assert_eq!(r(vtype::HEX64, &0x8080_0000_0000_0000u64.to_le_bytes()).unwrap(), "0x8080000000000000");
    assert_eq!(r(vtype::SIZE_T, &0x10u32.to_le_bytes()).unwrap(), "0x10");
    assert_eq!(r(vtype::BOOL, &1u32.to_le_bytes()).unwrap(), "true");
    assert_eq!(r(vtype::BOOL, &7u32.to_le_bytes()).unwrap(), "7");
    assert_eq!(r(vtype::BINARY, &[0x4a, 0x00, 0xff]).unwrap(), "4A00FF");
    let guid = [0xd1, 0x08, 0x59, 0x55, 0xd7, 0xa6, 0x95, 0x46, 0x8e, 0x1e, 0x26, 0x93, 0x1d, 0x20, 0x12, 0xf4];
    assert_eq!(r(vtype::GUID, &guid).unwrap(), "{555908d1-a6d7-4695-8e1e-26931d2012f4}");
    // 2014-03-21T19:14:08.9017265Z, System.evtx record 1 of the corpus.
    let ft = 130_399_028_489_017_265u64;
    assert_eq!(r(vtype::FILETIME, &ft.to_le_bytes()).unwrap(), "2014-03-21T19:14:08.9017265Z");
    assert_eq!(parse_time_text("2014-03-21T19:14:08.9017265Z"), Some(ft));
    assert_eq!(parse_time_text("2021-12-16T10:25:32.351835800Z"), Some(132_841_239_323_518_358));
    assert_eq!(filetime_text(0), "1601-01-01T00:00:00.0000000Z");
    assert_eq!(filetime_text(u64::MAX), "0000-00-00T00:00:00.0000000Z");
    let sid = [1u8, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];
    assert_eq!(r(vtype::SID, &sid).unwrap(), "S-1-5-32-544");
    assert!(r(vtype::SID, &sid[..12]).is_err());
    // SYSTEMTIME 2021-02-12 12:33:11.123
    let st: Vec<u8> = [2021u16, 2, 5, 12, 12, 33, 11, 123].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(r(vtype::SYSTEMTIME, &st).unwrap(), "2021-02-12T12:33:11.1230000Z");
    let s: Vec<u8> = "ab\0zz".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(r(vtype::STRING, &s).unwrap(), "ab");
    assert_eq!(r(vtype::ANSI, &[b'x', 0x80, 0, b'y']).unwrap(), "x€y");
    let arr: Vec<u8> = "a\0\0b\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(render_items(vtype::STRING | vtype::ARRAY, &arr).unwrap(), vec!["a", "", "b"]);
    assert_eq!(r(vtype::U16 | vtype::ARRAY, &[1, 0, 2, 0]).unwrap(), "1,2");
    assert!(r(vtype::U16 | vtype::ARRAY, &[1, 0, 2]).is_err());
    // Sizes that do not fit the type, and types without a text form.
    assert!(r(vtype::U32, &[1, 2]).is_err());
    assert!(r(vtype::GUID, &guid[..15]).is_err());
    assert!(r(vtype::BINXML, &[0]).is_err());
    assert_eq!(value_uint(vtype::I16, &(-1i16).to_le_bytes()), None);
}

#[test]
fn times_beyond_year_9999_keep_the_old_digits() {
    // Expected texts and FILETIMEs from the hand-written calendar this crate used before jiff
    // (Hinnant's civil_from_days / days_from_civil), year kept to its last four digits.
    assert_eq!(filetime_text(i64::MAX as u64), "0828-09-14T02:48:05.4775807Z");
    assert_eq!(filetime_text(2_650_467_708_000_000_005), "9999-12-31T23:00:00.0000005Z");
    assert_eq!(filetime_text(2_650_466_808_000_000_000), "9999-12-30T22:00:00.0000000Z");
    assert_eq!(filetime_text(2_650_467_744_000_000_000), "0000-01-01T00:00:00.0000000Z");
    let st = |f: [u16; 8]| -> Vec<u8> { f.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let ft = |f: [u16; 8]| value_filetime(vtype::SYSTEMTIME, &st(f));
    assert_eq!(ft([30827, 12, 0, 31, 23, 59, 59, 999]), Some(9_223_149_887_999_990_000));
    assert_eq!(ft([20000, 2, 0, 29, 1, 2, 3, 4]), Some(5_806_213_957_230_040_000));
    assert_eq!(ft([9999, 12, 0, 31, 23, 0, 0, 0]), Some(2_650_467_708_000_000_000));
    assert_eq!(ft([1601, 1, 0, 1, 0, 0, 0, 0]), Some(0));
    // Not a time Windows takes: February 29 of a common year, year 1600, hour 24, 1000 ms.
    for bad in [
        [2021, 2, 0, 29, 0, 0, 0, 0],
        [1600, 1, 0, 1, 0, 0, 0, 0],
        [2021, 1, 0, 1, 24, 0, 0, 0],
        [2021, 1, 0, 1, 0, 0, 0, 1000],
    ] {
        assert_eq!(ft(bad), None, "{bad:?}");
    }
    assert_eq!(parse_time_text("1600-12-31T23:59:59Z"), None);
    assert_eq!(parse_time_text("1601-01-01T00:00:00Z"), Some(0));
}
