//! Input discovery and format detection.
//!
//! Takes the paths the user typed (files or directories), decides each file's format from its
//! first bytes (never from its name), transparently unwraps gzip, and opens a streaming reader.
//! It does not parse packets: `pcap` reads capture blocks, `etl` reads Windows ETW traces
//! (pktmon, netsh trace), `link` strips link layers; `read_capture` picks between the first two.

pub mod etl;
pub mod hash;
pub mod link;
pub mod pcap;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// The formats rdplog recognises by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// libpcap capture (either byte order, µs or ns timestamps).
    Pcap,
    /// pcapng capture (any number of sections and interfaces).
    Pcapng,
    /// Windows ETW trace with packets (`pktmon start --capture`, `netsh trace start capture=yes`).
    Etl,
    /// Windows event log file (`ElfFile\0`).
    Evtx,
    /// Events exported as XML (`wevtutil qe /f:xml`, Event Viewer "Save as XML").
    EventXml,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pcap => "pcap",
            Kind::Pcapng => "pcapng",
            Kind::Etl => "etl",
            Kind::Evtx => "evtx",
            Kind::EventXml => "event-xml",
        }
    }
}

/// One input file, detected.
#[derive(Clone, Debug)]
pub struct Input {
    pub path: PathBuf,
    /// How reports, warnings and evidence name the file: its path, unless the caller knows a
    /// better name (a batch names an archive member `cases/x.zip/member`, not its temp copy).
    pub name: String,
    pub kind: Kind,
    /// The file is gzip-compressed; readers see the decompressed stream.
    pub gzip: bool,
    /// Size on disk in bytes.
    pub size: u64,
}

impl Input {
    pub fn display(&self) -> String {
        self.name.clone()
    }
}

/// How deep `resolve` descends into directories.
const MAX_DIR_DEPTH: usize = 8;

/// Expands directories (recursively, sorted by name) and detects every file.
///
/// A file named on the command line that is not usable is an error. Inside a directory,
/// unusable files are skipped and reported through `skipped`; a directory that yields nothing
/// usable is an error.
pub fn resolve(paths: &[PathBuf], skipped: &mut Vec<String>) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| Error::Io { path: path.clone(), source })?;
        if meta.is_dir() {
            let before = inputs.len();
            let mut files = Vec::new();
            walk(path, 0, &mut files)?;
            for file in files {
                match detect(&file) {
                    Ok(input) => inputs.push(input),
                    Err(e) => skipped.push(e.to_string()),
                }
            }
            if inputs.len() == before {
                return Err(Error::input(
                    path,
                    "directory contains no capture (.pcap/.pcapng/.etl, optionally gzipped) or event log (.evtx, XML export)",
                ));
            }
        } else {
            inputs.push(detect(path)?);
        }
    }
    Ok(inputs)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DIR_DEPTH {
        return Ok(());
    }
    let io = |source| Error::Io { path: dir.to_path_buf(), source };
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for entry in entries {
        // `metadata` follows links, `symlink_metadata` does not: skip links to avoid cycles.
        let Ok(meta) = std::fs::symlink_metadata(&entry) else { continue };
        if meta.is_dir() {
            walk(&entry, depth + 1, out)?;
        } else if meta.is_file() {
            out.push(entry);
        }
    }
    Ok(())
}

/// Bytes read to recognise a format (an XML export's declaration and root can take a few hundred
/// bytes in UTF-16).
const HEAD: usize = 1024;

/// Detects one file's format from its first bytes.
pub fn detect(path: &Path) -> Result<Input> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut head = Vec::with_capacity(HEAD);
    (&mut file).take(HEAD as u64).read_to_end(&mut head).map_err(io)?;
    if head.is_empty() {
        return Err(Error::input(path, "empty file (0 bytes): nothing to analyse"));
    }
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let mut dec = MultiGzDecoder::new(File::open(path).map_err(io)?);
        head.clear();
        (&mut dec)
            .take(HEAD as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::input(path, format!("gzip stream is corrupt: {e}")))?;
        if head.is_empty() {
            return Err(Error::input(path, "gzip file decompresses to nothing"));
        }
    }
    match sniff(&head) {
        Some(kind) => Ok(Input { path: path.to_path_buf(), name: path.display().to_string(), kind, gzip, size }),
        None => Err(unknown_format(path, &head)),
    }
}

/// Format from magic bytes. pcap magics per libpcap's pcap-savefile(5) in both byte orders;
/// pcapng Section Header Block type 0x0A0D0D0A; evtx file header `ElfFile\0`; an ETW trace's
/// first WMI buffer header followed by its TRACE_LOGFILE_HEADER record (`etl::looks_like_etl`).
pub fn sniff(head: &[u8]) -> Option<Kind> {
    let magic = head.get(..4)?;
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4] | [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d] => {
            Some(Kind::Pcap)
        }
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(Kind::Pcapng),
        _ if head.starts_with(b"ElfFile\0") => Some(Kind::Evtx),
        _ if etl::looks_like_etl(head) => Some(Kind::Etl),
        _ if crate::events::xml::sniff(head) => Some(Kind::EventXml),
        _ => None,
    }
}

/// The error for a file we cannot read, with a hint when we can tell what it is.
fn unknown_format(path: &Path, head: &[u8]) -> Error {
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default();
    let message = if ext == "etl" {
        "named .etl, but it does not start with an ETW buffer and logfile header (damaged, or \
         not written by ETW: pktmon and netsh trace files start with one)"
            .to_string()
    } else if head.starts_with(b"<?xml") {
        "XML, but not a Windows event export (no <Event> or <Events> element)".to_string()
    } else if head.starts_with(b"PK\x03\x04") {
        "zip archive: not supported yet; unpack it and pass the folder".to_string()
    } else {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!(
            "not a pcap, pcapng, evtx or XML event file (first bytes {}); rdplog detects formats by content, not by name",
            hex.join(" ")
        )
    };
    Error::UnknownFormat { path: path.to_path_buf(), message }
}

/// Reads a capture stream of any packet format (pcap, pcapng, `.etl`), chosen by its first
/// bytes, and calls `on_packet` for each packet (see `pcap::read_packets`).
pub fn read_capture<R: Read + Send>(
    mut src: R,
    input: &str,
    warn: &mut crate::error::WarningSink,
    on_packet: impl FnMut(&pcap::Packet, &mut crate::error::WarningSink),
) -> Result<pcap::CaptureStats> {
    let mut head = Vec::with_capacity(HEAD);
    (&mut src).take(HEAD as u64).read_to_end(&mut head).map_err(|e| Error::input(input, format!("read error: {e}")))?;
    let whole = std::io::Cursor::new(head).chain(src);
    if etl::looks_like_etl(whole.get_ref().0.get_ref()) {
        etl::read_packets(whole, input, warn, on_packet)
    } else {
        // A pcap's frame numbers count its records, one packet each.
        let mut stats = pcap::read_packets(whole, input, warn, on_packet)?;
        stats.numbered = stats.packets;
        Ok(stats)
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub fn read_full(src: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
        match src.read(rest) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Opens the (decompressed) byte stream of an input.
pub fn open(input: &Input) -> Result<Box<dyn Read + Send>> {
    Ok(decode(input, open_raw(input)?))
}

/// Opens an input's file as it is on disk (still compressed when `gzip`).
pub fn open_raw(input: &Input) -> Result<File> {
    File::open(&input.path).map_err(|source| Error::Io { path: input.path.clone(), source })
}

/// The (decompressed) byte stream of an input from its raw bytes (`open_raw`, or a reader that
/// also hashes them: `hash::teed`).
pub fn decode<'a>(input: &Input, raw: impl Read + Send + 'a) -> Box<dyn Read + Send + 'a> {
    if input.gzip { Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw))) } else { Box::new(raw) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magics() {
        // libpcap pcap-savefile(5): a1b2c3d4 µs, a1b23c4d ns, written in the writer's byte order.
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), Some(Kind::Pcap));
        assert_eq!(sniff(&[0xa1, 0xb2, 0xc3, 0xd4, 0, 2]), Some(Kind::Pcap));
        assert_eq!(sniff(&[0x4d, 0x3c, 0xb2, 0xa1]), Some(Kind::Pcap));
        assert_eq!(sniff(&[0xa1, 0xb2, 0x3c, 0x4d]), Some(Kind::Pcap));
        assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0]), Some(Kind::Pcapng));
        assert_eq!(sniff(b"ElfFile\0rest"), Some(Kind::Evtx));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(&[0xd4]), None);
    }

    // Oracle: the first 0x58 bytes of nsvpn_PktMon_7119f51.etl (a 1 KiB header buffer, then
    // marker 0xC0020002 = SYSTEM64 header, size 0x1a0, HookId 0: the logfile header).
    #[test]
    fn etl_by_content() {
        let mut head = vec![0u8; 0x58];
        head[0..4].copy_from_slice(&0x400u32.to_le_bytes());
        head[0x48..0x50].copy_from_slice(&[0x02, 0x00, 0x02, 0xc0, 0xa0, 0x01, 0x00, 0x00]);
        assert_eq!(sniff(&head), Some(Kind::Etl));
        head[0x4E] = 1; // another HookId: not the logfile header
        assert_eq!(sniff(&head), None);
        head[0x4E] = 0;
        head[0..4].copy_from_slice(&0x100u32.to_le_bytes()); // buffer smaller than its record
        assert_eq!(sniff(&head), None);
        assert_eq!(sniff(&head[..0x40]), None);
    }
}
