//! init, unlock, verify and local-key generation.

use crate::*;

/// Measures the flows; returns what the reference SDK's run is compared with.
pub(crate) fn measure_flows(
    plan: &Plan,
    rows: &mut Vec<Row>,
    log: &mut String,
) -> BenchResult<OwnFigures> {
    let device = device();
    let app = EthApp::from_transport(InProcessTransport::new(Arc::clone(&device)));

    eprintln!("init without network ({} identities) …", plan.init);
    let samples = time_each(5, plan.init, || init_generate(&app).map(drop))?;
    rows.push(row(
        "init per identity, no network (median)",
        format_duration(median(&samples)),
        format!(
            "p90 {}; address read + 2 personal_sign (verified) + keys + sealing + contact bundles; n = {}",
            format_duration(percentile(&samples, 90.0).unwrap_or_default()),
            samples.len()
        ),
    ));

    let dir = TempDir::new("init")?;
    let db = dir.path().join("node.sqlite3");
    let (node, client) = start_blocking_node(&db)?;
    eprintln!("init with gRPC publish ({} identities) …", plan.init_grpc);
    let mut next_account = 0u32;
    let samples = time_each(3, plan.init_grpc, || {
        let account = next_account;
        next_account += 1;
        init_publish(&app, &client, account).map(drop)
    })?;
    rows.push(row(
        "init per identity, with gRPC publish (median)",
        format_duration(median(&samples)),
        format!(
            "p90 {}; `session::Session::init` as the CLI runs it, each time for a new account: address read + node lookup (private store, contacts) + generation + auth token + 3 envelopes through gRPC to an in-process node (3 SQLite commits with fsync); n = {}",
            format_duration(percentile(&samples, 90.0).unwrap_or_default()),
            samples.len()
        ),
    ));

    eprintln!("unlock ({}) …", plan.unlock);
    // Account 0's identity, made by the first warm-up run above.
    let signer = fresh_signer(&app)?;
    let wallet = signer.address();
    let encrypted = client
        .newest(&topic::private_store_topic(&wallet))?
        .ok_or("private store is empty")?
        .message;
    let samples = time_each(5, plan.unlock, || {
        unlock_identity(&fresh_signer(&app)?, &encrypted, &mut |_| {})?;
        Ok(())
    })?;
    rows.push(row(
        "unlock (median)",
        format_duration(median(&samples)),
        format!(
            "address read + 1 personal_sign (verified) + decrypt + bundle check; n = {}",
            samples.len()
        ),
    ));
    let samples = time_each(5, plan.unlock, || {
        Session::new(fresh_signer(&app)?, &client).unlock(&mut |_| {})?;
        Ok(())
    })?;
    rows.push(row(
        "unlock incl. gRPC fetch (median)",
        format_duration(median(&samples)),
        format!(
            "`session::Session::unlock` as the CLI runs it: newest private-store envelope over gRPC, unlock, then the contact bundles checked to be the newest (already there: nothing sent); n = {}",
            samples.len()
        ),
    ));
    let unlocked = unlock_identity(&signer, &encrypted, &mut |_| {})?;
    drop(client);
    node.shutdown()?;
    let _ = writeln!(
        log,
        "init/unlock node database: {} ({} bytes after {} identities)",
        file_system_of(dir.path()),
        file_size(&db),
        plan.init_grpc + 3
    );

    eprintln!("verify for {:?} …", plan.verify_for);
    let [_, _, contact_v2] = identity_publications(&wallet, &unlocked.bundle, encrypted)?;
    let contact = contact_v2.message;
    let start = Instant::now();
    let mut verified = 0u64;
    while start.elapsed() < plan.verify_for {
        for _ in 0..64 {
            ContactBundle::decode(std::hint::black_box(&contact))?.verify()?;
        }
        verified += 64;
    }
    let elapsed = start.elapsed();
    let verify_each = elapsed / u32::try_from(verified).unwrap_or(u32::MAX).max(1);
    rows.push(row(
        "verify throughput (one core)",
        format_rate_of(verified, elapsed, "identities"),
        format!(
            "v2 contact bundle: decode + wallet recovery from the identity key + pre-key signature check; {} per identity",
            format_duration(verify_each)
        ),
    ));

    eprintln!("generate + encrypt with a local key ({}) …", plan.local);
    let wallet = local_wallet()?;
    let samples = time_each(10, plan.local, || {
        generate_identity(&wallet, &mut |_| {})?;
        Ok(())
    })?;
    let generate_median = median(&samples);
    rows.push(row(
        "generate + encrypt, in-memory wallet key (median)",
        format_duration(generate_median),
        format!(
            "`flow::generate_identity` with `LocalKeySigner`: the work `benches/js/sdk-bench.mjs` times in the reference SDK; n = {}",
            samples.len()
        ),
    ));
    Ok(OwnFigures {
        generate_median,
        verify_each,
        contact_v2: contact,
    })
}
