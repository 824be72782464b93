//! Waiting for the signals that end a long-running service (`node`, `emulator`).

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
///
/// If a handler cannot be installed the failure is logged and that signal is not
/// waited for (the other still is).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// Blocks the calling thread until SIGINT or SIGTERM, for callers that are not async.
/// Fails only if the small runtime that listens for the signals cannot start.
pub fn wait_for_shutdown_signal() -> std::io::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(shutdown_signal());
    Ok(())
}
