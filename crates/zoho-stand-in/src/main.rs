//! `zoho-stand-in [ADDR]`: serve the stand-in accounts server and CRM endpoint on ADDR
//! (default `127.0.0.1:0`) until SIGINT/SIGTERM; prints `listening on <url>` once ready.
//! `STAND_IN_ANSWER_FORM=legacy` answers Zoho's older form (`expires_in_sec`, `expires_in` in
//! ms); `STAND_IN_DELAY_MS` slows the token endpoint. Both can change later via `/_test/config`.

use std::net::SocketAddr;

use zoho_stand_in::{AnswerForm, Behaviour, Limits, StandIn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned())
        .parse()?;
    let behaviour = Behaviour {
        answer_form: match std::env::var("STAND_IN_ANSWER_FORM").as_deref() {
            Ok("legacy") => AnswerForm::Legacy,
            Ok("seconds") | Err(_) => AnswerForm::Seconds,
            Ok(other) => {
                return Err(format!("STAND_IN_ANSWER_FORM: legacy or seconds, not {other}").into());
            }
        },
        delay_ms: std::env::var("STAND_IN_DELAY_MS").map_or(Ok(0), |v| v.parse())?,
        api_domain: None,
    };
    let server = StandIn::start_behaving(addr, Limits::zoho(), behaviour).await?;
    println!("listening on {}", server.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}
