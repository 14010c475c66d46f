//! Zip cases, unpacked into a private temporary folder that is removed when the case is done.
//!
//! Nothing in an archive is trusted. Member names are rebuilt component by component
//! (`safe_member_path`): no root, drive or UNC prefix, no `..`, no separators inside a component,
//! so every file lands inside the temporary folder. Only regular files are written (directory
//! entries are implied, symbolic links are skipped with a note). Before anything is unpacked the
//! archive must stay within `Limits`: member count, total declared size, no member sharing its
//! compressed bytes with another (the overlapping-entry bomb), and no member expanding more than
//! `max_ratio` times; while unpacking, a member may not produce more than it declared, so a
//! lying header cannot get past the size limit either.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What an archive may contain before its case is refused.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Entries, directories included.
    pub max_members: usize,
    /// Total uncompressed bytes.
    pub max_total: u64,
    /// Largest uncompressed/compressed ratio of one member…
    pub max_ratio: u64,
    /// …checked only for members larger than this many bytes (small files may compress well).
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_members: 10_000, max_total: 4 << 30, max_ratio: 250, ratio_floor: 1 << 20 }
    }
}

/// An unpacked archive; the folder and its contents are deleted on drop (errors ignored).
#[derive(Debug)]
pub struct Extracted {
    dir: tempfile::TempDir,
    /// Members that were not unpacked, and why (listed with the case's skipped files).
    pub notes: Vec<String>,
}

impl Extracted {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The relative path a member name may be unpacked to, or `None` if nothing usable is left.
///
/// Both `/` and `\` separate components; empty, `.` and `..` components and a leading drive
/// (`C:`) are dropped rather than followed, and each remaining component goes through
/// `safe_name`.
pub fn safe_member_path(name: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for (i, part) in name.split(['/', '\\']).enumerate() {
        let is_drive = i == 0 && part.len() == 2 && part.ends_with(':');
        if part.is_empty() || part == "." || part == ".." || is_drive {
            continue;
        }
        if let Some(component) = super::safe_name(part) {
            out.push(component);
        }
    }
    let only_normal = out.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    (only_normal && out.components().next().is_some()).then_some(out)
}

/// A size for messages: GiB or MiB with one decimal, or bytes.
fn gib(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{b} bytes"),
    }
}

/// Unpacks `archive` into a new temporary folder within `limits`.
pub fn extract(archive: &Path, limits: &Limits) -> Result<Extracted> {
    let refuse = |message: String| Error::input(archive, message);
    let file = std::fs::File::open(archive).map_err(|source| Error::Io { path: archive.to_path_buf(), source })?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| refuse(format!("not a readable zip archive: {e}")))?;
    if zip.len() > limits.max_members {
        return Err(refuse(format!(
            "the archive has {} members, more than the limit of {}; unpack it yourself and run the batch on the folder",
            zip.len(),
            limits.max_members
        )));
    }
    let mut declared: u64 = 0;
    for i in 0..zip.len() {
        let member = zip.by_index_raw(i).map_err(|e| refuse(format!("member {i} is unreadable: {e}")))?;
        let size = member.size();
        declared = declared.saturating_add(size);
        if size > limits.ratio_floor && size / member.compressed_size().max(1) > limits.max_ratio {
            return Err(refuse(format!(
                "member {:?} would expand {} bytes to {} ({}:1, limit {}:1): refused as a possible zip bomb; \
                 unpack it yourself if you trust it",
                member.name(),
                member.compressed_size(),
                size,
                size / member.compressed_size().max(1),
                limits.max_ratio
            )));
        }
    }
    if declared > limits.max_total {
        return Err(refuse(format!(
            "the archive would unpack to {}, more than the limit of {} (--max-archive-unpacked); unpack it \
             yourself or raise the limit",
            gib(declared),
            gib(limits.max_total)
        )));
    }
    if zip.has_overlapping_files().map_err(|e| refuse(format!("corrupt archive: {e}")))? {
        return Err(refuse("members share compressed data (a zip bomb construction): refused".to_string()));
    }

    // `rdplog-batch-` and a random suffix, readable by this user only.
    let mut builder = tempfile::Builder::new();
    builder.prefix("rdplog-batch-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = builder.tempdir().map_err(|source| Error::Io { path: std::env::temp_dir(), source })?;
    let mut out = Extracted { dir, notes: Vec::new() };
    let mut budget = limits.max_total;
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(|e| refuse(format!("member {i} cannot be unpacked: {e}")))?;
        let name = member.name().to_string();
        if member.is_dir() {
            continue;
        }
        if member.is_symlink() {
            out.notes.push(format!("{}: member {name:?} is a symbolic link: not followed", archive.display()));
            continue;
        }
        let Some(rel) = safe_member_path(&name) else {
            out.notes.push(format!("{}: member {name:?} has no usable name: skipped", archive.display()));
            continue;
        };
        let Some(mut dest) = create_parents(out.dir.path(), &rel) else {
            out.notes.push(format!("{}: member {name:?} clashes with another member: skipped", archive.display()));
            continue;
        };
        let mut file = match create_new(&mut dest) {
            Ok(f) => f,
            Err(source) => return Err(Error::Io { path: dest, source }),
        };
        let declared = member.size();
        let cap = declared.min(budget);
        let mut limited = (&mut member).take(cap.saturating_add(1));
        let written =
            std::io::copy(&mut limited, &mut file).map_err(|e| refuse(format!("member {name:?} is corrupt: {e}")))?;
        if written > cap {
            return Err(refuse(format!(
                "member {name:?} unpacks to more than its declared {declared} bytes or the size limit: refused"
            )));
        }
        file.flush().map_err(|source| Error::Io { path: dest.clone(), source })?;
        budget -= written;
    }
    Ok(out)
}

/// Creates the folders above `rel` inside `root`; `None` when one of them exists as a file.
fn create_parents(root: &Path, rel: &Path) -> Option<PathBuf> {
    let dest = root.join(rel);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).ok()?;
    }
    Some(dest)
}

/// Creates `path` exclusively; when a member of the same (sanitised) name was already written,
/// appends `~2`, `~3`, … to the name.
fn create_new(path: &mut PathBuf) -> std::io::Result<std::fs::File> {
    let original = path.clone();
    for n in 2..1000 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&*path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let name = original.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                path.set_file_name(format!("{name}~{n}"));
            }
            other => return other,
        }
    }
    Err(std::io::Error::other("too many members with the same name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn zip_of(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(method);
        for (name, data) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn write_zip(dir: &Path, members: &[(&str, &[u8])], method: zip::CompressionMethod) -> PathBuf {
        let path = dir.join("case.zip");
        std::fs::write(&path, zip_of(members, method)).unwrap();
        path
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
        }
        out.sort();
        out
    }

    #[test]
    fn hostile_member_names_stay_inside() {
        for (raw, want) in [
            ("../../etc/x", Some("etc/x")),
            ("/abs/path", Some("abs/path")),
            ("C:\\x", Some("x")),
            ("C:/Windows/System32/x.dll", Some("Windows/System32/x.dll")),
            ("\\\\server\\share\\f.pcap", Some("server/share/f.pcap")),
            ("a/./b/../c", Some("a/b/c")),
            ("..", None),
            ("../..", None),
            ("/", None),
            ("", None),
            ("ok/capture.pcap", Some("ok/capture.pcap")),
            ("dir:stream/x", Some("dir_stream/x")),
        ] {
            assert_eq!(safe_member_path(raw), want.map(PathBuf::from), "{raw:?}");
        }
    }

    #[test]
    fn hostile_archive_unpacks_inside_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = write_zip(
            tmp.path(),
            &[
                ("../../etc/x", b"one"),
                ("/abs/path", b"two"),
                ("C:\\x", b"three"),
                ("..\\..\\evil.pcap", b"four"),
                ("x", b"five"),
                ("..", b"six"),
            ],
            zip::CompressionMethod::Stored,
        );
        let unpacked = extract(&zip, &Limits::default()).unwrap();
        let root = unpacked.dir().to_path_buf();
        assert!(root.file_name().unwrap().to_string_lossy().starts_with("rdplog-batch-"), "{root:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&root).unwrap().permissions().mode() & 0o777, 0o700, "private folder");
        }
        let files = files_under(&root);
        let rel: Vec<String> =
            files.iter().map(|f| f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/")).collect();
        assert_eq!(rel, ["abs/path", "etc/x", "evil.pcap", "x", "x~2"]);
        assert_eq!(unpacked.notes.len(), 1, "{:?}", unpacked.notes);
        // Nothing was written beside the archive or above the temporary folder.
        assert_eq!(files_under(tmp.path()), std::slice::from_ref(&zip));
        drop(unpacked);
        assert!(!root.exists(), "temporary folder removed");
    }

    #[test]
    fn refuses_archives_beyond_the_limits() {
        let tmp = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; 4 << 20];
        let bomb = write_zip(tmp.path(), &[("zeros.pcap", &zeros)], zip::CompressionMethod::Deflated);
        let e = extract(&bomb, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("zip bomb"), "{e}");

        let many = write_zip(tmp.path(), &[("a", b"1"), ("b", b"2"), ("c", b"3")], zip::CompressionMethod::Stored);
        let e = extract(&many, &Limits { max_members: 2, ..Limits::default() }).unwrap_err().to_string();
        assert!(e.contains("3 members"), "{e}");
        let e = extract(&many, &Limits { max_total: 2, ..Limits::default() }).unwrap_err().to_string();
        assert!(e.contains("would unpack to 3"), "{e}");
        assert!(extract(&many, &Limits::default()).is_ok());

        let garbage = tmp.path().join("garbage.zip");
        std::fs::write(&garbage, b"PK\x03\x04 this is not really a zip archive").unwrap();
        let e = extract(&garbage, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("not a readable zip archive"), "{e}");
    }

    #[test]
    fn truncated_member_data_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut bytes = zip_of(&[("capture.pcap", &data)], zip::CompressionMethod::Deflated);
        // Corrupt the compressed stream in the middle; the directory at the end stays intact.
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 64] {
            *b ^= 0x5a;
        }
        let path = tmp.path().join("bad.zip");
        std::fs::write(&path, bytes).unwrap();
        let e = extract(&path, &Limits::default()).unwrap_err().to_string();
        assert!(e.contains("corrupt") || e.contains("cannot be unpacked"), "{e}");
    }
}
