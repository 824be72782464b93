//! [`Custodian`]: the signing policy and the audit log of one run, as the
//! [`SignGuard`] each of its signers calls.

use std::sync::{Arc, Mutex, PoisonError};

use crate::device::{DerivationPath, DeviceError, GuardError, SignGuard, SignRequest};

use super::audit::{
    AccountRefusal, AuditError, AuditLog, DeviceInfo, Entry, RunRecord, SignatureRecord, sha256_hex,
};
use super::confirmed::ConfirmedAccounts;
use super::policy::Policy;
use super::text::TextKind;

/// The decision recorded for a request the policy refused.
pub const REFUSED_BY_POLICY: &str = "refused_by_policy";

#[derive(Debug, Default)]
struct RunState {
    /// Sign requests sent to the device so far.
    requests: u32,
    /// The request the device is answering now (recorded as cancelled if the run ends
    /// before it answers).
    pending: Option<SignatureRecord>,
    /// Whether any signer was asked for (only such runs get a run record).
    used: bool,
}

/// One run's policy and audit log. Its signers share the run's count of requests.
#[derive(Debug)]
pub struct Custodian {
    log: Option<AuditLog>,
    policy: Option<Policy>,
    confirmed: ConfirmedAccounts,
    state: Mutex<RunState>,
}

impl Custodian {
    /// A run that writes to `log` (if any) and enforces `policy` (if any), with the
    /// accounts `confirmed` on the device so far.
    pub fn new(
        log: Option<AuditLog>,
        policy: Option<Policy>,
        confirmed: ConfirmedAccounts,
    ) -> Self {
        Self {
            log,
            policy,
            confirmed,
            state: Mutex::default(),
        }
    }

    /// The audit log, if this run writes one.
    pub fn log(&self) -> Option<&AuditLog> {
        self.log.as_ref()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn append(&self, entry: &Entry) -> Result<(), AuditError> {
        match &self.log {
            Some(log) => log.append(entry).map(drop),
            None => Ok(()),
        }
    }

    /// Whether the account at `path` may be used: call it before the device is opened.
    /// A refusal is recorded in the log and returned as [`DeviceError::PolicyRefused`].
    pub fn check_path(&self, path: &DerivationPath) -> Result<(), DeviceError> {
        self.state().used = true;
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        if let Err(reason) = policy.check_path(path) {
            self.append(&Entry::AccountRefused(AccountRefusal {
                hd_path: path.to_string(),
                decision: REFUSED_BY_POLICY.into(),
                reason: reason.clone(),
            }))
            .map_err(|e| DeviceError::NotRecorded {
                reason: e.to_string(),
            })?;
            return Err(DeviceError::PolicyRefused { reason });
        }
        Ok(())
    }

    /// The guard for a signer on the device described by `device`.
    pub fn guard(self: &Arc<Self>, device: DeviceInfo) -> Arc<dyn SignGuard> {
        Arc::new(DeviceGuard {
            custodian: Arc::clone(self),
            device,
        })
    }

    /// Records the end of the run (only if it asked for a signer): `run` with what it
    /// published and how it exited. A request still waiting for the device is recorded
    /// first, as `cancelled`.
    pub fn finish(&self, run: RunRecord) -> Result<(), AuditError> {
        let (used, pending) = {
            let mut state = self.state();
            (state.used, state.pending.take())
        };
        if let Some(mut record) = pending {
            record.decision = "cancelled".into();
            self.append(&Entry::Signature(record))?;
        }
        if used {
            self.append(&Entry::Run(run))?;
        }
        Ok(())
    }
}

/// A [`Custodian`]'s guard for one device.
#[derive(Debug)]
struct DeviceGuard {
    custodian: Arc<Custodian>,
    device: DeviceInfo,
}

impl DeviceGuard {
    fn record(&self, request: &SignRequest<'_>, decision: &str) -> SignatureRecord {
        let kind = TextKind::of(request.text);
        SignatureRecord {
            device: self.device.clone(),
            hd_path: request.path.to_string(),
            address: request.address.to_checksum(),
            purpose: kind.name().into(),
            text_sha256: sha256_hex(request.text.as_bytes()),
            text: kind.is_public().then(|| request.text.to_owned()),
            decision: decision.into(),
            reason: None,
        }
    }
}

fn not_recorded(error: AuditError) -> GuardError {
    GuardError::Failed(error.to_string())
}

impl SignGuard for DeviceGuard {
    fn before_sign(&self, request: &SignRequest<'_>) -> Result<(), GuardError> {
        let custodian = &self.custodian;
        let mut state = custodian.state();
        let number = state.requests.saturating_add(1);
        if let Some(policy) = &custodian.policy
            && let Err(reason) = policy.check_request(
                request.path,
                &request.address,
                request.text,
                number,
                &custodian.confirmed,
            )
        {
            drop(state);
            let mut record = self.record(request, REFUSED_BY_POLICY);
            record.reason = Some(reason.clone());
            custodian
                .append(&Entry::Signature(record))
                .map_err(not_recorded)?;
            return Err(GuardError::Refused(reason));
        }
        state.requests = number;
        state.pending = Some(self.record(request, "pending"));
        Ok(())
    }

    fn after_sign(
        &self,
        request: &SignRequest<'_>,
        outcome: Result<(), &DeviceError>,
    ) -> Result<(), GuardError> {
        let custodian = &self.custodian;
        custodian.state().pending = None;
        // A refusal on the device is `rejected`, as the CLI's error code names it.
        let decision = outcome.map_or_else(DeviceError::code, |()| "approved");
        custodian
            .append(&Entry::Signature(self.record(request, decision)))
            .map_err(not_recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::LedgerSigner;
    use crate::device::testing::fake_app;
    use crate::identity::eip191;
    use crate::signer::sign_verified;

    /// INS of the Ethereum app's personal_sign.
    const SIGN_PERSONAL_MESSAGE: u8 = 0x08;

    fn custodian(policy: &str) -> (tempfile::TempDir, Arc<Custodian>) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
        let policy = Policy::from_toml(policy).unwrap();
        let custodian = Custodian::new(Some(log), Some(policy), ConfirmedAccounts::default());
        (dir, Arc::new(custodian))
    }

    fn records(dir: &tempfile::TempDir) -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.path().join("audit.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn an_account_outside_the_policy_is_refused_and_recorded() {
        let (dir, custodian) = custodian("accounts = [\"m/44'/60'/*'/0/0\"]");
        custodian
            .check_path(&DerivationPath::ledger_live(7).unwrap())
            .unwrap();
        let legacy = DerivationPath::legacy(0).unwrap();
        assert!(matches!(
            custodian.check_path(&legacy),
            Err(DeviceError::PolicyRefused { .. })
        ));
        let records = records(&dir);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["kind"], "account_refused");
        assert_eq!(records[0]["hd_path"], "m/44'/60'/0'/0");
        assert_eq!(records[0]["decision"], REFUSED_BY_POLICY);
    }

    #[test]
    fn a_text_outside_the_policy_never_reaches_the_sign_apdu() {
        let (dir, custodian) = custodian("texts = [\"create_identity\"]\nmax_approvals = 2");
        let (app, state) = fake_app();
        let signer = LedgerSigner::connect(app, DerivationPath::ledger_live(0).unwrap())
            .unwrap()
            .with_guard(custodian.guard(DeviceInfo::default()));
        let sign_apdus = || {
            state
                .lock()
                .unwrap()
                .log
                .iter()
                .filter(|c| c.ins() == SIGN_PERSONAL_MESSAGE)
                .count()
        };

        let enable = eip191::enable_identity_text(&[5; 32]);
        assert!(sign_verified(&signer, &enable).is_err());
        assert_eq!(sign_apdus(), 0, "refused before its first sign APDU");

        let create = eip191::create_identity_text(&[1, 2, 3]);
        sign_verified(&signer, &create).unwrap();
        sign_verified(&signer, &create).unwrap();
        let sent = sign_apdus();
        assert!(sent >= 2);
        // The third request is past max_approvals: refused, nothing sent.
        assert!(sign_verified(&signer, &create).is_err());
        assert_eq!(sign_apdus(), sent);

        let records = records(&dir);
        let decisions: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r["purpose"].as_str().unwrap(),
                    r["decision"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            decisions,
            [
                ("enable_identity", REFUSED_BY_POLICY),
                ("create_identity", "approved"),
                ("create_identity", "approved"),
                ("create_identity", REFUSED_BY_POLICY),
            ]
        );
        // The Enable Identity text is never written down; the public text is.
        assert!(records[0].get("text").is_none());
        assert_eq!(records[1]["text"], create);
        assert!(
            records[3]["reason"]
                .as_str()
                .unwrap()
                .contains("max_approvals")
        );
    }

    #[test]
    fn a_request_cut_short_is_recorded_as_cancelled_before_the_run() {
        let (dir, custodian) = custodian("");
        custodian
            .check_path(&DerivationPath::ledger_live(0).unwrap())
            .unwrap();
        let guard = custodian.guard(DeviceInfo::default());
        let path = DerivationPath::ledger_live(0).unwrap();
        let request = SignRequest {
            path: &path,
            address: crate::device::testing::device_address(),
            text: "hello",
        };
        guard.before_sign(&request).unwrap();
        custodian
            .finish(RunRecord {
                command: "init".into(),
                node: None,
                published: Vec::new(),
                exit_code: 130,
                error: Some("cancelled".into()),
            })
            .unwrap();
        let records = records(&dir);
        assert_eq!(records[0]["decision"], "cancelled");
        assert_eq!(records[0]["purpose"], "other");
        assert!(
            records[0].get("text").is_none(),
            "an unknown text is not written"
        );
        assert_eq!(records[1]["kind"], "run");
        assert_eq!(records[1]["exit_code"], 130);
    }
}
