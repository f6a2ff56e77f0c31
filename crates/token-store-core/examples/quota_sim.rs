//! Quota and cost simulation of the engine against AWS, GCP and Azure models, in virtual time.
//!
//! ```text
//! cargo run --release -p token-store-core --features testkit --example quota_sim -- \
//!     [--services aws,gcp,azure] [--tokens 1,10,100,1000,10000] [--days 7] [--writers 4] \
//!     [--latency-ms 20] [--max-ops 200000] [--keep-values 16] [--jobs CPUS] [--seed 1] \
//!     [--import-per-minute 50]
//! ```
//!
//! Prints one Markdown table (see `docs/quota-sim.md`). `--max-ops` caps the operations of
//! one run: a larger N runs for fewer days (printed in the `days` column and on stderr); the
//! engine decodes its whole index on every operation (~1 ms at 1,000 tokens), so the default
//! 200,000 keeps the default table near 10 minutes on 2 cores. `--jobs` runs that many
//! simulations at once (one thread each).
//! `--import-per-minute` paces the initial import of the N users (0: a bulk load in the first
//! refresh interval). `--keep-values 0` keeps every value of every version (memory grows with writes).

use std::time::Instant;

use token_store_core::testkit::quota::{Service, SimConfig, SimReport, format_table, simulate};

struct Args {
    services: Vec<Service>,
    tokens: Vec<usize>,
    days: f64,
    writers: usize,
    latency_ms: u64,
    max_ops: u64,
    keep_values: usize,
    jobs: usize,
    seed: u64,
    import_per_minute: u32,
}

fn usage(problem: &str) -> ! {
    eprintln!("quota_sim: {problem}");
    eprintln!(
        "usage: quota_sim [--services aws,gcp,azure] [--tokens 1,10,100,1000,10000] [--days 7] \
         [--writers 4] [--latency-ms 20] [--max-ops 200000] [--keep-values 16] [--jobs CPUS] [--seed 1] \
         [--import-per-minute 50]"
    );
    std::process::exit(2)
}

fn parse() -> Args {
    let mut args = Args {
        services: vec![Service::Aws, Service::Gcp, Service::Azure],
        tokens: vec![1, 10, 100, 1_000, 10_000],
        days: 7.0,
        writers: 4,
        latency_ms: 20,
        max_ops: 200_000,
        keep_values: 16,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        seed: 1,
        import_per_minute: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            usage("help");
        }
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number = |v: &str| -> u64 {
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")))
        };
        match flag.as_str() {
            "--services" => {
                args.services = value
                    .split(',')
                    .map(|s| Service::parse(s).unwrap_or_else(|| usage(&format!("service {s}"))))
                    .collect();
            }
            "--tokens" => args.tokens = value.split(',').map(|v| number(v) as usize).collect(),
            "--days" => {
                args.days = value
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("--days: {value}")));
            }
            "--writers" => args.writers = number(&value).max(1) as usize,
            "--latency-ms" => args.latency_ms = number(&value),
            "--max-ops" => args.max_ops = number(&value),
            "--keep-values" => args.keep_values = number(&value) as usize,
            "--jobs" => args.jobs = number(&value).max(1) as usize,
            "--seed" => args.seed = number(&value),
            "--import-per-minute" => args.import_per_minute = number(&value) as u32,
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    args
}

fn main() {
    let args = parse();
    let mut configs = Vec::new();
    for &service in &args.services {
        for &tokens in &args.tokens {
            let mut config = SimConfig::new(service, tokens, args.days);
            config.writers = args.writers;
            config.latency = std::time::Duration::from_millis(args.latency_ms);
            config.keep_values = (args.keep_values > 0).then_some(args.keep_values);
            config.seed = args.seed;
            config.import_per_minute = args.import_per_minute;
            // Saves and finds per token per day (one save and three finds per refresh).
            let per_token_day = 4.0 * 86_400.0 / config.refresh_every.as_secs_f64();
            let fits = args.max_ops as f64 / (per_token_day * tokens.max(1) as f64);
            if fits < config.days {
                // Whole hours, at least one.
                config.days = ((fits * 24.0).floor().max(1.0)) / 24.0;
                eprintln!(
                    "{} N={tokens}: cut to {:.2} days to stay within --max-ops {}",
                    service.name(),
                    config.days,
                    args.max_ops
                );
            }
            configs.push(config);
        }
    }
    let started = Instant::now();
    let queue = std::sync::Mutex::new(configs.iter().enumerate().rev().collect::<Vec<_>>());
    let results = std::sync::Mutex::new(Vec::<(usize, SimReport)>::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(configs.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let Some((i, config)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let report = simulate(config);
                    eprintln!(
                        "{} N={} {:.2} d: {} ops, {:.1} s wall",
                        config.service.name(),
                        config.tokens,
                        config.days,
                        report.ops,
                        report.wall.as_secs_f64()
                    );
                    eprintln!(
                        "  calls {:?}; refused {:?}; {:?}; {} active versions, {} secrets at the end",
                        report.quota.calls,
                        report.quota.throttled,
                        report.engine,
                        report.quota.active_versions_now,
                        report.quota.secrets_now
                    );
                    for v in report.quota.violation_log.iter().take(5) {
                        eprintln!(
                            "  violation {} by {} on {} at {:.1} s",
                            v.limit,
                            v.call,
                            v.secret,
                            v.at.as_secs_f64()
                        );
                    }
                    results.lock().unwrap().push((i, report));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let reports: Vec<SimReport> = results.into_iter().map(|(_, r)| r).collect();
    print!("{}", format_table(&reports));
    println!(
        "\n{} runs, {} writers, {} ms per call, {:.1} s wall in total",
        reports.len(),
        args.writers,
        args.latency_ms,
        started.elapsed().as_secs_f64()
    );
}
