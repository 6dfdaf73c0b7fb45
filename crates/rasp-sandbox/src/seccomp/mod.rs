//! seccomp-bpf: the policy IR, presets, OCI import/export and the BPF
//! compiler.
//!
//! Compiling is pure ([`SeccompPolicy::compile`]); installing happens only
//! inside [`Lockdown::apply`](crate::Lockdown::apply), with TSYNC so every
//! thread gets the filter at once.

mod bpf;
mod oci;
mod policy;
mod presets;
pub(crate) mod table;

pub use bpf::{BpfProgram, ViolationMode, MAX_INSNS};
pub use oci::{OciArchMap, OciArg, OciContext, OciFilter, OciImport, OciProfile, OciSyscall};
pub use policy::{Action, Cmp, Condition, Rule, SeccompPolicy, Width, ALWAYS_ALLOWED};
pub use presets::{restricted_v1, runtime_default_v1, Preset};

use crate::error::SeccompError;

impl SeccompPolicy {
    /// The latest `restricted` preset ([`Preset::RestrictedV1`]).
    pub fn restricted() -> Self {
        restricted_v1()
    }

    /// The latest `runtime_default` preset ([`Preset::RuntimeDefaultV1`]).
    pub fn runtime_default() -> Self {
        runtime_default_v1()
    }

    /// Compiles the policy to BPF for the given violation mode (pure).
    pub fn compile(&self, mode: ViolationMode) -> Result<BpfProgram, SeccompError> {
        bpf::compile(self, mode, crate::sys::sigsys::audit_gadget_ip())
    }
}

/// The x86_64 number of a syscall name.
pub fn syscall_number(name: &str) -> Option<u32> {
    table::number(name)
}

/// The name of an x86_64 syscall number.
pub fn syscall_name(nr: u32) -> Option<&'static str> {
    table::name(nr)
}

/// `SECCOMP_FILTER_FLAG_TSYNC`.
pub(crate) const FLAG_TSYNC: u32 = 1;
/// `SECCOMP_FILTER_FLAG_LOG`.
pub(crate) const FLAG_LOG: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_dir() -> std::path::PathBuf {
        std::env::var_os("RASP_SECCOMP_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seccomp")
            })
    }

    fn load(name: &str, caps: u64) -> (SeccompPolicy, OciImport) {
        let path = shared_dir().join(name);
        SeccompPolicy::from_oci_file(&path, &OciContext::current().with_capabilities(caps))
            .unwrap_or_else(|e| panic!("{}: {e:?} (set RASP_SECCOMP_DIR)", path.display()))
    }

    #[test]
    fn seed_profile_imports() {
        let (p, report) = load("seed-restricted.json", 0);
        assert!(report.skipped_names.is_empty(), "{report:?}");
        assert_eq!(p.len(), 109, "the seed lists 109 distinct x86_64 syscalls");
        assert_eq!(p.action_for("execve"), Some(Action::Allow));
        assert_eq!(p.action_for("ptrace"), Some(Action::EPERM));
        assert_eq!(
            p.action_for("clone3"),
            Some(Action::EPERM),
            "seed gives EPERM"
        );
    }

    #[test]
    fn docker_profile_resolves_against_capabilities() {
        let (none, report) = load("docker-default.json", 0);
        assert!(report.skipped_names.contains(&"chown32".to_string()));
        assert!(report
            .skipped_entries
            .iter()
            .any(|e| e.contains("CAP_SYS_ADMIN")));
        assert_eq!(none.action_for("clone3"), Some(Action::ENOSYS));
        assert_eq!(none.action_for("mount"), Some(Action::EPERM));
        assert_eq!(none.action_for("bpf"), Some(Action::EPERM));
        assert_eq!(
            none.action_for("ptrace"),
            Some(Action::Allow),
            "minKernel 4.8"
        );
        // socket(AF_VSOCK | 1<<32): the int argument is compared on 32 bits.
        assert_eq!(
            none.evaluate(41, &[40 | (1 << 32), 1, 0, 0, 0, 0]),
            Action::EPERM
        );
        let sys_admin = 1u64 << 21;
        let (admin, _) = load("docker-default.json", sys_admin);
        assert_eq!(admin.action_for("clone3"), Some(Action::Allow));
        assert_eq!(admin.action_for("mount"), Some(Action::Allow));
        assert_eq!(admin.action_for("bpf"), Some(Action::Allow));
        assert!(
            none.compile(ViolationMode::Enforce)
                .expect("compiles")
                .len()
                < MAX_INSNS
        );
    }

    /// The built-in runtime_default preset and moby's file agree on every
    /// x86_64 syscall (for a process without capabilities).
    #[test]
    fn runtime_default_matches_docker_file() {
        let (docker, _) = load("docker-default.json", 0);
        let preset = SeccompPolicy::runtime_default();
        let mut seed = 7u64;
        for &(name, nr) in table::SYSCALLS {
            for _ in 0..8 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                let mut args = [seed % 64, seed >> 40, 0, 0, 0, 0];
                if seed % 3 == 0 {
                    args[0] = seed;
                }
                assert_eq!(
                    preset.evaluate(nr, &args),
                    docker.evaluate(nr, &args),
                    "{name} {args:?}"
                );
            }
        }
    }

    #[test]
    fn oci_export_round_trips() {
        for p in [
            SeccompPolicy::restricted(),
            SeccompPolicy::runtime_default(),
            load("docker-default.json", 0).0,
            load("seed-restricted.json", 0).0,
        ] {
            let json = p.to_oci_json();
            let (back, report) =
                SeccompPolicy::from_oci_json(&json, &OciContext::current()).expect("re-import");
            assert!(report.skipped_names.is_empty());
            assert_eq!(back, p, "export then import must give the same policy");
        }
    }

    #[test]
    fn oci_errors_are_reported_not_panics() {
        let ctx = OciContext::current();
        for (json, what) in [
            ("{", "json"),
            (r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#, "action"),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_AARCH64"]}"#,
                "arch",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":9,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
                "index",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_BOGUS"}]}]}"#,
                "op",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["read"],"action":"SCMP_ACT_LOG"}]}"#,
                "conflict",
            ),
        ] {
            assert!(SeccompPolicy::from_oci_json(json, &ctx).is_err(), "{what}");
        }
    }
}
