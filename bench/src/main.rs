//! `mpaka-bench`: a load generator that drives mpaka, NATS and Mosquitto
//! over their WebSocket interfaces through the same measuring code, and
//! tabulates the results side by side. See `bench/README.md`.

#![forbid(unsafe_code)]

mod chart;
mod codecs;
mod driver;
mod flood;
mod payload;
mod procstat;
mod report;
mod scenario;
mod stats;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use driver::mpaka::MpakaDriver;
use driver::mpaka_alerts::AlertsDriver;
use driver::mqtt::MqttDriver;
use driver::nats::NatsDriver;
use driver::Driver;
use scenario::Plan;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    version,
    about = "Benchmark mpaka against NATS and Mosquitto over WebSocket"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of `Run` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run one scenario against one target.
    Run(RunArgs),
    /// Print a side-by-side table (with ratios to mpaka) of result files.
    Compare {
        /// Result files written by `run --json`.
        files: Vec<PathBuf>,
        /// Also write the table's data, with ratios, as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Exit with an error if any run lost or duplicated messages, lost
        /// connections or publishes, or reported errors (for CI's smoke run).
        #[arg(long)]
        check: bool,
    },
    /// Bytes per event and decode time of the event encodings (json,
    /// compact JSON, MessagePack, CBOR) for one benchmark message.
    Codecs {
        /// Payload bytes.
        #[arg(long, default_value_t = 512)]
        size: usize,
        /// Decodes timed per encoding.
        #[arg(long, default_value_t = 200_000)]
        rounds: u32,
        /// Write the sample encodings here (for the browser measurement).
        #[arg(long)]
        samples: Option<PathBuf>,
    },
    /// Draw latency percentiles per target and scenario, and deliveries/s,
    /// as an SVG chart (medians when several runs of a scenario are given).
    Chart {
        /// The SVG file to write.
        #[arg(long)]
        out: PathBuf,
        /// Result files written by `run --json`.
        files: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    Mpaka,
    Nats,
    Mqtt,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Scenario {
    /// Fan-out: 1,000 subscribers, 2,000 messages at maximum rate.
    A,
    /// Latency: 1,000 subscribers, 200 messages/s for 10 s.
    B,
    /// Scale: 5,000 subscribers, 200 messages at maximum rate.
    C,
    /// Scenario b while 10,000 idle connections are held.
    C2,
    /// Resume storm (mpaka only): 1,000 clients reconnect asking for 1,000 missed events.
    D,
    /// Durable publish: 200 publishers, 50 messages each, 4 unanswered at most.
    E,
    /// Alerts (mpaka only): 10 publishers each raise 50 alerts that the facing
    /// post acknowledges, 1,000 subscribers of which a fifth are observers.
    F,
}

#[derive(Parser)]
struct RunArgs {
    #[arg(long, value_enum)]
    target: Target,
    /// mpaka: its HTTP base (http://127.0.0.1:PORT); NATS: ws://127.0.0.1:PORT;
    /// Mosquitto: ws://127.0.0.1:PORT/mqtt.
    #[arg(long)]
    url: String,
    /// mpaka: the demo-credentials.tsv written by `mpaka serve --demo`.
    #[arg(long)]
    credentials: Option<PathBuf>,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// The server's process id, for its peak RSS and CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Write the result as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// MQTT quality of service for publishes and subscriptions.
    #[arg(long, default_value_t = 1)]
    mqtt_qos: u8,
    #[arg(long)]
    subscribers: Option<usize>,
    #[arg(long)]
    idle: Option<usize>,
    #[arg(long)]
    publishers: Option<usize>,
    /// Messages per publisher.
    #[arg(long)]
    messages: Option<u64>,
    /// Payload bytes.
    #[arg(long, default_value_t = 512)]
    size: usize,
    /// Messages per second per publisher; 0 for maximum rate.
    #[arg(long)]
    rate: Option<f64>,
    /// With a rate: publish for this long (sets the message count).
    #[arg(long)]
    duration_secs: Option<f64>,
    /// Unanswered publishes allowed per publisher.
    #[arg(long)]
    window: Option<usize>,
    /// Connection handshakes in progress at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Stop waiting for deliveries after this long without progress.
    #[arg(long, default_value_t = 10.0)]
    drain_timeout_secs: f64,
    /// mpaka: this many clients flood the login route with wrong passwords
    /// during the run (see `flood.rs`).
    #[arg(long, default_value_t = 0)]
    login_flood: usize,
    /// mpaka: the event encoding the sockets ask for (`json` or `compact`).
    #[arg(long, default_value = "json")]
    mpaka_encoding: String,
    /// mpaka: ask for several events per WebSocket message when ready together.
    #[arg(long)]
    mpaka_batch: bool,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::A => "a",
            Scenario::B => "b",
            Scenario::C => "c",
            Scenario::C2 => "c2",
            Scenario::D => "d",
            Scenario::E => "e",
            Scenario::F => "f",
        }
    }

    /// The sizes the issue asks for.
    fn default_plan(self) -> Plan {
        let base = Plan {
            scenario: self.name().into(),
            subscribers: 1000,
            idle: 0,
            publishers: 1,
            messages: 2000,
            size: 512,
            rate: None,
            window: 1000,
            resume: false,
            spread: false,
            connect_concurrency: 200,
            drain_timeout_secs: 10.0,
        };
        match self {
            Scenario::A => base,
            Scenario::B => Plan {
                rate: Some(200.0),
                ..base
            },
            Scenario::C => Plan {
                subscribers: 5000,
                messages: 200,
                ..base
            },
            Scenario::C2 => Plan {
                idle: 10_000,
                rate: Some(200.0),
                ..base
            },
            Scenario::D => Plan {
                messages: 1000,
                resume: true,
                ..base
            },
            Scenario::E => Plan {
                subscribers: 0,
                publishers: 200,
                messages: 50,
                window: 4,
                spread: true,
                ..base
            },
            Scenario::F => Plan {
                publishers: 10,
                messages: 50,
                window: 4,
                ..base
            },
        }
    }
}

fn plan_of(args: &RunArgs) -> Plan {
    let mut plan = args.scenario.default_plan();
    plan.subscribers = args.subscribers.unwrap_or(plan.subscribers);
    plan.idle = args.idle.unwrap_or(plan.idle);
    plan.publishers = args.publishers.unwrap_or(plan.publishers).max(1);
    plan.messages = args.messages.unwrap_or(plan.messages);
    plan.size = args.size;
    if let Some(rate) = args.rate {
        plan.rate = (rate > 0.0).then_some(rate);
    }
    if let (Some(rate), Some(secs)) = (plan.rate, args.duration_secs) {
        plan.messages = (rate * secs).round() as u64;
    }
    plan.window = args.window.unwrap_or(plan.window).max(1);
    plan.connect_concurrency = args.connect_concurrency.max(1);
    plan.drain_timeout_secs = args.drain_timeout_secs;
    if plan.spread {
        // Spread publishers write to several channels; subscribers would
        // only see one of them.
        plan.subscribers = 0;
    }
    plan
}

async fn run_with<D: Driver>(driver: D, args: &RunArgs, plan: Plan) -> Result<()> {
    let result = scenario::run(Arc::new(driver), plan, args.server_pid).await?;
    print!("{}", report::summary(&result));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&result)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn run(args: RunArgs) -> Result<()> {
    let plan = plan_of(&args);
    if plan.resume && !matches!(args.target, Target::Mpaka) {
        bail!("scenario d (resume storm) is for mpaka only");
    }
    let alerts = args.scenario == Scenario::F;
    if alerts && !matches!(args.target, Target::Mpaka) {
        bail!("scenario f (alerts) is for mpaka only: NATS and MQTT have no alerts");
    }
    eprintln!("plan: {}", serde_json::to_string(&plan)?);
    match args.target {
        Target::Mpaka => {
            let credentials = args
                .credentials
                .clone()
                .context("--credentials is required for mpaka")?;
            let wire = driver::mpaka::Wire {
                encoding: mpaka_protocol::wire::Encoding::parse(&args.mpaka_encoding)
                    .context("--mpaka-encoding is json or compact")?,
                batch: args.mpaka_batch,
            };
            let driver = MpakaDriver::prepare(&args.url, &credentials, plan.spread, wire).await?;
            let flood =
                (args.login_flood > 0).then(|| flood::Flood::start(&args.url, args.login_flood));
            let result = if alerts {
                run_with(AlertsDriver::new(driver)?, &args, plan).await
            } else {
                run_with(driver, &args, plan).await
            };
            if let Some(flood) = flood {
                flood.stop().await;
            }
            result
        }
        Target::Nats => {
            let driver = NatsDriver::new(&args.url, plan.spread);
            run_with(driver, &args, plan).await
        }
        Target::Mqtt => {
            let driver = MqttDriver::new(&args.url, args.mqtt_qos, plan.spread)?;
            run_with(driver, &args, plan).await
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Run(args) => run(args).await,
        Command::Compare { files, json, check } => {
            let cmp = report::compare(&files)?;
            print!("{}", report::table(&cmp));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&cmp)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let problems = report::problems(&cmp);
            if check {
                for (_, p) in &problems {
                    eprintln!("check failed: {p}");
                }
                let mut failed: Vec<usize> = problems.iter().map(|(i, _)| *i).collect();
                failed.dedup();
                println!(
                    "smoke: {} passed, {} failed",
                    cmp.results.len() - failed.len(),
                    failed.len()
                );
                if !problems.is_empty() {
                    bail!("{} problem(s) in the benchmark results", problems.len());
                }
            }
            Ok(())
        }
        Command::Chart { out, files } => {
            let cmp = report::compare(&files)?;
            chart::draw(&cmp, &out)?;
            println!("chart: {}", out.display());
            Ok(())
        }
        Command::Codecs {
            size,
            rounds,
            samples,
        } => codecs::run(size, rounds, samples.as_deref()),
    }
}
