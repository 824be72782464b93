//! Every status word the app or the OS can answer, the typed error it becomes, and where it
//! surfaces.

use super::*;

/// Every status word class, the variant it must map to, and its kind.
/// (status word, predicate its error must satisfy, its kind).
type StatusCase = (u16, fn(&DeviceError) -> bool, DeviceErrorKind);

fn status_table() -> Vec<StatusCase> {
    vec![
        (
            0x6985,
            |e| matches!(e, DeviceError::Rejected { status: 0x6985 }),
            DeviceErrorKind::Rejected,
        ),
        (
            0x5501,
            |e| matches!(e, DeviceError::Rejected { status: 0x5501 }),
            DeviceErrorKind::Rejected,
        ),
        (
            0x5515,
            |e| matches!(e, DeviceError::Locked { status: 0x5515 }),
            DeviceErrorKind::Locked,
        ),
        (
            0x6804,
            |e| matches!(e, DeviceError::Locked { status: 0x6804 }),
            DeviceErrorKind::Locked,
        ),
        (
            0x6B0C,
            |e| matches!(e, DeviceError::Locked { status: 0x6B0C }),
            DeviceErrorKind::Locked,
        ),
        (
            0x6982,
            |e| matches!(e, DeviceError::Locked { status: 0x6982 }),
            DeviceErrorKind::Locked,
        ),
        (
            0x650F,
            |e| matches!(e, DeviceError::Locked { status: 0x650F }),
            DeviceErrorKind::Locked,
        ),
        (
            0x6D00,
            |e| {
                matches!(
                    e,
                    DeviceError::WrongApp {
                        status: 0x6D00,
                        open_app: None
                    }
                )
            },
            DeviceErrorKind::WrongApp,
        ),
        (
            0x6E00,
            |e| matches!(e, DeviceError::WrongApp { status: 0x6E00, .. }),
            DeviceErrorKind::WrongApp,
        ),
        (
            0x6E01,
            |e| matches!(e, DeviceError::WrongApp { status: 0x6E01, .. }),
            DeviceErrorKind::WrongApp,
        ),
        (
            0x6D02,
            |e| matches!(e, DeviceError::WrongApp { status: 0x6D02, .. }),
            DeviceErrorKind::WrongApp,
        ),
        (
            0x6511,
            |e| matches!(e, DeviceError::WrongApp { status: 0x6511, .. }),
            DeviceErrorKind::WrongApp,
        ),
        (
            0x6A15,
            |e| matches!(e, DeviceError::PathRefused { status: 0x6A15 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6A12,
            |e| matches!(e, DeviceError::PathRefused { status: 0x6A12 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6A80,
            |e| matches!(e, DeviceError::InvalidData { status: 0x6A80 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6A87,
            |e| matches!(e, DeviceError::WrongLength { status: 0x6A87 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6700,
            |e| matches!(e, DeviceError::WrongLength { status: 0x6700 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6B00,
            |e| matches!(e, DeviceError::WrongParameters { status: 0x6B00 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6A84,
            |e| matches!(e, DeviceError::OutOfMemory { status: 0x6A84 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6980,
            |e| matches!(e, DeviceError::CommandNotAllowed { status: 0x6980 }),
            DeviceErrorKind::InvalidRequest,
        ),
        (
            0x6D07,
            |e| matches!(e, DeviceError::NotReady { status: 0x6D07 }),
            DeviceErrorKind::Other,
        ),
        (
            0x6611,
            |e| matches!(e, DeviceError::NotReady { status: 0x6611 }),
            DeviceErrorKind::Other,
        ),
        (
            0x662F,
            |e| matches!(e, DeviceError::NotReady { status: 0x662F }),
            DeviceErrorKind::Other,
        ),
        (
            0x6F00,
            |e| matches!(e, DeviceError::Status { status: 0x6F00 }),
            DeviceErrorKind::Other,
        ),
        (
            0x6881,
            |e| matches!(e, DeviceError::Status { status: 0x6881 }),
            DeviceErrorKind::Other,
        ),
        (
            0x1234,
            |e| matches!(e, DeviceError::Status { status: 0x1234 }),
            DeviceErrorKind::Other,
        ),
        (
            0x0000,
            |e| matches!(e, DeviceError::Status { status: 0x0000 }),
            DeviceErrorKind::Other,
        ),
        (
            0xFFFF,
            |e| matches!(e, DeviceError::Status { status: 0xFFFF }),
            DeviceErrorKind::Other,
        ),
        // 0x9000 never reaches from_status from the client, but must not become success.
        (
            0x9000,
            |e| matches!(e, DeviceError::Status { status: 0x9000 }),
            DeviceErrorKind::Other,
        ),
    ]
}

#[test]
fn every_status_word_maps_to_its_typed_error_and_is_kept() {
    for (status, is_expected, kind) in status_table() {
        let error = DeviceError::from_status(status);
        assert!(is_expected(&error), "{status:#06x} gave {error:?}");
        assert_eq!(error.kind(), kind, "{status:#06x}");
        assert_eq!(error.status_word(), Some(status));
        // The number is always in the message, for bug reports.
        let text = error.to_string();
        assert!(
            text.to_lowercase().contains(&format!("{status:#06x}")),
            "{status:#06x}: {text}"
        );
    }
}

#[test]
fn every_status_word_surfaces_from_every_command() {
    for (status, is_expected, _) in status_table() {
        if status == 0x9000 {
            continue;
        }
        // Status words come with no data, and a stray data byte must not hide them.
        for data in [vec![], vec![0x01]] {
            let error = answering(data.clone(), status, 1)
                .app_configuration()
                .unwrap_err();
            assert!(is_expected(&error), "config {status:#06x}: {error:?}");
            let error = answering(data.clone(), status, 1)
                .get_address(&path(), AddressOptions::default())
                .unwrap_err();
            // An address request carries only the path: its "incorrect data" is the path.
            if status == sw::INCORRECT_DATA {
                assert!(
                    matches!(error, DeviceError::PathRefused { status: 0x6A80 }),
                    "address {status:#06x}: {error:?}"
                );
            } else {
                assert!(is_expected(&error), "address {status:#06x}: {error:?}");
            }
            let error = answering(data.clone(), status, 1)
                .sign_personal_message(&path(), b"hi")
                .unwrap_err();
            assert!(is_expected(&error), "sign {status:#06x}: {error:?}");
        }
    }
}

#[test]
fn a_path_the_app_refuses_is_path_refused_and_an_invalid_request() {
    for status in [0x6A15, 0x6A12, 0x6A80] {
        for confirm in [false, true] {
            let options = AddressOptions {
                confirm,
                chain_code: false,
            };
            let error = answering(vec![], status, 1)
                .get_address(&path(), options)
                .unwrap_err();
            assert!(
                matches!(error, DeviceError::PathRefused { status: s } if s == status),
                "{status:#06x}: {error:?}"
            );
            assert_eq!(error.kind(), DeviceErrorKind::InvalidRequest);
            assert_eq!(error.status_word(), Some(status));
            let text = error.to_string();
            assert!(
                text.contains("refuses this derivation path") && text.contains("m/44'/60'/"),
                "{text}"
            );
        }
    }
    // A message's 6A80 has other causes (a chunk out of sequence): it stays "invalid data".
    let error = answering(vec![], 0x6A80, 1)
        .sign_personal_message(&path(), b"hi")
        .unwrap_err();
    assert!(matches!(error, DeviceError::InvalidData { status: 0x6A80 }));
    // 6A15 and 6A12 mean the path whatever the command.
    for status in [0x6A15, 0x6A12] {
        let error = answering(vec![], status, 1)
            .sign_personal_message(&path(), b"hi")
            .unwrap_err();
        assert!(
            matches!(error, DeviceError::PathRefused { .. }),
            "{error:?}"
        );
    }
}

/// The official app's 6A87 answers carry stale bytes of its I/O buffer: the new APDU over the
/// rest of its previous answer (`ethapp-apdus.json`), which can look like a whole valid answer.
#[test]
fn data_that_comes_with_an_error_status_is_never_parsed() {
    let config = vec![0x02, 1, 22, 0];
    let address = address_answer(&key());
    let signature = device_signature(&key(), b"hi");
    let app_and_version = app_and_version_answer(b"Ethereum", b"1.22.0", Some(&[0]));
    for status in [0x6A87, 0x6985, 0x6E00, 0x1234] {
        let expected = DeviceError::from_status(status);
        let same = |error: &DeviceError| {
            std::mem::discriminant(error) == std::mem::discriminant(&expected)
        };
        let error = answering(config.clone(), status, 1)
            .app_configuration()
            .unwrap_err();
        assert!(same(&error), "config {status:#06x}: {error:?}");
        assert_eq!(error.status_word(), Some(status));
        let error = answering(app_and_version.clone(), status, 1)
            .app_and_version()
            .unwrap_err();
        assert!(same(&error), "app and version {status:#06x}: {error:?}");
        let error = answering(address.clone(), status, 1)
            .get_address(&path(), AddressOptions::default())
            .unwrap_err();
        assert!(same(&error), "address {status:#06x}: {error:?}");
        assert_eq!(error.status_word(), Some(status));
        // A signature with an error status is no signature, and a chunk's error is not an
        // unexpected-data complaint.
        let error = answering(signature.clone(), status, 1)
            .sign_personal_message(&path(), b"hi")
            .unwrap_err();
        assert!(same(&error), "sign {status:#06x}: {error:?}");
        let error = answering(signature.clone(), status, 1)
            .sign_personal_message(&path(), &[b'x'; 600])
            .unwrap_err();
        assert!(same(&error), "chunk {status:#06x}: {error:?}");
        assert_eq!(error.status_word(), Some(status));
    }
}

#[test]
fn messages_are_actionable() {
    let locked = DeviceError::from_status(0x5515).to_string();
    assert!(
        locked.contains("locked") && locked.contains("unlock"),
        "{locked}"
    );
    let dashboard = DeviceError::from_status(0x6E01).to_string();
    assert!(dashboard.contains("dashboard") && dashboard.contains("open the Ethereum app"));
    let other = DeviceError::WrongApp {
        status: 0x9000,
        open_app: Some("Bitcoin".into()),
    }
    .to_string();
    assert!(other.contains("\"Bitcoin\"") && other.contains("open the Ethereum app"));
    assert!(!other.contains("0x9000"), "{other}");
    assert!(
        DeviceError::from_status(0x6985)
            .to_string()
            .contains("rejected")
    );
    assert!(
        DeviceError::from_status(0x6A84)
            .to_string()
            .contains("shorter")
    );
    assert!(
        DeviceError::from_status(0x1234)
            .to_string()
            .contains("unknown status 0x1234")
    );
    assert!(
        DeviceError::from_status(0x6F00)
            .to_string()
            .contains("technical problem")
    );
}
