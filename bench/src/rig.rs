//! The software device, nodes, signers and data the measurements run on.

use crate::*;

// ----- rig ---------------------------------------------------------------------------------

pub(crate) type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

pub(crate) fn device() -> Arc<SoftwareDevice> {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    device.set_approval(ApprovalPolicy::Approve);
    device
}

pub(crate) fn path() -> DerivationPath {
    DerivationPath::ledger_live(0).expect("m/44'/60'/0'/0/0 is a valid path")
}

/// A signer as a fresh CLI run opens one: the address is read from the device.
pub(crate) fn fresh_signer(app: &EthApp) -> BenchResult<LedgerSigner> {
    Ok(LedgerSigner::connect(app.clone(), path())?)
}

pub(crate) fn local_wallet() -> BenchResult<LocalKeySigner> {
    Ok(LocalKeySigner::from_private_key(&hex::decode(WALLET_KEY)?)?)
}

pub(crate) fn runtime() -> BenchResult<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Key generation after the device is open, without a network (what `init --out`
/// does): two verified signatures, keys, sealing, contact bundles.
pub(crate) fn init_generate(app: &EthApp) -> BenchResult<SealedIdentity> {
    Ok(generate_identity(&fresh_signer(app)?, &mut |_| {})?)
}

/// A node on a runtime of its own and a blocking client of it, as `--network local`
/// gives the CLI.
pub(crate) fn start_blocking_node(db: &Path) -> BenchResult<(BlockingNode, BlockingClient)> {
    let node = BlockingNode::start("127.0.0.1:0".parse()?, NodeConfig::new(db))?;
    let client = BlockingClient::connect(
        &format!("http://{}", node.local_addr()),
        ClientConfig::default(),
    )?;
    Ok((node, client))
}

/// The `init` users run, once the device is open: `session::Session::init` for the
/// account at `account` (`m/44'/60'/account'/0/0`), which reads the address, looks the
/// account up on the node, generates, and publishes the three envelopes. Each account is
/// new to the node, so the outcome is `Created`, as a user's first `init` is.
pub(crate) fn init_publish(
    app: &EthApp,
    client: &BlockingClient,
    account: u32,
) -> BenchResult<Initialized> {
    let signer = LedgerSigner::connect(app.clone(), DerivationPath::ledger_live(account)?)?;
    let initialized = Session::new(&signer, client).init(InitOptions::default(), &mut |_| {})?;
    if initialized.outcome != InitOutcome::Created {
        return Err(format!("account {account}: expected a new identity").into());
    }
    Ok(initialized)
}

/// Runs `f` `n` times (after `warmup` untimed runs) and returns each run's time.
pub(crate) fn time_each(
    warmup: usize,
    n: usize,
    mut f: impl FnMut() -> BenchResult<()>,
) -> BenchResult<Vec<Duration>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

/// Deterministic filler bytes (xorshift64*), distinct per `seed`.
pub(crate) fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub(crate) fn bench_topic(i: u64) -> String {
    format!("/xmtp/0/m-bench-{i:06}/proto")
}

/// Envelope `i` of the fill: topics round-robin, timestamps increasing, unique bytes.
pub(crate) fn fill_envelope(i: u64, topics: u64, base_ns: u64) -> Envelope {
    Envelope {
        content_topic: bench_topic(i % topics),
        timestamp_ns: base_ns + i * 1_000,
        message: filler(i, MESSAGE_BYTES),
    }
}
