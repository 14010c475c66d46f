//! BinXML, the token encoding of the XML inside `.evtx` records: our own small reader for the two
//! things `evtx` needs that the evtx crate does not hand out.
//!
//! * **Template definitions** (`read_template`): given a chunk and a definition offset, walk the
//!   definition's tokens and list, in document order, where each substitution lands (element
//!   path plus attribute) and which texts are literal (e.g. `Computer`). `evtx` learns from this
//!   which value slot is the EventID, the provider, the time, ... instead of trusting fixed slots.
//! * **Template instances** (`read_instance`): a record's stream, or a nested fragment (a
//!   substitution value of type BinXml, where Windows puts EventData/UserData), as a definition
//!   offset plus the typed value windows. Element streams without a template (`read_plain`) give
//!   literal entries in the same shape.
//!
//! Takes the 64 KiB chunk bytes and absolute offsets inside them (names and definitions are
//! referenced by chunk offset). Produces owned paths and names, and value windows into the chunk.
//! Value decoding and text rendering live in `binxml/values.rs`.
//! Does not render XML or JSON, expand array values into repeated elements, or resolve entity
//! references other than the five XML ones. Never panics: every read is bounds-checked, element
//! nesting and token counts are capped.
//!
//! References: [MS-EVEN6] §2.2.12 (BinXml ABNF: tokens, names, TemplateInstance, value specs),
//! §2.2.12.3 (how substitution values print), §3.1.4.7.1 (templates), §3.1.4.7.4 (BinXml-typed
//! values, i.e. nested fragments); rdp-facts §7.4.

mod values;

pub use values::{
    filetime_text, guid_text, parse_time_text, render_items, render_value, utf16_text, value_filetime, value_string,
    value_uint, vtype,
};

use std::fmt;

/// Token bytes ([MS-EVEN6] §2.2.12, the `...Token` rules). A `0x40` bit on open-start, value,
/// attribute, CDATA, char-ref and entity-ref tokens means "more of the same follow"; it changes
/// nothing for a reader except, on OpenStartElement, that an attribute list is present.
pub mod token {
    /// EOFToken.
    pub const EOF: u8 = 0x00;
    /// OpenStartElementToken (0x41: with attribute list).
    pub const OPEN_START: u8 = 0x01;
    pub const OPEN_START_ATTRS: u8 = 0x41;
    /// CloseStartElementToken: content follows.
    pub const CLOSE_START: u8 = 0x02;
    /// CloseEmptyElementToken: `/>`.
    pub const CLOSE_EMPTY: u8 = 0x03;
    /// EndElementToken: `</name>`.
    pub const END_ELEMENT: u8 = 0x04;
    /// ValueTextToken: a literal value (string type in practice).
    pub const VALUE: u8 = 0x05;
    pub const VALUE_MORE: u8 = 0x45;
    /// AttributeToken: a name, then a value or substitution.
    pub const ATTRIBUTE: u8 = 0x06;
    pub const ATTRIBUTE_MORE: u8 = 0x46;
    /// CDATASectionToken.
    pub const CDATA: u8 = 0x07;
    pub const CDATA_MORE: u8 = 0x47;
    /// CharRefToken.
    pub const CHAR_REF: u8 = 0x08;
    pub const CHAR_REF_MORE: u8 = 0x48;
    /// EntityRefToken.
    pub const ENTITY_REF: u8 = 0x09;
    pub const ENTITY_REF_MORE: u8 = 0x49;
    /// PITargetToken / PIDataToken.
    pub const PI_TARGET: u8 = 0x0A;
    pub const PI_DATA: u8 = 0x0B;
    /// TemplateInstanceToken.
    pub const TEMPLATE_INSTANCE: u8 = 0x0C;
    /// NormalSubstitutionToken / OptionalSubstitutionToken.
    pub const SUBSTITUTION: u8 = 0x0D;
    pub const OPTIONAL_SUBSTITUTION: u8 = 0x0E;
    /// FragmentHeaderToken (major, minor, flags follow).
    pub const FRAGMENT_HEADER: u8 = 0x0F;
}

/// Deepest element nesting we follow (real events nest 4 deep).
pub const MAX_DEPTH: usize = 64;
/// Most tokens we read from one definition or plain fragment (a 64 KiB chunk holds far fewer).
pub const MAX_TOKENS: usize = 32_768;
/// Size of a template definition header: next offset (u32), GUID (16), data size (u32).
const TEMPLATE_HEADER_SIZE: usize = 24;

/// Why a stream could not be read, and where (absolute offset in the chunk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinXmlError {
    pub offset: usize,
    pub what: &'static str,
}

impl fmt::Display for BinXmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BinXML: {} at chunk offset {:#x}", self.what, self.offset)
    }
}

impl std::error::Error for BinXmlError {}

pub type Result<T> = std::result::Result<T, BinXmlError>;

fn fail<T>(offset: usize, what: &'static str) -> Result<T> {
    Err(BinXmlError { offset, what })
}

/// Where one piece of text of a template comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Substitution `index` of the instance's values, declared with value type `vtype`.
    /// `optional`: an optional substitution, whose element or attribute is left out when the
    /// value is NULL ([MS-EVEN6] §2.2.12, OptionalSubstitution).
    Subst { index: u16, vtype: u8, optional: bool },
    /// Text written in the template itself (an empty one for an element without content).
    Text(String),
}

/// One substitution or literal text, with where it lands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Element path from the fragment's root element, `/`-separated, e.g. `Event/System/EventID`.
    /// A `Data` element with a literal `Name` attribute reads `Data[@Name=TargetUserName]`.
    pub path: String,
    /// The attribute holding the text, or `None` for element content.
    pub attr: Option<String>,
    /// Ordinal of the element in the fragment, to tell two `<Data>` elements apart.
    pub element: u32,
    pub source: Source,
}

/// What a template definition or plain fragment says, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    pub entries: Vec<Entry>,
}

/// One substitution value of an instance: its type byte and where its bytes sit in the chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueRef {
    pub vtype: u8,
    pub start: usize,
    pub len: usize,
}

impl ValueRef {
    /// The value's bytes (empty if the window is not inside `chunk`, which `read_instance` rules out).
    pub fn bytes<'a>(&self, chunk: &'a [u8]) -> &'a [u8] {
        self.start.checked_add(self.len).and_then(|end| chunk.get(self.start..end)).unwrap_or(&[])
    }
}

/// A bounded reader over `chunk[pos..end]` that reports absolute offsets.
struct Cursor<'a> {
    chunk: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn new(chunk: &'a [u8], start: usize, end: usize) -> Result<Self> {
        if start > end || end > chunk.len() {
            return fail(start, "stream outside the chunk");
        }
        Ok(Cursor { chunk, pos: start, end })
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let stop = match self.pos.checked_add(n) {
            Some(stop) if stop <= self.end => stop,
            _ => return fail(self.pos, what),
        };
        let bytes = self.chunk.get(self.pos..stop).ok_or(BinXmlError { offset: self.pos, what })?;
        self.pos = stop;
        Ok(bytes)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.take(1, what)?.first().copied().unwrap_or(0))
    }

    fn u16(&mut self, what: &'static str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b.first().copied().unwrap_or(0), b.get(1).copied().unwrap_or(0)]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b = self.take(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    /// A name reference: a u32 chunk offset of a NameLink {u32 next, u16 hash, u16 count,
    /// UTF-16 chars, u16 NUL}. When the offset points right after itself the name is stored
    /// inline and is skipped over.
    fn name(&mut self) -> Result<String> {
        let at = self.pos;
        let offset = self.u32("name offset")? as usize;
        let (name, size) = name_at(self.chunk, offset).map_err(|e| BinXmlError { offset: at, what: e.what })?;
        if offset == self.pos {
            self.take(size, "inline name")?;
        }
        Ok(name)
    }
}

/// The name stored at `offset` of the chunk and the NameLink's size in bytes.
fn name_at(chunk: &[u8], offset: usize) -> Result<(String, usize)> {
    let mut c = Cursor::new(chunk, offset.min(chunk.len()), chunk.len())?;
    if offset > chunk.len() {
        return fail(offset, "name offset outside the chunk");
    }
    c.take(6, "name link")?;
    let count = c.u16("name length")? as usize;
    let chars = c.take(count * 2, "name characters")?;
    c.take(2, "name terminator")?;
    Ok((utf16_text(chars), 10 + count * 2))
}

/// An element being read: its name, the literal `Name` of a `Data` element, whether anything
/// (text, substitution, child) came inside it, and its ordinal.
struct Open {
    name: String,
    data_name: Option<String>,
    content: bool,
    ordinal: u32,
}

fn path_of(stack: &[Open], last: Option<&Open>) -> String {
    let mut path = String::new();
    for open in stack.iter().chain(last) {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&open.name);
        if let Some(name) = &open.data_name {
            path.push_str("[@Name=");
            path.push_str(name);
            path.push(']');
        }
    }
    path
}

/// Reads the template definition at chunk offset `def_offset` (its 24-byte header, then the body
/// of `data size` bytes: fragment header, one root element, EOF).
pub fn read_template(chunk: &[u8], def_offset: usize) -> Result<Template> {
    let mut header = Cursor::new(chunk, def_offset.min(chunk.len()), chunk.len())?;
    header.take(20, "template header")?;
    let size = header.u32("template data size")? as usize;
    let start = def_offset.saturating_add(TEMPLATE_HEADER_SIZE);
    let end = match start.checked_add(size) {
        Some(end) if end <= chunk.len() => end,
        _ => return fail(def_offset, "template definition runs past the chunk"),
    };
    walk(Cursor::new(chunk, start, end)?, true)
}

/// Reads a fragment that is a plain element stream (no template instance): its literal texts.
pub fn read_plain(chunk: &[u8], start: usize, end: usize) -> Result<Template> {
    walk(Cursor::new(chunk, start, end)?, false)
}

/// Walks element tokens up to EOF or the end. `definition`: element starts carry a dependency id
/// and substitutions are allowed (inside a template definition); otherwise neither.
fn walk(mut c: Cursor<'_>, definition: bool) -> Result<Template> {
    let mut stack: Vec<Open> = Vec::new();
    let mut entries = Vec::new();
    let mut attr: Option<String> = None;
    let mut in_start = false;
    let mut ordinal = 0u32;
    let mut tokens = 0usize;
    while c.pos < c.end {
        tokens += 1;
        if tokens > MAX_TOKENS {
            return fail(c.pos, "too many tokens");
        }
        let at = c.pos;
        let t = c.u8("token")?;
        // Text that this token contributes (value, substitution, CDATA, char/entity reference).
        let source = match t {
            token::EOF => break,
            token::FRAGMENT_HEADER => {
                c.take(3, "fragment header")?;
                continue;
            }
            token::OPEN_START | token::OPEN_START_ATTRS => {
                if in_start {
                    return fail(at, "element start inside a start tag");
                }
                if definition {
                    c.u16("dependency id")?;
                }
                c.u32("element data size")?;
                let name = c.name()?;
                if t == token::OPEN_START_ATTRS {
                    c.u32("attribute list size")?;
                }
                if stack.len() >= MAX_DEPTH {
                    return fail(at, "elements nested too deep");
                }
                if let Some(parent) = stack.last_mut() {
                    parent.content = true;
                }
                stack.push(Open { name, data_name: None, content: false, ordinal });
                ordinal = ordinal.saturating_add(1);
                in_start = true;
                attr = None;
                continue;
            }
            token::ATTRIBUTE | token::ATTRIBUTE_MORE => {
                if !in_start {
                    return fail(at, "attribute outside a start tag");
                }
                attr = Some(c.name()?);
                continue;
            }
            token::CLOSE_START => {
                if !in_start {
                    return fail(at, "stray close-start token");
                }
                in_start = false;
                attr = None;
                continue;
            }
            token::CLOSE_EMPTY | token::END_ELEMENT => {
                if (t == token::CLOSE_EMPTY) != in_start {
                    return fail(at, "misplaced element end");
                }
                in_start = false;
                attr = None;
                let open = stack.pop().ok_or(BinXmlError { offset: at, what: "element end without start" })?;
                if !open.content {
                    let path = path_of(&stack, Some(&open));
                    entries.push(Entry {
                        path,
                        attr: None,
                        element: open.ordinal,
                        source: Source::Text(String::new()),
                    });
                }
                continue;
            }
            token::VALUE | token::VALUE_MORE => {
                let vt = c.u8("value type")?;
                if vt != vtype::STRING {
                    return fail(at, "literal value that is not a string");
                }
                let n = c.u16("value length")? as usize;
                Source::Text(utf16_text(c.take(n * 2, "value text")?))
            }
            token::SUBSTITUTION | token::OPTIONAL_SUBSTITUTION => {
                if !definition {
                    return fail(at, "substitution outside a template definition");
                }
                let index = c.u16("substitution index")?;
                let vtype = c.u8("substitution type")?;
                Source::Subst { index, vtype, optional: t == token::OPTIONAL_SUBSTITUTION }
            }
            token::CDATA | token::CDATA_MORE => {
                let n = c.u16("CDATA length")? as usize;
                Source::Text(utf16_text(c.take(n * 2, "CDATA text")?))
            }
            token::CHAR_REF | token::CHAR_REF_MORE => {
                let code = c.u16("character reference")?;
                Source::Text(char::from_u32(u32::from(code)).unwrap_or('\u{fffd}').to_string())
            }
            token::ENTITY_REF | token::ENTITY_REF_MORE => {
                let name = c.name()?;
                let text = match name.as_str() {
                    "amp" => "&".to_string(),
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    _ => format!("&{name};"),
                };
                Source::Text(text)
            }
            token::PI_TARGET => {
                c.name()?;
                continue;
            }
            token::PI_DATA => {
                let n = c.u16("PI data length")? as usize;
                c.take(n * 2, "PI data")?;
                continue;
            }
            token::TEMPLATE_INSTANCE => return fail(at, "template instance inside an element stream"),
            _ => return fail(at, "unknown token"),
        };
        let open = stack.last_mut().ok_or(BinXmlError { offset: at, what: "text outside any element" })?;
        let in_attr = if in_start { attr.clone() } else { None };
        if in_start {
            if in_attr.as_deref() == Some("Name") && open.name == "Data" {
                if let Source::Text(text) = &source {
                    open.data_name = Some(text.clone());
                }
            }
        } else {
            open.content = true;
        }
        let element = open.ordinal;
        entries.push(Entry { path: path_of(&stack, None), attr: in_attr, element, source });
    }
    if !stack.is_empty() {
        return fail(c.pos, "element not closed");
    }
    if ordinal == 0 {
        return fail(c.pos, "no element");
    }
    Ok(Template { entries })
}

/// Where an instance's definition sits, and where the instance ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceHead {
    pub def_offset: usize,
    pub end: usize,
}

/// Reads `chunk[start..end]` as one template instance, optionally after a fragment header and
/// followed by nothing or EOF: TemplateInstance token, u8, u32 template id, u32 definition offset
/// (the definition follows inline when that offset is the current position), u32 value count,
/// 4-byte descriptors {u16 size, u8 type, u8}, then the values back to back. Fills `values` and
/// returns `None` when the stream is not a single instance (a plain element stream, say).
pub fn read_instance(
    chunk: &[u8],
    start: usize,
    end: usize,
    values: &mut Vec<ValueRef>,
) -> Result<Option<InstanceHead>> {
    values.clear();
    let mut c = Cursor::new(chunk, start, end)?;
    let mut t = c.u8("token")?;
    if t == token::FRAGMENT_HEADER {
        c.take(3, "fragment header")?;
        t = c.u8("token")?;
    }
    if t != token::TEMPLATE_INSTANCE {
        return Ok(None);
    }
    c.take(5, "template instance header")?;
    let def_offset = c.u32("template definition offset")? as usize;
    if def_offset == c.pos {
        c.take(20, "inline template header")?;
        let size = c.u32("inline template size")? as usize;
        c.take(size, "inline template definition")?;
    }
    let count = c.u32("value count")? as usize;
    if count > (c.end - c.pos) / 4 {
        return fail(c.pos, "more values than bytes");
    }
    let descriptors = c.take(count * 4, "value descriptors")?;
    values.reserve(count);
    let mut pos = c.pos;
    for d in descriptors.chunks_exact(4) {
        let (size, vtype) = match d {
            [lo, hi, vtype, _] => (u16::from_le_bytes([*lo, *hi]) as usize, *vtype),
            _ => return fail(c.pos, "value descriptor"),
        };
        values.push(ValueRef { vtype, start: pos, len: size });
        pos += size;
    }
    // The values, back to back, must end inside the stream.
    c.take(pos - c.pos, "substitution values")?;
    let end_of_instance = c.pos;
    if c.pos < c.end && c.u8("token")? != token::EOF {
        return Ok(None);
    }
    Ok(Some(InstanceHead { def_offset, end: end_of_instance }))
}

#[cfg(test)]
mod tests;
