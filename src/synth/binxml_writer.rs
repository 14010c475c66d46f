//! BinXML encoder for `evtx_writer`: one event record's XML as a template instance, laid out the
//! way Windows lays out its own logs.
//!
//! Takes an `EventSpec` and the chunk being filled (a byte buffer whose length is the current
//! chunk offset, since names and template definitions are addressed by chunk offset). Appends
//! the record's BinXML stream: a fragment header, a TemplateInstance of the System template,
//! and EOF. The System template puts each System field in the substitution slot real logs use
//! (0 Level, 1 Opcode, 2 Task, 3 EventID, 4 Qualifiers, 5 Keywords, 6 TimeCreated,
//! 7 ActivityID, 8 ProcessID, 9 ThreadID, 10 EventRecordID, 11 Version, 12 UserID,
//! 13 RelatedActivityID, 14 Provider name, 15 Provider GUID, 16 Channel), all of them optional
//! substitutions so that a NULL value drops its attribute; `Computer` is literal text of the
//! definition. Slot 17 holds the payload as a nested BinXML fragment (value type 0x21) with
//! its own template instance: `<EventData>` right under `<Event>`, or, for UserData events,
//! the `<EventXML>`-like element inside a `<UserData>` element of the System template.
//!
//! Per chunk (`ChunkTables`), the first use of a name or a template definition writes it inline
//! and later uses point back at that offset; new names and definitions are chained into the
//! chunk header's string and template hash tables. Template GUIDs are CRC-derived from the
//! definition, so the output is deterministic. Does not write array values, CDATA, entity or
//! character references, or anything that would need the chunk to be read back.
//!
//! References: [MS-EVEN6] §2.2.12 (BinXml tokens, names, TemplateInstance, value types);
//! rdp-facts §7.4 (the token table as the evtx crate reads it).

use std::collections::HashMap;
use std::io;

use super::evtx_writer::{EventSpec, Payload, Value, crc32_parts};
use crate::time::Ts;

/// Value types of substitution descriptors ([MS-EVEN6] §2.2.12).
mod vt {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const U8: u8 = 0x04;
    pub const U16: u8 = 0x06;
    pub const U32: u8 = 0x08;
    pub const U64: u8 = 0x0A;
    pub const BOOL: u8 = 0x0D;
    pub const BINARY: u8 = 0x0E;
    pub const GUID: u8 = 0x0F;
    pub const FILETIME: u8 = 0x11;
    pub const SID: u8 = 0x13;
    pub const HEX32: u8 = 0x14;
    pub const HEX64: u8 = 0x15;
    pub const BINXML: u8 = 0x21;
}

const FRAGMENT_HEADER: [u8; 4] = [0x0F, 1, 1, 0];
const EOF: u8 = 0x00;
/// Dependency id of an element that does not hang on a substitution.
const NO_DEPENDENCY: u16 = 0xFFFF;
const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";
/// 100 ns ticks from 1601-01-01 to 1970-01-01.
const UNIX_EPOCH_FILETIME: i64 = 116_444_736_000_000_000;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// What an attribute value or a piece of element content is in a template definition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Content {
    Text(String),
    Subst { index: u16, vtype: u8, optional: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Node {
    Element(Element),
    Content(Content),
}

/// An element of a template definition; no children means `<name .../>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Element {
    name: String,
    dependency: u16,
    attrs: Vec<(String, Content)>,
    children: Vec<Node>,
}

impl Element {
    fn new(name: &str, attrs: Vec<(String, Content)>, children: Vec<Node>) -> Element {
        Element { name: name.to_string(), dependency: NO_DEPENDENCY, attrs, children }
    }
}

fn optional(index: u16, vtype: u8) -> Content {
    Content::Subst { index, vtype, optional: true }
}

fn attr(name: &str, content: Content) -> (String, Content) {
    (name.to_string(), content)
}

/// `<name>%index</name>`, present only when the value is not NULL (dependency = the slot).
fn system_leaf(name: &str, index: u16, vtype: u8) -> Node {
    Node::Element(Element {
        dependency: index,
        ..Element::new(name, Vec::new(), vec![Node::Content(optional(index, vtype))])
    })
}

fn empty(name: &str, attrs: Vec<(String, Content)>) -> Node {
    Node::Element(Element::new(name, attrs, Vec::new()))
}

/// The root template: `<Event>` with `<System>` and the payload slot 17.
fn system_template(computer: &str, user_data: bool) -> Element {
    let event_id = Element {
        dependency: 3,
        ..Element::new(
            "EventID",
            vec![attr("Qualifiers", optional(4, vt::U16))],
            vec![Node::Content(optional(3, vt::U16))],
        )
    };
    let computer_text =
        if computer.is_empty() { Vec::new() } else { vec![Node::Content(Content::Text(computer.to_string()))] };
    let system = Element::new(
        "System",
        Vec::new(),
        vec![
            empty("Provider", vec![attr("Name", optional(14, vt::STRING)), attr("Guid", optional(15, vt::GUID))]),
            Node::Element(event_id),
            system_leaf("Version", 11, vt::U8),
            system_leaf("Level", 0, vt::U8),
            system_leaf("Task", 2, vt::U16),
            system_leaf("Opcode", 1, vt::U8),
            system_leaf("Keywords", 5, vt::HEX64),
            empty("TimeCreated", vec![attr("SystemTime", optional(6, vt::FILETIME))]),
            system_leaf("EventRecordID", 10, vt::U64),
            empty(
                "Correlation",
                vec![attr("ActivityID", optional(7, vt::GUID)), attr("RelatedActivityID", optional(13, vt::GUID))],
            ),
            empty("Execution", vec![attr("ProcessID", optional(8, vt::U32)), attr("ThreadID", optional(9, vt::U32))]),
            system_leaf("Channel", 16, vt::STRING),
            Node::Element(Element::new("Computer", Vec::new(), computer_text)),
            empty("Security", vec![attr("UserID", optional(12, vt::SID))]),
        ],
    );
    let payload = Node::Content(optional(17, vt::BINXML));
    // Windows wraps UserData in the root template and leaves EventData to the nested one.
    let (dependency, body) =
        if user_data { (NO_DEPENDENCY, system_leaf("UserData", 17, vt::BINXML)) } else { (17, payload) };
    Element {
        dependency,
        ..Element::new(
            "Event",
            vec![attr("xmlns", Content::Text(EVENT_NS.to_string()))],
            vec![Node::Element(system), body],
        )
    }
}

/// A substitution value: plain bytes of a type, or a nested fragment (template + its values).
enum Val {
    Plain(u8, Vec<u8>),
    Nested(Element, Vec<Val>),
}

fn null() -> Val {
    Val::Plain(vt::NULL, Vec::new())
}

fn utf16(s: &str, nul: bool) -> Vec<u8> {
    let mut out: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    if nul {
        out.extend([0, 0]);
    }
    out
}

/// A `Ts` as a FILETIME (100 ns ticks since 1601, truncated toward the past). Every `Ts`
/// (1677..2262) is a valid FILETIME, so this cannot fail.
pub(super) fn filetime(ts: Ts) -> u64 {
    (ts.0.div_euclid(100) + UNIX_EPOCH_FILETIME) as u64
}

/// A SID in text form (`S-1-5-21-...`) in its binary form: revision, sub-authority count,
/// 48-bit big-endian authority, little-endian u32 sub-authorities ([MS-DTYP] §2.4.2).
fn sid_bytes(text: &str) -> io::Result<Vec<u8>> {
    let bad = || invalid(format!("not a SID: {text:?}"));
    let mut parts = text.strip_prefix("S-").ok_or_else(bad)?.split('-');
    let revision: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let authority: u64 = parts.next().and_then(|p| p.parse().ok()).filter(|a| *a < 1 << 48).ok_or_else(bad)?;
    let subs = parts.map(|p| p.parse::<u32>().map_err(|_| bad())).collect::<io::Result<Vec<u32>>>()?;
    if subs.len() > 15 {
        return Err(bad());
    }
    let mut out = vec![revision, subs.len() as u8];
    out.extend(&authority.to_be_bytes()[2..]);
    out.extend(subs.iter().flat_map(|s| s.to_le_bytes()));
    Ok(out)
}

/// A payload value's type and bytes. Strings get the trailing NUL Windows stores with them.
fn value(v: &Value) -> io::Result<Val> {
    let (vtype, bytes) = match v {
        Value::Str(s) => (vt::STRING, utf16(s, true)),
        Value::U8(x) => (vt::U8, vec![*x]),
        Value::U16(x) => (vt::U16, x.to_le_bytes().to_vec()),
        Value::U32(x) => (vt::U32, x.to_le_bytes().to_vec()),
        Value::U64(x) => (vt::U64, x.to_le_bytes().to_vec()),
        Value::HexU32(x) => (vt::HEX32, x.to_le_bytes().to_vec()),
        Value::HexU64(x) => (vt::HEX64, x.to_le_bytes().to_vec()),
        Value::Guid(g) => (vt::GUID, g.to_vec()),
        Value::FileTime(ts) => (vt::FILETIME, filetime(*ts).to_le_bytes().to_vec()),
        Value::Sid(s) => (vt::SID, sid_bytes(s)?),
        Value::Bool(b) => (vt::BOOL, u32::from(*b).to_le_bytes().to_vec()),
        Value::Binary(b) => (vt::BINARY, b.clone()),
    };
    Ok(Val::Plain(vtype, bytes))
}

fn type_of(v: &Val) -> u8 {
    match v {
        Val::Plain(t, _) => *t,
        Val::Nested(..) => vt::BINXML,
    }
}

fn subst(index: usize, vtype: u8) -> io::Result<Node> {
    let index = u16::try_from(index).map_err(|_| invalid("more than 65535 payload values".to_string()))?;
    Ok(Node::Content(Content::Subst { index, vtype, optional: false }))
}

/// `<Binary>%index</Binary>` after the Data elements, when there is binary data.
fn push_binary(binary: &Option<Vec<u8>>, children: &mut Vec<Node>, vals: &mut Vec<Val>) -> io::Result<()> {
    if let Some(b) = binary {
        children.push(Node::Element(Element::new("Binary", Vec::new(), vec![subst(vals.len(), vt::BINARY)?])));
        vals.push(Val::Plain(vt::BINARY, b.clone()));
    }
    Ok(())
}

/// The payload as slot 17's value, and whether the root template needs the UserData wrapper.
fn payload(p: &Payload) -> io::Result<(Val, bool)> {
    let mut vals = Vec::new();
    let mut children = Vec::new();
    let template = match p {
        Payload::None => return Ok((null(), false)),
        Payload::EventData { data, binary } => {
            for (name, v) in data {
                let v = value(v)?;
                let content = subst(vals.len(), type_of(&v))?;
                let name_attr = vec![attr("Name", Content::Text(name.clone()))];
                children.push(Node::Element(Element::new("Data", name_attr, vec![content])));
                vals.push(v);
            }
            push_binary(binary, &mut children, &mut vals)?;
            Element::new("EventData", Vec::new(), children)
        }
        Payload::Unnamed { data, binary } => {
            for text in data {
                children.push(Node::Element(Element::new("Data", Vec::new(), vec![subst(vals.len(), vt::STRING)?])));
                vals.push(Val::Plain(vt::STRING, utf16(text, true)));
            }
            push_binary(binary, &mut children, &mut vals)?;
            Element::new("EventData", Vec::new(), children)
        }
        Payload::UserData { wrapper, ns, fields } => {
            for (name, v) in fields {
                let v = value(v)?;
                children.push(Node::Element(Element::new(name, Vec::new(), vec![subst(vals.len(), type_of(&v))?])));
                vals.push(v);
            }
            let attrs = if ns.is_empty() { Vec::new() } else { vec![attr("xmlns", Content::Text(ns.clone()))] };
            Element::new(wrapper, attrs, children)
        }
    };
    Ok((Val::Nested(template, vals), matches!(p, Payload::UserData { .. })))
}

/// A System string: no trailing NUL (as Windows writes them); empty → NULL.
fn system_string(s: &str) -> Val {
    if s.is_empty() { null() } else { Val::Plain(vt::STRING, utf16(s, false)) }
}

fn optional_guid(g: &Option<[u8; 16]>) -> Val {
    g.map(|g| Val::Plain(vt::GUID, g.to_vec())).unwrap_or_else(null)
}

/// Where one chunk's names and template definitions are, and its header hash tables.
#[derive(Clone, Debug)]
pub(super) struct ChunkTables {
    names: HashMap<String, u32>,
    templates: HashMap<Element, (u32, [u8; 16])>,
    /// Heads of the 64 name chains (chunk header bytes 128..384).
    pub string_buckets: [u32; 64],
    /// Heads of the 32 template chains (chunk header bytes 384..512).
    pub template_buckets: [u32; 32],
}

impl Default for ChunkTables {
    fn default() -> Self {
        ChunkTables {
            names: HashMap::new(),
            templates: HashMap::new(),
            string_buckets: [0; 64],
            template_buckets: [0; 32],
        }
    }
}

fn put_u16(buf: &mut Vec<u8>, v: u16) {
    buf.extend(v.to_le_bytes());
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend(v.to_le_bytes());
}

/// The chunk offset of the next byte (a chunk is 64 KiB; the caller checks the size).
fn here(buf: &[u8]) -> u32 {
    u32::try_from(buf.len()).unwrap_or(u32::MAX)
}

/// Reserves a u32 to be filled by `patch_size`.
fn reserve(buf: &mut Vec<u8>) -> usize {
    buf.extend([0; 4]);
    buf.len() - 4
}

/// Writes at `at` the number of bytes that follow the reserved u32.
fn patch_size(buf: &mut [u8], at: usize) {
    let size = u32::try_from(buf.len() - at - 4).unwrap_or(u32::MAX);
    buf[at..at + 4].copy_from_slice(&size.to_le_bytes());
}

/// A name reference: the offset of an earlier copy in the chunk, or the name inline
/// (NameLink: next in chain, hash, count, UTF-16, NUL).
fn write_name(buf: &mut Vec<u8>, tables: &mut ChunkTables, name: &str) -> io::Result<()> {
    if let Some(&at) = tables.names.get(name) {
        put_u32(buf, at);
        return Ok(());
    }
    let units: Vec<u16> = name.encode_utf16().collect();
    let count = u16::try_from(units.len()).map_err(|_| invalid(format!("name too long: {name:.40}...")))?;
    let at = here(buf) + 4;
    put_u32(buf, at);
    let hash = units.iter().fold(0u32, |h, &u| h.wrapping_mul(65_599).wrapping_add(u32::from(u))) as u16;
    let bucket = usize::from(hash) % tables.string_buckets.len();
    put_u32(buf, tables.string_buckets[bucket]);
    tables.string_buckets[bucket] = at;
    put_u16(buf, hash);
    put_u16(buf, count);
    buf.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    put_u16(buf, 0);
    tables.names.insert(name.to_string(), at);
    Ok(())
}

fn write_content(buf: &mut Vec<u8>, content: &Content) -> io::Result<()> {
    match content {
        Content::Text(text) => {
            let units = utf16(text, false);
            let count = u16::try_from(units.len() / 2).map_err(|_| invalid(format!("text too long: {text:.40}...")))?;
            buf.extend([0x05, vt::STRING]);
            put_u16(buf, count);
            buf.extend(units);
        }
        Content::Subst { index, vtype, optional } => {
            buf.push(if *optional { 0x0E } else { 0x0D });
            put_u16(buf, *index);
            buf.push(*vtype);
        }
    }
    Ok(())
}

/// An element of a template definition: open-start (dependency id, data size, name, attribute
/// list size), attributes, then `/>` or content and the end token.
fn write_element(buf: &mut Vec<u8>, tables: &mut ChunkTables, e: &Element) -> io::Result<()> {
    buf.push(if e.attrs.is_empty() { 0x01 } else { 0x41 });
    put_u16(buf, e.dependency);
    let size_at = reserve(buf);
    write_name(buf, tables, &e.name)?;
    if !e.attrs.is_empty() {
        let list_at = reserve(buf);
        for (i, (name, content)) in e.attrs.iter().enumerate() {
            buf.push(if i + 1 < e.attrs.len() { 0x46 } else { 0x06 });
            write_name(buf, tables, name)?;
            write_content(buf, content)?;
        }
        patch_size(buf, list_at);
    }
    if e.children.is_empty() {
        buf.push(0x03);
    } else {
        buf.push(0x02);
        for child in &e.children {
            match child {
                Node::Element(inner) => write_element(buf, tables, inner)?,
                Node::Content(content) => write_content(buf, content)?,
            }
        }
        buf.push(0x04);
    }
    patch_size(buf, size_at);
    Ok(())
}

/// A stable GUID for a definition: four salted CRC32s of its encoding with inline names.
fn template_guid(template: &Element) -> io::Result<[u8; 16]> {
    let mut body = Vec::new();
    write_element(&mut body, &mut ChunkTables::default(), template)?;
    let mut guid = [0u8; 16];
    for (salt, part) in guid.chunks_exact_mut(4).enumerate() {
        part.copy_from_slice(&crc32_parts(&[&[salt as u8], &body]).to_le_bytes());
    }
    Ok(guid)
}

/// A TemplateInstance: token, template id, definition offset (and the definition itself on
/// its first use in the chunk), value descriptors, values. Nested fragments are written in
/// place and their descriptor sizes patched afterwards.
fn write_instance(buf: &mut Vec<u8>, tables: &mut ChunkTables, template: &Element, vals: &[Val]) -> io::Result<()> {
    buf.extend([0x0C, 0x01]);
    if let Some(&(at, guid)) = tables.templates.get(template) {
        buf.extend(&guid[..4]);
        put_u32(buf, at);
    } else {
        let guid = template_guid(template)?;
        let id = u32::from_le_bytes([guid[0], guid[1], guid[2], guid[3]]);
        put_u32(buf, id);
        let at = here(buf) + 4;
        put_u32(buf, at);
        let bucket = id as usize % tables.template_buckets.len();
        put_u32(buf, tables.template_buckets[bucket]);
        tables.template_buckets[bucket] = at;
        buf.extend(guid);
        let size_at = reserve(buf);
        buf.extend(FRAGMENT_HEADER);
        write_element(buf, tables, template)?;
        buf.push(EOF);
        patch_size(buf, size_at);
        tables.templates.insert(template.clone(), (at, guid));
    }
    put_u32(buf, u32::try_from(vals.len()).map_err(|_| invalid("too many values".to_string()))?);
    let descriptors = buf.len();
    for v in vals {
        let size = match v {
            Val::Plain(_, bytes) => bytes.len(),
            Val::Nested(..) => 0,
        };
        put_u16(buf, u16::try_from(size).map_err(|_| invalid(format!("a value of {size} bytes (max 65535)")))?);
        buf.extend([type_of(v), 0]);
    }
    for (i, v) in vals.iter().enumerate() {
        match v {
            Val::Plain(_, bytes) => buf.extend(bytes),
            Val::Nested(inner, inner_vals) => {
                let start = buf.len();
                buf.extend(FRAGMENT_HEADER);
                write_instance(buf, tables, inner, inner_vals)?;
                buf.push(EOF);
                let size = buf.len() - start;
                let size = u16::try_from(size).map_err(|_| invalid(format!("payload of {size} bytes (max 65535)")))?;
                buf[descriptors + 4 * i..descriptors + 4 * i + 2].copy_from_slice(&size.to_le_bytes());
            }
        }
    }
    Ok(())
}

/// Appends the BinXML stream of one record (fragment header, System template instance, EOF).
pub(super) fn write_record_binxml(
    buf: &mut Vec<u8>,
    tables: &mut ChunkTables,
    ev: &EventSpec,
    record_id: u64,
    filetime: u64,
) -> io::Result<()> {
    let plain = |vtype: u8, bytes: &[u8]| Val::Plain(vtype, bytes.to_vec());
    let (body, user_data) = payload(&ev.payload)?;
    let vals = vec![
        plain(vt::U8, &[ev.level]),
        plain(vt::U8, &[ev.opcode]),
        plain(vt::U16, &ev.task.to_le_bytes()),
        plain(vt::U16, &ev.event_id.to_le_bytes()),
        ev.qualifiers.map(|q| plain(vt::U16, &q.to_le_bytes())).unwrap_or_else(null),
        plain(vt::HEX64, &ev.keywords.to_le_bytes()),
        plain(vt::FILETIME, &filetime.to_le_bytes()),
        optional_guid(&ev.activity_id),
        plain(vt::U32, &ev.process_id.to_le_bytes()),
        plain(vt::U32, &ev.thread_id.to_le_bytes()),
        plain(vt::U64, &record_id.to_le_bytes()),
        plain(vt::U8, &[ev.version]),
        ev.user_sid
            .as_deref()
            .map(|s| Ok::<_, io::Error>(Val::Plain(vt::SID, sid_bytes(s)?)))
            .transpose()?
            .unwrap_or_else(null),
        null(),
        system_string(&ev.provider),
        optional_guid(&ev.provider_guid),
        system_string(&ev.channel),
        body,
    ];
    buf.extend(FRAGMENT_HEADER);
    write_instance(buf, tables, &system_template(&ev.computer, user_data), &vals)?;
    buf.push(EOF);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_and_filetimes() {
        assert_eq!(sid_bytes("S-1-5-18").unwrap(), [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
        assert!(sid_bytes("S-1-5-x").is_err() && sid_bytes("1-5-18").is_err());
        assert_eq!(filetime(Ts(0)), 116_444_736_000_000_000);
        assert_eq!(filetime(Ts(-1)), 116_444_735_999_999_999);
        // The extremes of `Ts` (1677-09-21 and 2262-04-11) stay inside FILETIME's range.
        assert_eq!(filetime(Ts(i64::MIN)), 24_211_015_631_452_241);
        assert_eq!(filetime(Ts(i64::MAX)), 208_678_456_368_547_758);
    }

    #[test]
    fn names_are_inline_once_per_chunk() {
        let mut buf = vec![0u8; 512];
        let mut tables = ChunkTables::default();
        write_name(&mut buf, &mut tables, "Data").unwrap();
        assert_eq!(&buf[512..516], &516u32.to_le_bytes());
        assert_eq!(buf.len(), 516 + 10 + 8);
        write_name(&mut buf, &mut tables, "Data").unwrap();
        assert_eq!(&buf[534..538], &516u32.to_le_bytes());
        assert_eq!(buf.len(), 538);
        assert_eq!(tables.string_buckets.iter().filter(|&&b| b == 516).count(), 1);
    }
}
