//! How long the device layer waits: a command the device answers by itself gets
//! `DeviceError::Timeout` after the app client's timeout, whatever the transport (TCP, the
//! software device in process); a command that waits for a person waits as long as they take.
//! After a timeout on a link (TCP), the transport refuses to read a late, stale answer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger_app::tcp::TcpServer;
use ledger_app::{ApprovalPolicy, Faults, SoftwareDevice};
use xmtp_ledger::device::{
    AddressOptions, DerivationPath, DeviceError, DeviceErrorKind, EthApp, InProcessTransport,
    TcpOptions, TcpTransport,
};

const LIMIT: Duration = Duration::from_millis(300);

/// Options as the CLI sets them: no read timeout of the transport's own.
fn unbounded() -> TcpOptions {
    TcpOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: None,
    }
}

/// A peer that accepts connections and runs `serve` on each, on its own thread.
fn peer(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = Arc::clone(&serve);
            std::thread::spawn(move || serve(stream));
        }
    });
    address
}

/// Reads one request frame.
fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).ok()?;
    let mut apdu = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut apdu).ok()?;
    Some(apdu)
}

/// The reply frame of an app configuration answer (version 1.22.0).
const CONFIG_REPLY: [u8; 10] = [0, 0, 0, 4, 2, 1, 22, 0, 0x90, 0x00];

fn app(address: SocketAddr) -> EthApp {
    EthApp::from_transport(TcpTransport::connect_with(address, unbounded()).unwrap())
        .with_timeout(LIMIT)
}

fn assert_timed_out(result: Result<impl std::fmt::Debug, DeviceError>, started: Instant) {
    let elapsed = started.elapsed();
    let error = result.unwrap_err();
    assert!(
        matches!(error, DeviceError::Timeout { after } if after == LIMIT),
        "{error:?}"
    );
    assert_eq!(error.kind(), DeviceErrorKind::Timeout);
    // A hang guard, not a speed target.
    assert!(
        elapsed >= LIMIT && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

/// One command of the app client, its answer dropped.
type Call = fn(&EthApp, &DerivationPath) -> Result<(), DeviceError>;

#[test]
fn a_silent_device_times_out_on_every_command_that_needs_no_approval() {
    // Accepts, reads, never answers.
    let silent = peer(|mut stream| while read_request(&mut stream).is_some() {});
    let path = DerivationPath::ledger_live(0).unwrap();
    let calls: [(&str, Call); 4] = [
        ("app configuration", |app, _| {
            app.app_configuration().map(drop)
        }),
        ("app and version", |app, _| app.app_and_version().map(drop)),
        ("ensure Ethereum app", |app, _| {
            app.ensure_ethereum_app().map(drop)
        }),
        ("address", |app, path| {
            app.get_address(path, AddressOptions::default()).map(drop)
        }),
    ];
    for (what, call) in calls {
        let app = app(silent);
        let started = Instant::now();
        let result = call(&app, &path);
        eprintln!("{what}: {result:?}");
        assert_timed_out(result, started);
    }
}

#[test]
fn the_whole_answer_is_bounded_not_each_read() {
    // Trickles a valid answer one byte every 100 ms: each read is quick, the whole takes 1 s.
    let trickling = peer(|mut stream| {
        if read_request(&mut stream).is_some() {
            for byte in CONFIG_REPLY {
                if stream.write_all(&[byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    let started = Instant::now();
    assert_timed_out(app(trickling).app_configuration(), started);
}

#[test]
fn after_a_timeout_a_late_answer_is_never_taken_for_the_next_one() {
    // Answers every request, each after 600 ms: the first answer arrives after its deadline.
    let late = peer(|mut stream| {
        while read_request(&mut stream).is_some() {
            std::thread::sleep(Duration::from_millis(600));
            if stream.write_all(&CONFIG_REPLY).is_err() {
                return;
            }
        }
    });
    let app = app(late);
    let started = Instant::now();
    assert_timed_out(app.app_configuration(), started);
    // Let the late answer arrive, then ask again: refused, not answered with it.
    std::thread::sleep(Duration::from_millis(800));
    let error = app
        .get_address(
            &DerivationPath::ledger_live(0).unwrap(),
            AddressOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::Disconnected { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("earlier exchange"), "{error}");
}

#[test]
fn a_device_that_answers_in_time_is_unaffected() {
    let prompt = peer(|mut stream| {
        while read_request(&mut stream).is_some() {
            std::thread::sleep(Duration::from_millis(50));
            if stream.write_all(&CONFIG_REPLY).is_err() {
                return;
            }
        }
    });
    let app = app(prompt);
    for _ in 0..3 {
        assert_eq!(
            app.app_configuration().unwrap().version.to_string(),
            "1.22.0"
        );
    }
}

/// A software device whose person takes `pace` over each review, then approves.
fn slow_person(pace: Duration) -> Arc<SoftwareDevice> {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    device.set_approval(ApprovalPolicy::ask(move |_| {
        std::thread::sleep(pace);
        true
    }));
    device
}

#[test]
fn approvals_are_never_cut_by_the_timeout() {
    let device = slow_person(LIMIT * 3);
    let server = TcpServer::spawn_ephemeral(Arc::clone(&device)).unwrap();
    let path = DerivationPath::ledger_live(0).unwrap();
    let over_tcp = app(server.local_addr());
    let over_memory =
        EthApp::from_transport(InProcessTransport::new(Arc::clone(&device))).with_timeout(LIMIT);
    for app in [over_tcp, over_memory] {
        // Needs no approval: answered at once.
        app.ensure_ethereum_app().unwrap();
        let started = Instant::now();
        let shown = app
            .get_address(
                &path,
                AddressOptions {
                    confirm: true,
                    chain_code: false,
                },
            )
            .unwrap();
        assert_eq!(shown.address, app.address(&path).unwrap());
        // Two chunks (300 bytes), then the review.
        app.sign_personal_message(&path, &[b'x'; 300]).unwrap();
        assert!(started.elapsed() >= LIMIT * 6, "{:?}", started.elapsed());
    }
}

#[test]
fn the_software_device_in_process_times_out_too_and_stays_usable() {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    device.set_faults(Faults {
        delay: Some(LIMIT * 2),
        ..Faults::default()
    });
    let app =
        EthApp::from_transport(InProcessTransport::new(Arc::clone(&device))).with_timeout(LIMIT);
    let started = Instant::now();
    assert_timed_out(app.app_configuration(), started);
    // Each answer goes back to the call that asked: nothing stale can be read, so the
    // transport keeps working once the device is fast again.
    device.clear_faults();
    std::thread::sleep(LIMIT * 2);
    assert_eq!(
        app.app_configuration().unwrap().version.to_string(),
        "1.22.0"
    );
}
