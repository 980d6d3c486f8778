//! The `mpaka` binary: parse the command line and run it.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = mpaka_server::cli::Cli::parse();
    match mpaka_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mpaka: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
