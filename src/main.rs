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
            // The message can quote file names found in a folder: no control sequence of theirs
            // may reach the terminal.
            eprintln!("rdplog: error: {}", rdplog::report::escape::terminal(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze { inputs, format, output, skew, redact, filter, limits, run } => {
            let mut skipped = Vec::new();
            let resolved = rdplog::input::resolve(&inputs, &mut skipped)?;
            let options = rdplog::analyze::Options {
                skew,
                limits: limits.limits(),
                filter: filter.filter(),
                no_hash: run.no_hash,
            };
            let pool = run.pool().context("cannot start the worker threads")?;
            let mut analysis = pool.install(|| rdplog::analyze::analyze_with(&resolved, &options))?;
            analysis.threads = Some(pool.current_num_threads());
            analysis.skipped_files = skipped;
            let format = format.or_else(|| output.as_deref().and_then(Format::from_extension)).unwrap_or(Format::Text);
            let mut opts = report::Options { redact, ..report::Options::new(format) };
            match &output {
                Some(path) => {
                    let file =
                        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
                    let mut w = BufWriter::new(file);
                    report::render_with(&analysis, &opts, &mut w)
                        .with_context(|| format!("writing {}", path.display()))?;
                    w.flush().with_context(|| format!("writing {}", path.display()))?;
                }
                None => {
                    let stdout = std::io::stdout();
                    opts.color = report::color_wanted(std::io::IsTerminal::is_terminal(&stdout));
                    let mut w = BufWriter::new(stdout.lock());
                    report::render_with(&analysis, &opts, &mut w)?;
                    w.flush()?;
                }
            }
            let failed = analysis.diagnosis.as_ref().is_some_and(|d| d.failed_attempts > 0);
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Timeline { inputs, format, output, filter, limits, run } => {
            let mut skipped = Vec::new();
            let resolved = rdplog::input::resolve(&inputs, &mut skipped)?;
            let options = rdplog::analyze::Options {
                skew: None,
                limits: limits.limits(),
                filter: filter.filter(),
                no_hash: run.no_hash,
            };
            let pool = run.pool().context("cannot start the worker threads")?;
            let analysis = pool.install(|| rdplog::analyze::analyze_with(&resolved, &options))?;
            for s in &skipped {
                eprintln!("rdplog: skipped {}", rdplog::report::escape::terminal(s));
            }
            let format = format
                .or_else(|| output.as_deref().and_then(rdplog::timeline::TableFormat::from_extension))
                .unwrap_or(rdplog::timeline::TableFormat::Csv);
            write_timeline(&analysis, format, output.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Batch { cases_dir, summary, out, format, shard, quiet, max_archive_unpacked, filter, limits, run } => {
            let archive = rdplog::batch::archive::Limits { max_total: max_archive_unpacked, ..Default::default() };
            let opts = rdplog::batch::Options {
                out,
                archive,
                limits: limits.limits(),
                filter: filter.filter(),
                formats: format,
                shard,
                summary,
                progress: !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
                no_hash: run.no_hash,
                ..rdplog::batch::Options::new(cases_dir)
            };
            let pool = run.pool().context("cannot start the worker threads")?;
            let batch = pool.install(|| rdplog::batch::run(&opts))?;
            let stdout = std::io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            rdplog::batch::print_overview(&batch, &mut w)?;
            w.flush()?;
            Ok(if batch.any_failure() { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Explain { code } => match rdplog::explain::render(&code) {
            Ok(text) => {
                print!("{text}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => anyhow::bail!(e),
        },
        #[cfg(not(feature = "samples"))]
        Command::Samples { .. } => {
            anyhow::bail!("this rdplog was built without the sample generator: rebuild with `--features samples`")
        }
        #[cfg(feature = "samples")]
        Command::Samples { out } => {
            let files = rdplog::synth::scenarios::write_all(&out)
                .with_context(|| format!("writing samples to {}", out.display()))?;
            let stdout = std::io::stdout();
            let mut w = stdout.lock();
            for f in files {
                writeln!(w, "{}", f.display())?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(feature = "timeline")]
fn write_timeline(
    analysis: &rdplog::analyze::Analysis,
    format: rdplog::timeline::TableFormat,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use rdplog::timeline::{TableFormat, rows, write};
    let rows = rows(analysis);
    match output {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = BufWriter::new(file);
            write(&rows, format, &mut w).with_context(|| format!("writing {}", path.display()))?;
            w.flush().with_context(|| format!("writing {}", path.display()))?;
        }
        None if format == TableFormat::Parquet => {
            anyhow::bail!("Parquet is binary: give an output file with -o FILE.parquet")
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            write(&rows, format, &mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

#[cfg(not(feature = "timeline"))]
fn write_timeline(
    _: &rdplog::analyze::Analysis,
    _: rdplog::timeline::TableFormat,
    _: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    anyhow::bail!("this rdplog was built without the `timeline` feature (polars); rebuild with default features")
}
