//! The `mpaka` binary: choose the allocator, parse the command line and run
//! it.

use clap::Parser;

/// jemalloc instead of glibc's malloc. Password hashing at start-up and at
/// each login allocates 19 MiB blocks on tokio's blocking threads; glibc
/// keeps such memory in per-thread arenas and rarely returns it, so an idle
/// hub sat at 133–173 MiB even with `MALLOC_ARENA_MAX=2`. jemalloc returns
/// freed pages to the system after a short decay, from its own background
/// thread (enabled in `main`), without any `MALLOC_*` environment. The
/// comparison with glibc and mimalloc is in docs/benchmarks.md (issue 18).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Without the background thread, jemalloc purges only when the arena
    // that freed the memory allocates again; the blocking threads that
    // hashed passwords go quiet, so an idle hub would keep their pages.
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("mpaka: could not start the allocator's purging thread: {error}");
    }
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
