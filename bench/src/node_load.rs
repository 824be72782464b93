//! The node under load: database fill, publish throughput, query latency.

use crate::*;

/// The hidden argument that makes this binary the node child: `--serve-node DB`.
pub(crate) const SERVE_NODE: &str = "--serve-node";

/// Prefix of the node child's first line of output: its gRPC address follows.
const LISTENING: &str = "listening=";

/// The node child: serves the database at `db` as `xmtp-ledger node` does (a
/// [`BlockingNode`] with the default configuration) on an ephemeral loopback port,
/// prints its address, and stops gracefully when its stdin closes (the parent is done,
/// or gone).
pub(crate) fn serve_node(db: &Path) -> BenchResult<()> {
    use std::io::Write as _;
    let node = BlockingNode::start("127.0.0.1:0".parse()?, NodeConfig::new(db))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{LISTENING}{}", node.local_addr())?;
    stdout.flush()?;
    std::io::copy(&mut std::io::stdin(), &mut std::io::sink())?;
    node.shutdown()?;
    Ok(())
}

/// A node in a process of its own (this binary with [`SERVE_NODE`]), so that what it
/// holds in memory is its own and not the benchmark's: its peak RSS is the node's.
pub(crate) struct NodeProcess {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl NodeProcess {
    pub(crate) fn start(db: &Path) -> BenchResult<Self> {
        use std::io::BufRead as _;
        use std::process::Stdio;
        let mut child = Command::new(std::env::current_exe()?)
            .arg(SERVE_NODE)
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("node child: no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let addr = match line.trim().strip_prefix(LISTENING) {
            Some(addr) => addr.parse()?,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("node child did not start: {line:?}").into());
            }
        };
        Ok(Self { child, addr })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A field of the child's `/proc/<pid>/status` in KiB (`VmHWM`, `VmRSS`).
    pub(crate) fn status_kib(&self, field: &str) -> Option<u64> {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Closes the child's stdin (it shuts down gracefully) and waits for it.
    pub(crate) fn stop(mut self) -> BenchResult<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("node child failed ({status})").into())
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // After `stop` this finds it exited; on an error path it ends the child.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Single-envelope publishes from concurrent clients: total time and each call's.
pub(crate) struct PublishRun {
    pub(crate) calls: u64,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Vec<Duration>,
}

/// `clients` clients, each on its own gRPC connection (as separate users are), each
/// publishing `per_client` single-envelope requests one after another, all at once.
/// Each connection first makes one untimed publish, so connection set-up is not timed.
/// Envelope `n` (from `seed`) has unique bytes on topic `n % topics`.
pub(crate) async fn publish_from_clients(
    url: &str,
    token: &AuthToken,
    clients: usize,
    per_client: usize,
    topics: u64,
    seed: u64,
) -> BenchResult<PublishRun> {
    let envelope = move |n: u64| Envelope {
        content_topic: bench_topic(n % topics),
        timestamp_ns: xmtp_ledger::network::now_ns(),
        message: filler(n, MESSAGE_BYTES),
    };
    let mut connections = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = Client::connect(url, ClientConfig::default()).await?;
        let warm_up = seed + (clients * per_client + c) as u64;
        client.publish(token, vec![envelope(warm_up)]).await?;
        connections.push(client);
    }
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for (c, client) in connections.into_iter().enumerate() {
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let n = seed + (c * per_client + i) as u64;
                let call = Instant::now();
                client.publish(&token, vec![envelope(n)]).await?;
                latencies.push(call.elapsed());
            }
            Ok::<_, xmtp_ledger::network::NetworkError>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(clients * per_client);
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(PublishRun {
        calls: (clients * per_client) as u64,
        elapsed: start.elapsed(),
        latencies,
    })
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
    let node = NodeProcess::start(&db)?;
    let url = node.url();
    let client = runtime.block_on(Client::connect(&url, ClientConfig::default()))?;
    let wallet = local_wallet()?;
    let identity = generate_identity(&wallet, &mut |_| {})?;
    let token = auth_token_now(identity.bundle.identity_key())?;
    let mut seed = options.envelopes + 1;
    // Envelopes published through the node below (on top of the fill).
    let mut published = 0u64;

    let mut one_client_rate = None;
    for clients in PUBLISH_CLIENTS {
        let per_client = (plan.publishes / clients).max(3);
        eprintln!(
            "publishing {} single envelopes from {clients} client(s) …",
            clients * per_client
        );
        let run = runtime.block_on(publish_from_clients(
            &url, &token, clients, per_client, topics, seed,
        ))?;
        // The calls and each connection's warm-up publish.
        seed += (clients * per_client + clients) as u64;
        published += (clients * per_client + clients) as u64;
        let rate = run.calls as f64 / run.elapsed.as_secs_f64();
        let one = *one_client_rate.get_or_insert(rate);
        let latency = format!(
            "per call p50 {} / p99 {}",
            format_duration(percentile(&run.latencies, 50.0).unwrap_or_default()),
            format_duration(percentile(&run.latencies, 99.0).unwrap_or_default())
        );
        let (what, how) = if clients == 1 {
            (
                "node publish, 1 envelope per call, 1 client (as init sends them)".to_owned(),
                "sequential; each call is token check + its own SQLite commit with fsync (nothing to share it with)".to_owned(),
            )
        } else {
            (
                format!("node publish, 1 envelope per call, {clients} concurrent clients"),
                format!(
                    "{clients} clients, each its own gRPC connection, each sequential; concurrent calls share commits (group commit); {:.1}× one client",
                    rate / one
                ),
            )
        };
        rows.push(row(
            &what,
            format!(
                "{}; p99 {}",
                format_rate_of(run.calls, run.elapsed, "envelopes"),
                format_duration(percentile(&run.latencies, 99.0).unwrap_or_default())
            ),
            format!("{how}; {latency}; n = {}", run.calls),
        ));
    }

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
    seed += batched;
    published += batched;
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
    // The node's own peak, after everything above was served from it.
    let hwm = node.status_kib("VmHWM").unwrap_or(0);
    let rss = node.status_kib("VmRSS").unwrap_or(0);
    node.stop()?;
    rows.push(row(
        "node peak RSS, its own process",
        format_kib(hwm),
        format!(
            "`VmHWM` of the node (`BlockingNode`, default configuration, as `xmtp-ledger node` runs it; this binary re-run with `{SERVE_NODE}`) serving the {} envelopes above, after the publishes from 1, {} clients, the batched publishes and the queries (VmRSS {} at the end)",
            group_thousands(options.envelopes + published),
            PUBLISH_CLIENTS[1..]
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" and "),
            format_kib(rss)
        ),
    ));
    Ok(())
}
