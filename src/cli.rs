//! Command line (clap derive): exactly what the user typed, with help that teaches.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::limits::Limits;
use crate::report::Format;
use crate::time::Ts;

#[derive(Debug, Parser)]
#[command(
    name = "rdplog",
    version,
    about = "Explain why a Windows Remote Desktop connection failed, from packet captures and event logs",
    long_about = "rdplog reads packet captures (pcap, pcapng, optionally gzipped) offline and \
reconstructs every Remote Desktop connection attempt in them: the TCP handshake, the X.224/RDP_NEG \
security negotiation, the TLS handshake (certificate, alerts), the NLA/CredSSP exchange, the session \
and the RDP-UDP side channel, with the frame numbers that prove each step.\n\n\
Exit codes: 0 analysed, no failed connection; 1 a connection failed; 2 usage or input error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reconstruct every RDP connection attempt in the inputs and list the Windows events that matter.
    #[command(
        after_help = "Examples:\n  rdplog analyze capture.pcapng\n  rdplog analyze case-folder/ --format json -o report.json\n  rdplog analyze case-folder/ -o report.html --redact\n  rdplog analyze trace.pcap.gz\n\n\
Inputs are recognised by content, not by name. Windows' own captures are read as they are: \
pktmon (pktmon start --capture) and netsh trace (capture=yes) .etl files, no conversion needed."
    )]
    Analyze {
        /// Captures (.pcap, .pcapng, either gzipped), event logs (.evtx, XML exports) or directories.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Output format; defaults to the extension of -o (.txt, .md, .html, .json), else text.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the report to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Clock offset of the log hosts against the capture in seconds (event time − packet
        /// time), instead of estimating it from matching client ip:port pairs.
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
        skew: Option<f64>,
        /// Replace user names, domain and host names and IP addresses with consistent pseudonyms
        /// (user-1, host-1, 10.255.0.1) in every format, e.g. before sending a report outside.
        #[arg(long)]
        redact: bool,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Write the merged packet + event timeline as a table (CSV, JSONL or Parquet).
    #[command(after_help = "Columns: time, datetime (UTC), timestamp (µs), source (packet|event), input, host, kind, \
ref (frame or record id), timestamp_desc, message, fields (JSON). Timesketch can import the CSV/JSONL.\n\n\
Examples:\n  rdplog timeline capture.pcapng System.evtx Security.evtx -o timeline.csv\n  rdplog timeline case/ --format jsonl | less")]
    Timeline {
        /// Captures, event logs (.evtx or XML exports) or directories.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Table format; defaults to the extension of -o, else CSV. Parquet needs -o.
        #[arg(long, value_enum)]
        format: Option<crate::timeline::TableFormat>,
        /// Write the table to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Analyse many cases at once: every sub-folder or .zip archive of CASES_DIR is one case. Writes
    /// the reports of each case, a summary table with one row per case, and prints cases per cause,
    /// per server and per day.
    #[command(after_help = "Examples:\n  rdplog batch tickets/ --summary summary.csv\n  \
rdplog batch tickets/ --out reports/ --format json,html --summary summary.md\n  \
rdplog batch tickets/ --shard 2/5 --summary shard-2.parquet\n\n\
Reports go to <case>/rdplog-report.<ext> (<case>.rdplog-report.<ext> beside an archive), or to DIR/<case>/ with \
--out. A case that cannot be analysed is a row with its error and does not stop the others. Archives are unpacked \
to a temporary folder, within limits (10,000 members, 4 GiB, no extreme compression ratios).\n\n\
Exit codes: 0 no case has a failed connection; 1 at least one has; 2 the cases folder is unusable.")]
    Batch {
        /// Folder with one sub-folder or .zip archive per case.
        #[arg(value_name = "CASES_DIR")]
        cases_dir: PathBuf,
        /// Write the summary table to FILE: CSV, Parquet or Markdown, from the extension (.csv, .parquet, .md).
        #[arg(long, value_name = "FILE")]
        summary: Option<PathBuf>,
        /// Write each case's reports under DIR/<case>/ instead of next to the case.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Report formats to write per case, comma-separated.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["json", "text"])]
        format: Vec<Format>,
        /// Take only part K of N of the sorted case list (cases K, K+N, K+2N, ...), to split a batch
        /// across machines.
        #[arg(long, value_name = "K/N")]
        shard: Option<crate::batch::Shard>,
        /// No progress bar (it is only drawn when stderr is a terminal anyway).
        #[arg(short, long)]
        quiet: bool,
        /// Largest total a .zip case may unpack to; a bigger archive (or a zip bomb) is refused
        /// with an error on its row.
        #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size, help_heading = "Limits")]
        max_archive_unpacked: u64,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Decode a code offline: client disconnect reason (0x904 = 2308), extended reason, ERRINFO,
    /// RDP_NEG_FAILURE, TLS alert, NTSTATUS / 4625 sub-status, SSPI error.
    #[command(
        after_help = "Examples:\n  rdplog explain 0x904\n  rdplog explain 2308\n  rdplog explain 7\n  rdplog explain 0xC000006A"
    )]
    Explain {
        /// The number, decimal (2308) or hexadecimal (0x904).
        code: String,
    },
    /// Regenerate the bundled scenario captures (deterministic: same bytes every time).
    #[command(after_help = "Example:\n  rdplog samples --out /tmp/samples && rdplog analyze /tmp/samples/certificate")]
    Samples {
        /// Folder to write the scenario folders into.
        #[arg(long, value_name = "DIR", default_value = "samples")]
        out: PathBuf,
    },
}

/// `--client`, `--user`, `--server`, `--since`, `--until`: the attempts to answer about.
#[derive(Args, Clone, Debug, Default)]
pub struct FilterArgs {
    /// Only attempts from this client IP address (any port).
    #[arg(long, value_name = "IP", help_heading = "Filters")]
    pub client: Option<std::net::IpAddr>,
    /// Only attempts by this user (mstshash cookie or the logon events' account; `alice` matches
    /// `CORP\alice`).
    #[arg(long, value_name = "NAME", help_heading = "Filters")]
    pub user: Option<String>,
    /// Only attempts to this server: its IP, or its host name as its logs, SNI or certificate
    /// name it (`rdsh01` matches `RDSH01.corp.example`).
    #[arg(long, value_name = "HOST", help_heading = "Filters")]
    pub server: Option<String>,
    /// Only attempts at or after this time (RFC 3339, e.g. 2026-03-01T10:00:00Z, or a UTC date).
    #[arg(long, value_name = "TIME", value_parser = crate::filter::parse_time, help_heading = "Filters")]
    pub since: Option<Ts>,
    /// Only attempts at or before this time (RFC 3339 or a UTC date).
    #[arg(long, value_name = "TIME", value_parser = crate::filter::parse_time, help_heading = "Filters")]
    pub until: Option<Ts>,
}

impl FilterArgs {
    pub fn filter(&self) -> crate::filter::Filter {
        crate::filter::Filter {
            client: self.client,
            user: self.user.clone(),
            server: self.server.clone(),
            since: self.since,
            until: self.until,
        }
    }
}

/// How the work runs: threads and hashing. Neither changes what the report concludes.
#[derive(Clone, Copy, Debug, Default, Args)]
#[command(next_help_heading = "Performance")]
pub struct RunArgs {
    /// Worker threads (default 0: one per core, or RAYON_NUM_THREADS). Input files, event-log
    /// chunks and batch cases are shared among them; the report is the same at any count.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Do not compute each input's SHA-256 (the inventory says "not computed"): for speed runs.
    #[arg(long)]
    pub no_hash: bool,
}

impl RunArgs {
    /// The worker pool every command runs in (`pool.install`): the only rayon pool of the run.
    pub fn pool(&self) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
        rayon::ThreadPoolBuilder::new().num_threads(self.threads).build()
    }
}

/// Limits that hold whatever an input says (`crate::limits`); each one that truncates an
/// analysis says so in a warning that names its flag.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Live TCP/UDP flows tracked at once; later new flows are only counted.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_flows)]
    pub max_flows: usize,
    /// Stream bytes per TCP direction given to the RDP parsers (negotiation, TLS, NLA fit in a few KiB).
    #[arg(long, value_name = "BYTES", default_value = "64K", value_parser = parse_size)]
    pub flow_payload: u64,
    /// Windows events kept per provider/event id and log (the latest; Remote Desktop's logons,
    /// 4624/4625/4634 of LogonType 10, 7 or 12, have as many again of their own); the rest are
    /// counted.
    #[arg(long, value_name = "N", default_value_t = Limits::default().events_per_id)]
    pub max_events_per_id: usize,
    /// Largest size a gzipped event log may unpack to in memory; a bigger one is refused.
    #[arg(long, value_name = "BYTES", default_value = "2G", value_parser = parse_size)]
    pub max_unpacked: u64,
    /// Stop reading an input after this many seconds and analyse what was read (default: no limit).
    #[arg(long, value_name = "SECONDS")]
    pub input_timeout: Option<f64>,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            flow_payload: usize::try_from(self.flow_payload).unwrap_or(usize::MAX),
            max_flows: self.max_flows,
            events_per_id: self.max_events_per_id,
            max_unpacked: self.max_unpacked,
            input_time: self.input_timeout.filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64),
        }
    }
}

/// A byte count: digits with an optional K, M or G suffix (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size like 65536, 64K, 512M or 2G"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("x").is_err() && parse_size("").is_err() && parse_size("99999999999G").is_err());
    }

    #[test]
    fn default_flags_are_the_default_limits() {
        let cli = Cli::parse_from(["rdplog", "analyze", "x.pcap"]);
        let Command::Analyze { limits, .. } = cli.command else { panic!("analyze") };
        assert_eq!(limits.limits(), Limits::default());
    }
}
