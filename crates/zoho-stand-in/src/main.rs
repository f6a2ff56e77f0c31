//! `zoho-stand-in [ADDR]`: serve the stand-in accounts server and CRM endpoint on ADDR
//! (default `127.0.0.1:0`) until SIGINT/SIGTERM; prints `listening on <url>` once ready.

use std::net::SocketAddr;

use zoho_stand_in::StandIn;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned())
        .parse()?;
    let server = StandIn::start(addr).await?;
    println!("listening on {}", server.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}
