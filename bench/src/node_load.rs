//! The node under load: database fill, publish throughput, query latency.

use crate::*;

/// Publishes `count` single-envelope requests from `clients` concurrent clients.
pub(crate) async fn publish_concurrently(
    client: &Client,
    token: &AuthToken,
    clients: usize,
    count: usize,
    seed: u64,
) -> BenchResult<Duration> {
    let per_client = count / clients;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = client.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let n = seed + (c * per_client + i) as u64;
                let envelope = Envelope {
                    content_topic: bench_topic(n % 97),
                    timestamp_ns: xmtp_ledger::network::now_ns(),
                    message: filler(n, MESSAGE_BYTES),
                };
                client.publish(&token, vec![envelope]).await?;
            }
            Ok::<(), xmtp_ledger::network::NetworkError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(start.elapsed())
}

pub(crate) fn measure_node(
    options: &Options,
    plan: &Plan,
    rows: &mut Vec<Row>,
    log: &mut String,
) -> BenchResult<()> {
    let dir = TempDir::new("node")?;
    let db = dir.path().join("node.sqlite3");
    let topics = options.envelopes.div_ceil(ENVELOPES_PER_TOPIC).max(1);
    let base_ns = xmtp_ledger::network::now_ns() - options.envelopes * 1_000 - 1_000_000_000;

    eprintln!(
        "filling {} envelopes into {} …",
        group_thousands(options.envelopes),
        db.display()
    );
    let start = Instant::now();
    {
        let store = Store::open(&db)?;
        let mut next = 0u64;
        while next < options.envelopes {
            let end = (next + FILL_BATCH as u64).min(options.envelopes);
            let batch: Vec<Envelope> = (next..end)
                .map(|i| fill_envelope(i, topics, base_ns))
                .collect();
            let inserted = store.insert(&batch)?;
            if inserted != batch.len() {
                return Err(format!("fill: {inserted} of {} rows were new", batch.len()).into());
            }
            next = end;
        }
    }
    let fill = start.elapsed();
    let wal = dir.path().join("node.sqlite3-wal");
    let _ = writeln!(
        log,
        "fill: {} envelopes ({MESSAGE_BYTES}-byte messages) on {} topics in transactions of {} rows through `node::store::Store`: {} ({}); database {:.0} MiB + WAL {:.0} MiB on {}",
        group_thousands(options.envelopes),
        group_thousands(topics),
        group_thousands(FILL_BATCH as u64),
        format_duration(fill),
        format_rate(options.envelopes, fill),
        file_size(&db) as f64 / 1_048_576.0,
        file_size(&wal) as f64 / 1_048_576.0,
        file_system_of(dir.path()),
    );
    rows.push(row(
        "database fill (not through gRPC)",
        format_duration(fill),
        format!(
            "{} envelopes of {MESSAGE_BYTES} bytes on {} topics, {} rows per transaction, `Store::insert`",
            group_thousands(options.envelopes),
            group_thousands(topics),
            group_thousands(FILL_BATCH as u64)
        ),
    ));

    let runtime = runtime()?;
    let (node, client) = runtime.block_on(start_node(&db))?;
    let wallet = local_wallet()?;
    let identity = generate_identity(&wallet, &mut |_| {})?;
    let token = auth_token_now(identity.bundle.identity_key())?;
    let mut seed = options.envelopes + 1;

    eprintln!("publishing {} single envelopes …", plan.publishes);
    let start = Instant::now();
    for i in 0..plan.publishes as u64 {
        let n = seed + i;
        let envelope = Envelope {
            content_topic: bench_topic(n % topics),
            timestamp_ns: xmtp_ledger::network::now_ns(),
            message: filler(n, MESSAGE_BYTES),
        };
        runtime.block_on(client.publish(&token, vec![envelope]))?;
    }
    let elapsed = start.elapsed();
    seed += plan.publishes as u64;
    rows.push(row(
        "node publish, 1 envelope per call (as init sends them)",
        format_rate_of(plan.publishes as u64, elapsed, "envelopes"),
        format!(
            "one client, sequential; each call is token check + 1 SQLite commit with fsync; {} per call; n = {}",
            format_duration(elapsed / u32::try_from(plan.publishes).unwrap_or(u32::MAX)),
            plan.publishes
        ),
    ));

    eprintln!(
        "publishing {} envelopes from {CONCURRENT_CLIENTS} clients …",
        plan.publishes
    );
    let elapsed = runtime.block_on(publish_concurrently(
        &client,
        &token,
        CONCURRENT_CLIENTS,
        plan.publishes,
        seed,
    ))?;
    seed += plan.publishes as u64;
    let concurrent_count = (plan.publishes / CONCURRENT_CLIENTS * CONCURRENT_CLIENTS) as u64;
    rows.push(row(
        &format!("node publish, 1 envelope per call, {CONCURRENT_CLIENTS} concurrent calls"),
        format_rate_of(concurrent_count, elapsed, "envelopes"),
        format!("{CONCURRENT_CLIENTS} tasks on one HTTP/2 connection; n = {concurrent_count}"),
    ));

    eprintln!(
        "publishing {} batches of {MAX_ENVELOPES_PER_PUBLISH} …",
        plan.publish_batches
    );
    let start = Instant::now();
    for b in 0..plan.publish_batches as u64 {
        let envelopes: Vec<Envelope> = (0..MAX_ENVELOPES_PER_PUBLISH as u64)
            .map(|i| {
                let n = seed + b * MAX_ENVELOPES_PER_PUBLISH as u64 + i;
                Envelope {
                    content_topic: bench_topic(n % topics),
                    timestamp_ns: xmtp_ledger::network::now_ns(),
                    message: filler(n, MESSAGE_BYTES),
                }
            })
            .collect();
        runtime.block_on(client.publish(&token, envelopes))?;
    }
    let elapsed = start.elapsed();
    let batched = (plan.publish_batches * MAX_ENVELOPES_PER_PUBLISH) as u64;
    rows.push(row(
        &format!("node publish, {MAX_ENVELOPES_PER_PUBLISH} envelopes per call"),
        format_rate_of(batched, elapsed, "envelopes"),
        format!(
            "one client, sequential, the most one Publish may carry; 1 commit per call; n = {batched}"
        ),
    ));

    eprintln!("querying {} pages …", plan.queries);
    let mut rng = seed;
    let mut next_topic = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        bench_topic(rng % topics)
    };
    // Every topic holds at least this many rows, so every page should be this full.
    let expected = usize::try_from(u64::from(PAGE).min(options.envelopes / topics))?;
    let query_once = |topic: String| -> BenchResult<Duration> {
        let start = Instant::now();
        let page = runtime.block_on(client.query(&Query::topic(topic).limit(PAGE)))?;
        let elapsed = start.elapsed();
        if page.envelopes.len() < expected {
            return Err(format!("query returned {} rows", page.envelopes.len()).into());
        }
        Ok(elapsed)
    };
    for _ in 0..plan.queries / 10 {
        query_once(next_topic())?;
    }
    let mut samples = Vec::with_capacity(plan.queries);
    for _ in 0..plan.queries {
        samples.push(query_once(next_topic())?);
    }
    let stored = file_size(&db);
    rows.push(row(
        &format!("node query, newest first, page 1 of {PAGE}, one topic"),
        format!(
            "p50 {} / p99 {}",
            format_duration(percentile(&samples, 50.0).unwrap_or_default()),
            format_duration(percentile(&samples, 99.0).unwrap_or_default())
        ),
        format!(
            "through gRPC, {} envelopes in the database ({:.0} MiB), a random topic of {} each time; n = {}",
            group_thousands(options.envelopes),
            stored as f64 / 1_048_576.0,
            group_thousands(topics),
            samples.len()
        ),
    ));
    drop(client);
    runtime.block_on(node.shutdown())?;
    Ok(())
}
