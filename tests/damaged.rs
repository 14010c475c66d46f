//! Damaged captures, built at test time from a corpus file: every good packet must still be
//! reported, the damage must be a warning naming the offset (or frame), and nothing may panic.

use std::io::Write;
use std::path::Path;

use crate::util::{analyze_json, corpus};

/// Offsets of each record header in a little-endian µs pcap (pcap-savefile(5): 24-byte file
/// header, then 16-byte record headers whose bytes 8..12 are the captured length).
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        out.push(off);
        let cap = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().expect("4 bytes")) as usize;
        off += 16 + cap;
    }
    out
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).and_then(|mut f| f.write_all(bytes)).expect("write temp capture");
    p
}

fn packets(report: &serde_json::Value) -> u64 {
    report["inputs"][0]["records"].as_u64().expect("records")
}

fn warnings(report: &serde_json::Value) -> Vec<String> {
    report["warnings"].as_array().expect("warnings").iter().map(|w| w.to_string()).collect()
}

fn base() -> Option<Vec<u8>> {
    corpus("pcap", "ndpi_rdp.pcap").map(|p| std::fs::read(p).expect("read corpus file"))
}

#[test]
fn truncated_last_packet_keeps_the_others() {
    let Some(bytes) = base() else { return };
    let offs = record_offsets(&bytes);
    assert_eq!(offs.len(), 20); // capinfos -c ndpi_rdp.pcap: 20 packets
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = &bytes[..bytes.len() - 10];
    let r = analyze_json(&write_temp(dir.path(), "cut.pcap", cut));
    assert_eq!(packets(&r), 19);
    let w = warnings(&r);
    assert!(w.iter().any(|m| m.contains("truncated") && m.contains(&format!("\"offset\":{}", offs[19]))), "{w:?}");
    // The one RDP connection is still reconstructed.
    assert_eq!(r["connections"].as_array().map(Vec::len), Some(1));
}

#[test]
fn corrupt_record_length_resynchronises() {
    let Some(mut bytes) = base() else { return };
    let offs = record_offsets(&bytes);
    let victim = offs[5];
    bytes[victim + 8..victim + 12].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let r = analyze_json(&write_temp(dir.path(), "badlen.pcap", &bytes));
    // Only the damaged record is lost.
    assert_eq!(packets(&r), 19);
    let w = warnings(&r);
    assert!(
        w.iter().any(|m| m.contains("corrupt record header") && m.contains(&format!("\"offset\":{victim}"))),
        "{w:?}"
    );
}

#[test]
fn bogus_ihl_and_tcp_offset_are_counted_warnings() {
    let Some(mut bytes) = base() else { return };
    let offs = record_offsets(&bytes);
    // ndpi_rdp.pcap is LINKTYPE_NULL (capinfos -E: "NULL/Loopback"): a 4-byte family header,
    // so frame 3's IPv4 header starts 16 + 4 bytes into its record.
    let ip3 = offs[2] + 16 + 4;
    assert_eq!(bytes[ip3], 0x45, "frame 3 is IPv4 with a 20-byte header");
    bytes[ip3] = 0x42; // IHL 2 words: invalid (RFC 791 minimum is 5)
    // Frame 6: TCP data offset 15 words (60 bytes) in a packet with no room for them.
    let tcp6 = offs[5] + 16 + 4 + 20;
    bytes[tcp6 + 12] = 0xF0;
    let dir = tempfile::tempdir().expect("tempdir");
    let r = analyze_json(&write_temp(dir.path(), "bad-headers.pcap", &bytes));
    assert_eq!(packets(&r), 20, "every record is still read");
    let w = warnings(&r);
    assert!(w.iter().any(|m| m.contains("\"frame\":3") && m.contains("malformed")), "{w:?}");
    assert!(r["inputs"][0]["flows"]["malformed"].as_u64().unwrap_or(0) >= 1);
}

#[test]
fn gzip_gives_the_same_answer() {
    let Some(bytes) = base() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let plain = analyze_json(&write_temp(dir.path(), "a.pcap", &bytes));
    let zipped = analyze_json(&write_temp(dir.path(), "a.bin", &gz));
    assert_eq!(zipped["inputs"][0]["gzip"], true);
    assert_eq!(
        plain["connections"],
        zipped["connections"]
            .as_array()
            .map(|a| {
                let mut a = a.clone();
                for c in &mut a {
                    c["input"] = plain["connections"][0]["input"].clone();
                }
                serde_json::Value::Array(a)
            })
            .unwrap_or_default()
    );
}

#[test]
fn random_damage_never_panics() {
    let Some(bytes) = base() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..40 {
        let mut b = bytes.clone();
        for _ in 0..8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = 24 + (x as usize) % (b.len() - 24);
            b[i] ^= (x >> 32) as u8 | 1;
        }
        let p = write_temp(dir.path(), &format!("flip{round}.pcap"), &b);
        let out = crate::util::rdplog(&["analyze", "--format", "json", p.to_str().expect("utf-8")]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "round {round}: {}", crate::util::stderr(&out));
    }
}

/// A pcapng built with our writer (pcapng draft §4: every block is type, length, body, length):
/// an SHB, an IDB and `n` EPBs of 60 bytes each. Returns the bytes and each EPB's offset.
fn pcapng_with_packets(n: usize, snaplen: u32) -> (Vec<u8>, Vec<usize>) {
    use rdplog::synth::writer::{CaptureWriter, Interface};
    use rdplog::time::Ts;
    let mut w = CaptureWriter::pcapng(Vec::new(), &[Interface { snaplen, ..Interface::new(101) }]).expect("writer");
    for i in 0..n {
        w.packet(0, Ts(1_700_000_000_000_000_000 + i as i64 * 1_000_000), &[0x45u8; 60]).expect("packet");
    }
    let bytes = w.into_inner();
    // Walk the blocks to find the EPBs (type 6).
    let mut offsets = Vec::new();
    let mut off = 0;
    while off + 8 <= bytes.len() {
        let ty = u32::from_le_bytes(bytes[off..off + 4].try_into().expect("4"));
        let blen = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().expect("4")) as usize;
        if ty == 6 {
            offsets.push(off);
        }
        off += blen;
    }
    (bytes, offsets)
}

#[test]
fn pcapng_corrupt_block_length_resynchronises() {
    let (mut bytes, epbs) = pcapng_with_packets(10, 0);
    assert_eq!(epbs.len(), 10);
    let victim = epbs[4];
    bytes[victim + 4..victim + 8].copy_from_slice(&0x00ff_fff3u32.to_le_bytes()); // not a multiple of 4
    let dir = tempfile::tempdir().expect("tempdir");
    let r = analyze_json(&write_temp(dir.path(), "bad.pcapng", &bytes));
    assert_eq!(packets(&r), 9, "only the damaged block is lost");
    let w = warnings(&r);
    assert!(
        w.iter().any(|m| m.contains("corrupt block length") && m.contains(&format!("\"offset\":{victim}"))),
        "{w:?}"
    );
}

#[test]
fn pcapng_truncated_mid_block_and_snaplen_cut() {
    let (bytes, epbs) = pcapng_with_packets(6, 40);
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = &bytes[..epbs[5] + 20];
    let r = analyze_json(&write_temp(dir.path(), "cut.pcapng", cut));
    assert_eq!(packets(&r), 5);
    let w = warnings(&r);
    assert!(
        w.iter().any(|m| m.contains("last block is truncated") && m.contains(&format!("\"offset\":{}", epbs[5]))),
        "{w:?}"
    );
    // every packet was 60 bytes on the wire but cut to the 40-byte snaplen: one counted warning
    assert!(w.iter().any(|m| m.contains("5 packet(s) were cut short by the capture's snaplen")), "{w:?}");
}
