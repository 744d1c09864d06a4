//! `tracklane-collector`: the collector as a process, for the Python and
//! Node suites. It prints one line with its URL (so a suite can start it on
//! port 0 and read where it landed) and serves until killed.
//!
//! Arguments are parsed by hand: a handful of flags do not justify a CLI
//! dependency in a test tool.

use std::io::Write;
use std::process::ExitCode;

use tracklane_collector::{CollectorConfig, RunningCollector};

const USAGE: &str = "\
usage: tracklane-collector [options]

Serves the tracklane test collector on 127.0.0.1 until killed. Prints
`tracklane-collector listening on http://127.0.0.1:PORT` once listening.

options (a repeated list option replaces the default list):
  --port N                 port to bind, 0 for a free one (default 0)
  --wa-key K               Web Analyzer App API key (default test-wa-key)
  --wa-website-id N        Web Analyzer App website id (default 1)
  --wa-rate-limit N        requests per key per window, 0 = off (default 60)
  --wa-rate-window-ms MS   rate-limit window length (default 60000)
  --koala-key K            Koala public key (default test-koala-key)
  --silktide-key K         Silktide property key (default 8bce2be8c07a84a70e7104634b42878b)
  --tracardi-source S      Tracardi source id (default source-id)
  --dreamdata-key K        Dreamdata source API key (default test-dd-key)
  --segment-key K          Segment write key (default test-segment-key)
  --keep-bodies B          keep request bodies for /_requests: true (default) or false
                           (benchmarks: counts and ids are kept either way)
  -h, --help               print this help";

/// Exit status for a command-line mistake.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("tracklane-collector: {problem}\n\n{USAGE}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let collector = match RunningCollector::start(config) {
        Ok(collector) => collector,
        Err(e) => {
            eprintln!("tracklane-collector: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let announced = writeln!(
        stdout,
        "tracklane-collector listening on {}",
        collector.url()
    )
    .and_then(|()| stdout.flush());
    if let Err(e) = announced {
        eprintln!("tracklane-collector: cannot write to stdout: {e}");
        return ExitCode::FAILURE;
    }
    loop {
        std::thread::park();
    }
}

/// Which list each list flag fills, so the first use can drop the default.
fn list_flag<'a>(config: &'a mut CollectorConfig, flag: &str) -> Option<&'a mut Vec<String>> {
    Some(match flag {
        "--wa-key" => &mut config.wa_keys,
        "--koala-key" => &mut config.koala_keys,
        "--silktide-key" => &mut config.silktide_keys,
        "--tracardi-source" => &mut config.tracardi_sources,
        "--dreamdata-key" => &mut config.dreamdata_keys,
        "--segment-key" => &mut config.segment_keys,
        _ => return None,
    })
}

/// The configuration the arguments ask for; `None` when they ask for help.
fn parse_args(args: &[String]) -> Result<Option<CollectorConfig>, String> {
    let mut config = CollectorConfig::default();
    let mut replaced: Vec<String> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let value = match inline.or_else(|| iter.next().cloned()) {
            Some(value) => value,
            None if flag.starts_with("--") => return Err(format!("{flag} needs a value")),
            None => return Err(format!("unexpected argument {arg:?}")),
        };
        let first_use = !replaced.iter().any(|f| f == flag);
        if first_use {
            replaced.push(flag.to_owned());
        }
        apply(&mut config, flag, value, first_use)?;
    }
    Ok(Some(config))
}

fn apply(
    config: &mut CollectorConfig,
    flag: &str,
    value: String,
    first_use: bool,
) -> Result<(), String> {
    if let Some(list) = list_flag(config, flag) {
        if first_use {
            list.clear();
        }
        list.push(value);
        return Ok(());
    }
    match flag {
        "--port" => config.port = number(flag, &value)?,
        "--wa-rate-limit" => config.wa_rate_limit = number(flag, &value)?,
        "--wa-rate-window-ms" => config.wa_rate_window_ms = number(flag, &value)?,
        "--keep-bodies" => {
            config.keep_bodies = match value.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(format!("{flag} takes true or false, got {value:?}")),
            }
        }
        "--wa-website-id" => {
            if first_use {
                config.wa_website_ids.clear();
            }
            config.wa_website_ids.push(number(flag, &value)?);
        }
        _ => return Err(format!("unknown option {flag:?}")),
    }
    Ok(())
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs a number, got {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<CollectorConfig>, String> {
        parse_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn repeated_list_flags_replace_the_default() {
        let Ok(Some(config)) = parse(&[
            "--port",
            "0",
            "--wa-key",
            "a",
            "--wa-key=b",
            "--wa-website-id",
            "7",
        ]) else {
            panic!("should parse");
        };
        assert_eq!(config.wa_keys, ["a", "b"]);
        assert_eq!(config.wa_website_ids, [7]);
        assert_eq!(config.koala_keys, CollectorConfig::default().koala_keys);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--nope", "1"]).is_err());
        assert!(matches!(parse(&["--help"]), Ok(None)));
    }
}
