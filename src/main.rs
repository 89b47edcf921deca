//! The `switchboard` binary: parses the command line and hands over to `api`.

/// mimalloc instead of the system allocator: a GraphQL request allocates and frees thousands
/// of small objects, and glibc's malloc spent about a quarter of the server's CPU on the
/// agent-panel read (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::run().await
}
