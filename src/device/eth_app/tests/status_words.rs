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
            DeviceErrorKind::WrongApp,
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
            assert!(is_expected(&error), "address {status:#06x}: {error:?}");
            let error = answering(data.clone(), status, 1)
                .sign_personal_message(&path(), b"hi")
                .unwrap_err();
            assert!(is_expected(&error), "sign {status:#06x}: {error:?}");
        }
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
