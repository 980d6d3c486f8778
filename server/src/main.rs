//! The `mpaka` binary: parse the command line and run it.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Before any file is created: the database, keys, exports and backups
    // are the hub's alone.
    mpaka_server::private_files::restrict_umask();
    let cli = mpaka_server::cli::Cli::parse();
    match mpaka_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mpaka: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
