//! rdplog binary: parse the command line, run, map the result to an exit code
//! (0 nothing failed, 1 a connection failed, 2 usage or input error; a closed pipe is not an error).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rdplog::cli::{Cli, Command};
use rdplog::report::{self, Format};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rdplog: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze { inputs, format, output } => {
            let mut skipped = Vec::new();
            let resolved = rdplog::input::resolve(&inputs, &mut skipped)?;
            let mut analysis = rdplog::analyze::analyze(&resolved)?;
            analysis.skipped_files = skipped;
            let format = format.or_else(|| output.as_deref().and_then(Format::from_extension)).unwrap_or(Format::Text);
            match &output {
                Some(path) => {
                    let file =
                        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
                    let mut w = BufWriter::new(file);
                    report::render(&analysis, format, &mut w).with_context(|| format!("writing {}", path.display()))?;
                    w.flush().with_context(|| format!("writing {}", path.display()))?;
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = BufWriter::new(stdout.lock());
                    report::render(&analysis, format, &mut w)?;
                    w.flush()?;
                }
            }
            let failed = analysis.connections.iter().any(|c| c.failed_phase.is_some_and(|p| p != "udp"));
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Samples { out } => {
            let files = rdplog::synth::scenarios::write_all(&out)
                .with_context(|| format!("writing samples to {}", out.display()))?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
