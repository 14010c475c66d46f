//! Command line (clap derive): exactly what the user typed, with help that teaches.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::report::Format;

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
        after_help = "Examples:\n  rdplog analyze capture.pcapng\n  rdplog analyze case-folder/ --format json -o report.json\n  rdplog analyze trace.pcap.gz\n\n\
Inputs are recognised by content, not by name. An .etl trace from netsh/pktmon must be converted \
first: pktmon etl2pcap trace.etl --out trace.pcapng"
    )]
    Analyze {
        /// Captures (.pcap, .pcapng, either gzipped), event logs (.evtx, XML exports) or directories.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Output format; defaults to the extension of -o, else text.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the report to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Clock offset of the log hosts against the capture in seconds (event time − packet
        /// time), instead of estimating it from matching client ip:port pairs.
        #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
        skew: Option<f64>,
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
