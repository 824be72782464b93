//! The Speculos-compatible APDU socket over real loopback connections, and the binary.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ledger_app::tcp::{TcpServer, read_reply, request_frame};
use ledger_app::{DropConnection, SoftwareDevice};

const ACCOUNT_0: &str = "m/44'/60'/0'/0/0";

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn exchange(stream: &mut TcpStream, apdu: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(&request_frame(apdu))?;
    read_reply(stream)
}

/// True when the server closed the connection (EOF or reset), false if it is still open.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

fn server() -> (Arc<SoftwareDevice>, TcpServer) {
    let device = Arc::new(SoftwareDevice::with_test_mnemonic());
    let server = TcpServer::spawn_ephemeral(Arc::clone(&device)).unwrap();
    (device, server)
}

#[test]
fn reply_frame_is_data_length_then_data_then_status_word() {
    let (_device, server) = server();
    let mut s = connect(server.local_addr());
    s.write_all(&request_frame(&app_config())).unwrap();
    let mut raw = [0u8; 10];
    s.read_exact(&mut raw).unwrap();
    assert_eq!(raw, [0, 0, 0, 4, 0x02, 0x01, 0x16, 0x00, 0x90, 0x00]);
    // A bare status word has length 0.
    s.write_all(&request_frame(&[0xE0, 0x7E, 0, 0])).unwrap();
    let mut raw = [0u8; 6];
    s.read_exact(&mut raw).unwrap();
    assert_eq!(raw, [0, 0, 0, 0, 0x6D, 0x00]);
}

#[test]
fn signs_the_xmtp_text_over_the_socket_in_chunks() {
    let (device, server) = server();
    let mut s = connect(server.local_addr());
    let message = XMTP_TEXT.repeat(6);
    let apdus = personal_sign_apdus(&path(ACCOUNT_0), message.as_bytes(), 255);
    let (last, first) = apdus.split_last().unwrap();
    for a in first {
        assert_eq!(exchange(&mut s, a).unwrap(), [0x90, 0x00]);
    }
    let answer = exchange(&mut s, last).unwrap();
    assert_eq!(sw(&answer), 0x9000);
    assert_eq!(
        recover_address(message.as_bytes(), data(&answer)),
        Some(device.address(&path(ACCOUNT_0)).unwrap().to_lowercase())
    );
    assert_eq!(device.apdu_count(), apdus.len() as u64);
    // Identical to the in-process answer.
    let in_process = send_all(&device, &apdus);
    assert_eq!(answer, in_process);
}

#[test]
fn serves_several_sequential_connections() {
    let (device, server) = server();
    for _ in 0..5 {
        let mut s = connect(server.local_addr());
        let answer = exchange(&mut s, &get_address(&path(ACCOUNT_0), false, false)).unwrap();
        assert_eq!(
            &data(&answer)[67..],
            b"f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
    }
    assert_eq!(device.apdu_count(), 5);
}

#[test]
fn dropped_connection_closes_the_socket_without_answering() {
    let (device, server) = server();
    device.set_drop(DropConnection::NextSignature);
    let mut s = connect(server.local_addr());
    assert_eq!(sw(&exchange(&mut s, &app_config()).unwrap()), 0x9000);
    let apdus = personal_sign_apdus(&path(ACCOUNT_0), XMTP_TEXT.as_bytes(), 255);
    s.write_all(&request_frame(&apdus[0])).unwrap();
    let err = read_reply(&mut s).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
    // A new connection gets the signature.
    let mut s = connect(server.local_addr());
    let answer = exchange(&mut s, &apdus[0]).unwrap();
    assert_eq!(sw(&answer), 0x9000);
}

#[test]
fn oversized_length_closes_the_connection_but_not_the_server() {
    let (device, server) = server();
    let mut s = connect(server.local_addr());
    s.write_all(&[0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
    assert!(closed_by_server(&mut s));
    assert_eq!(device.apdu_count(), 0, "nothing reached the device");
    let mut s = connect(server.local_addr());
    assert_eq!(sw(&exchange(&mut s, &app_config()).unwrap()), 0x9000);
}

#[test]
fn truncated_frames_and_odd_sizes_do_not_hurt_the_server() {
    let (device, server) = server();
    // Closed in the middle of the length header.
    let mut s = connect(server.local_addr());
    s.write_all(&[0, 0]).unwrap();
    drop(s);
    // Closed in the middle of the APDU.
    let mut s = connect(server.local_addr());
    s.write_all(&[0, 0, 0, 5, 0xE0, 0x06]).unwrap();
    drop(s);
    // An empty frame gets no answer (the connection stays open, and the next answer is the
    // next frame's); a long but bounded one is an APDU of the wrong length.
    let mut s = connect(server.local_addr());
    s.write_all(&request_frame(&[])).unwrap();
    assert_eq!(sw(&exchange(&mut s, &[0xE0; 1000]).unwrap()), 0x6A87);
    assert_eq!(sw(&exchange(&mut s, &app_config()).unwrap()), 0x9000);
    assert_eq!(
        device.apdu_count(),
        3,
        "the truncated frames were never exchanged"
    );
}

#[test]
fn shutdown_closes_open_connections_and_stops_listening() {
    let (_device, server) = server();
    let addr = server.local_addr();
    let mut idle = connect(addr);
    assert_eq!(sw(&exchange(&mut idle, &app_config()).unwrap()), 0x9000);
    server.shutdown().unwrap();
    assert!(closed_by_server(&mut idle));
    assert!(TcpStream::connect(addr).is_err(), "still listening");
}

// ----- the binary -----------------------------------------------------------------------------

struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_binary(args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ledger-app"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("XMTP_LEDGER_MNEMONIC")
        .env_remove("XMTP_LEDGER_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("stdout line {line:?}"));
    Running { child, addr }
}

fn control(running: &mut Running, line: &str) {
    let stdin = running.child.stdin.as_mut().unwrap();
    writeln!(stdin, "{line}").unwrap();
    stdin.flush().unwrap();
    // The control thread applies it asynchronously.
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn binary_serves_the_test_key_by_default_and_obeys_control_lines() {
    let mut running = spawn_binary(&["--locked"], &[]);
    let mut s = connect(running.addr);
    assert_eq!(exchange(&mut s, &app_config()).unwrap(), [0x55, 0x15]);
    control(&mut running, "unlock");
    let answer = exchange(&mut s, &get_address(&path(ACCOUNT_0), false, false)).unwrap();
    assert_eq!(
        &data(&answer)[67..],
        b"f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    control(&mut running, "reject");
    let apdus = personal_sign_apdus(&path(ACCOUNT_0), b"hi", 255);
    assert_eq!(exchange(&mut s, &apdus[0]).unwrap(), [0x69, 0x85]);
    control(&mut running, "quit");
    let status = running.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn binary_reads_the_mnemonic_from_env_or_file_never_argv() {
    use ledger_app::SPECULOS_MNEMONIC;
    let expected: &[u8] = b"Dad77910DbDFdE764fC21FCD4E74D71bBACA6D8D";

    let running = spawn_binary(&[], &[("XMTP_LEDGER_MNEMONIC", SPECULOS_MNEMONIC)]);
    let mut s = connect(running.addr);
    let answer = exchange(&mut s, &get_address(&path(ACCOUNT_0), false, false)).unwrap();
    assert_eq!(&data(&answer)[67..], expected);
    drop(running);

    let dir = std::env::temp_dir().join(format!("ledger-app-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mnemonic");
    std::fs::write(&file, format!("  {SPECULOS_MNEMONIC}\n")).unwrap();
    let running = spawn_binary(
        &[
            "--mnemonic-file",
            file.to_str().unwrap(),
            "--app-version",
            "1.21.0",
        ],
        &[(
            "XMTP_LEDGER_MNEMONIC",
            "test test test test test test test test test test test junk",
        )],
    );
    let mut s = connect(running.addr);
    let answer = exchange(&mut s, &get_address(&path(ACCOUNT_0), false, false)).unwrap();
    assert_eq!(
        &data(&answer)[67..],
        expected,
        "the file wins over the environment"
    );
    assert_eq!(
        exchange(&mut s, &app_config()).unwrap(),
        [0x02, 0x01, 0x15, 0x00, 0x90, 0x00]
    );
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);

    // There is no flag that takes a mnemonic.
    let output = Command::new(env!("CARGO_BIN_EXE_ledger-app"))
        .args(["--mnemonic", SPECULOS_MNEMONIC])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn binary_warns_about_the_public_key_and_refuses_a_bad_mnemonic_without_echoing_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_ledger-app"))
        .args(["--listen", "127.0.0.1:0"])
        .env(
            "XMTP_LEDGER_MNEMONIC",
            "zebra secretword test test test test test test test test test junk",
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid BIP-39 mnemonic"), "{stderr}");
    assert!(!stderr.contains("secretword"), "{stderr}");
    assert!(output.stdout.is_empty(), "no address printed");

    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger-app"))
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("XMTP_LEDGER_MNEMONIC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    writeln!(child.stdin.as_mut().unwrap(), "quit").unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WARNING: using the PUBLIC test mnemonic"),
        "{stderr}"
    );
    assert!(stderr.contains("NOT protected by hardware"), "{stderr}");
}
