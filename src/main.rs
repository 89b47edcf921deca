//! The `switchboard` binary: parses the command line and hands over to `api`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::run().await
}
