//! The TCP transport against misbehaving peers: every malformed frame is a typed error, never a
//! panic, a hang or a huge allocation.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use xmtp_ledger::device::{ApduCommand, DerivationPath};
use xmtp_ledger::device::{
    DeviceError, DeviceErrorKind, EthApp, TcpOptions, TcpTransport, Transport,
};

/// A one-connection server that reads one request frame and answers `reply` raw, then closes.
fn peer(reply: Vec<u8>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).unwrap();
        let mut apdu = vec![0u8; u32::from_be_bytes(header) as usize];
        stream.read_exact(&mut apdu).unwrap();
        let _ = stream.write_all(&reply);
        // Keep the socket open a moment so a well-formed reply is read before EOF.
        std::thread::sleep(Duration::from_millis(200));
    });
    address
}

fn options() -> TcpOptions {
    TcpOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Some(Duration::from_secs(2)),
    }
}

fn exchange(reply: Vec<u8>) -> Result<(Vec<u8>, u16), DeviceError> {
    let transport = TcpTransport::connect_with(peer(reply), options()).unwrap();
    let command = ApduCommand::new(0xE0, 0x06, 0, 0, vec![]).unwrap();
    transport
        .exchange(&command)
        .map(|a| (a.data().to_vec(), a.status()))
}

#[test]
fn well_formed_reply_keeps_data_and_status_word() {
    assert_eq!(
        exchange(vec![0, 0, 0, 4, 2, 1, 22, 0, 0x90, 0x00]).unwrap(),
        (vec![2, 1, 22, 0], 0x9000)
    );
    assert_eq!(
        exchange(vec![0, 0, 0, 0, 0x55, 0x15]).unwrap(),
        (vec![], 0x5515)
    );
}

#[test]
fn truncated_replies_are_disconnections() {
    for reply in [
        vec![],
        vec![0, 0],
        vec![0, 0, 0, 4, 2, 1],
        vec![0, 0, 0, 4, 2, 1, 22, 0, 0x90],
    ] {
        let error = exchange(reply.clone()).unwrap_err();
        assert!(
            matches!(error, DeviceError::Disconnected { .. }),
            "{reply:?}: {error:?}"
        );
    }
}

#[test]
fn absurd_lengths_are_malformed_without_allocating() {
    let error = exchange(vec![0xFF, 0xFF, 0xFF, 0xFF]).unwrap_err();
    assert!(matches!(error, DeviceError::Malformed { .. }), "{error:?}");
    assert_eq!(error.kind(), DeviceErrorKind::BadAnswer);
}

#[test]
fn a_peer_answering_garbage_to_an_address_request_is_refused() {
    // 9000 with 10 bytes of data: not an address answer.
    let mut reply = vec![0, 0, 0, 10];
    reply.extend_from_slice(&[0x41; 10]);
    reply.extend_from_slice(&[0x90, 0x00]);
    let app = EthApp::from_transport(TcpTransport::connect_with(peer(reply), options()).unwrap());
    let error = app
        .address(&DerivationPath::ledger_live(0).unwrap())
        .unwrap_err();
    assert!(matches!(error, DeviceError::Malformed { .. }), "{error:?}");
}
