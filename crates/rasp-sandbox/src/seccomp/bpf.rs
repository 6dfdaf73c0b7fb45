//! Compiles a [`SeccompPolicy`] to a classic BPF program. Pure: nothing is
//! installed here.
//!
//! Layout (one filter, whatever the mix of actions):
//!
//! ```text
//!   ld  arch ; jeq AUDIT_ARCH_X86_64 ? +1 : kill-process   (other ABIs killed)
//!   [audit-only: ld ip ; jeq gadget ? allow]               (see sys::sigsys)
//!   ld  nr   ; jgt MAX_NR ? ret unknown_action             (newer syscalls, x32)
//!   jeq nr_k ? ret action_k | ja block_k                   (one pair per syscall)
//!   ret default_action
//!   block_k: rule… (conditions, ret action), ret default_action
//! ```
//!
//! A linear chain rather than a binary tree: syscalls whose result does not
//! depend on arguments are answered by the kernel's constant-action bitmap
//! (Linux 5.11) without running the program at all, and for the rest the
//! chain costs tens of ns (sandbox-facts d).

use super::policy::{Action, Cmp, Condition, Rule, SeccompPolicy, Width, ALWAYS_ALLOWED};
use super::table;
use crate::error::SeccompError;
use crate::sys::sigsys::{AUDIT_REISSUE, ERRNO_MASK, RULE_SHIFT};

/// How denials are carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ViolationMode {
    /// Denied syscalls fail with their errno, silently (the kernel audit log
    /// records them when [`kernel_log`](crate::LockdownBuilder::kernel_log)
    /// is on). Default.
    #[default]
    Enforce,
    /// Denied syscalls raise SIGSYS; the handler makes them fail with their
    /// errno and records a [`Violation`](crate::Violation). The process
    /// lives on.
    Trap,
    /// Nothing is denied: syscalls the policy would deny are recorded as
    /// violations and then run. For finding what a service needs before
    /// enforcing. Thread-creating calls (`clone`, `clone3`, `fork`, `vfork`)
    /// cannot be re-run from a signal handler and are logged by the kernel
    /// (`SECCOMP_RET_LOG`) instead of recorded.
    AuditOnly,
}

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JA: u16 = 0x05;
const RET_K: u16 = 0x06;
const AND_K: u16 = 0x54;

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// Syscalls that create a task: re-running them from the SIGSYS handler
/// would start the child on the handler's frame.
const TASK_CREATING: &[u32] = &[56, 57, 58, 435];

/// A compiled filter, ready to install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BpfProgram {
    insns: Vec<(u16, u8, u8, u32)>,
}

impl BpfProgram {
    /// Number of instructions.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether the program is empty (never true for a compiled policy).
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// Instructions as `(code, jt, jf, k)`.
    pub fn instructions(&self) -> &[(u16, u8, u8, u32)] {
        &self.insns
    }

    pub(crate) fn to_sock_filter(&self) -> Vec<libc::sock_filter> {
        self.insns
            .iter()
            .map(|&(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
            .collect()
    }
}

#[derive(Clone, Copy)]
enum T {
    /// Relative offset.
    Rel(u8),
    /// End of the current condition (it holds).
    Next,
    /// End of the current rule (it does not match).
    Fail,
}

#[derive(Clone, Copy)]
struct CI {
    code: u16,
    jt: T,
    jf: T,
    k: u32,
}

fn ld(off: u32) -> CI {
    CI {
        code: LD_W_ABS,
        jt: T::Rel(0),
        jf: T::Rel(0),
        k: off,
    }
}

fn j(code: u16, k: u32, jt: T, jf: T) -> CI {
    CI { code, jt, jf, k }
}

fn and(k: u32) -> CI {
    CI {
        code: AND_K,
        jt: T::Rel(0),
        jf: T::Rel(0),
        k,
    }
}

fn condition_code(c: &Condition) -> Vec<CI> {
    use T::{Fail, Next, Rel};
    let lo = 16 + 8 * u32::from(c.arg);
    let hi = lo + 4;
    let vl = c.value as u32;
    let vh = (c.value >> 32) as u32;
    match c.width {
        Width::Dword => {
            let mut v = vec![ld(lo)];
            v.extend(match c.op {
                Cmp::Eq => vec![j(JEQ_K, vl, Next, Fail)],
                Cmp::Ne => vec![j(JEQ_K, vl, Fail, Next)],
                Cmp::Gt => vec![j(JGT_K, vl, Next, Fail)],
                Cmp::Ge => vec![j(JGE_K, vl, Next, Fail)],
                Cmp::Lt => vec![j(JGE_K, vl, Fail, Next)],
                Cmp::Le => vec![j(JGT_K, vl, Fail, Next)],
                Cmp::MaskedEq(m) => vec![and(m as u32), j(JEQ_K, vl, Next, Fail)],
            });
            v
        }
        Width::Qword => match c.op {
            Cmp::Eq => vec![
                ld(hi),
                j(JEQ_K, vh, Rel(0), Fail),
                ld(lo),
                j(JEQ_K, vl, Next, Fail),
            ],
            Cmp::Ne => vec![
                ld(hi),
                j(JEQ_K, vh, Rel(0), Next),
                ld(lo),
                j(JEQ_K, vl, Fail, Next),
            ],
            Cmp::Gt | Cmp::Ge => vec![
                ld(hi),
                j(JGT_K, vh, Next, Rel(0)),
                j(JEQ_K, vh, Rel(0), Fail),
                ld(lo),
                j(if c.op == Cmp::Gt { JGT_K } else { JGE_K }, vl, Next, Fail),
            ],
            Cmp::Lt | Cmp::Le => vec![
                ld(hi),
                j(JGT_K, vh, Fail, Rel(0)),
                j(JEQ_K, vh, Rel(0), Next),
                ld(lo),
                j(if c.op == Cmp::Lt { JGE_K } else { JGT_K }, vl, Fail, Next),
            ],
            Cmp::MaskedEq(m) => vec![
                ld(hi),
                and((m >> 32) as u32),
                j(JEQ_K, vh, Rel(0), Fail),
                ld(lo),
                and(m as u32),
                j(JEQ_K, vl, Next, Fail),
            ],
        },
    }
}

/// `SECCOMP_RET_DATA` bits 12–14 of a trap: which rule of the syscall
/// decided (0–5), 6 for "rule 6 or later", 7 for the default action. The
/// handler copies them into the [`Violation`](crate::Violation).
fn rule_tag(rule: Option<usize>) -> u32 {
    (rule.map_or(7, |i| i.min(6)) as u32) << RULE_SHIFT
}

fn ret_value(
    action: Action,
    mode: ViolationMode,
    nr: Option<u32>,
    rule: Option<usize>,
) -> Result<u32, SeccompError> {
    let errno_of = |a: Action| -> Result<u32, SeccompError> {
        match a {
            Action::Errno(e) if u32::from(e) > ERRNO_MASK => Err(SeccompError::BadErrno(e)),
            Action::Errno(e) => Ok(u32::from(e)),
            _ => Ok(libc::EPERM as u32),
        }
    };
    Ok(match (mode, action) {
        (_, Action::Allow) => RET_ALLOW,
        (_, Action::Log) => RET_LOG,
        (ViolationMode::Enforce, Action::Errno(_)) => RET_ERRNO | errno_of(action)?,
        (ViolationMode::Enforce, Action::Trap) => RET_TRAP | rule_tag(rule) | libc::EPERM as u32,
        (ViolationMode::Enforce | ViolationMode::Trap, Action::KillThread) => RET_KILL_THREAD,
        (ViolationMode::Enforce | ViolationMode::Trap, Action::KillProcess) => RET_KILL_PROCESS,
        // ENOSYS is the expected answer for syscalls with fallbacks, not a
        // violation; and glibc's pthread_create/posix_spawn block every
        // signal around clone/clone3, so a trap there is turned by the kernel
        // into a SIGSYS kill (measured: `std::thread::spawn` killed the
        // process in trap mode). Both stay plain errno.
        (ViolationMode::Trap, Action::Errno(e))
            if i32::from(e) == libc::ENOSYS || nr.is_some_and(|n| TASK_CREATING.contains(&n)) =>
        {
            RET_ERRNO | errno_of(action)?
        }
        (ViolationMode::Trap, _) if nr.is_some_and(|n| TASK_CREATING.contains(&n)) => {
            RET_ERRNO | errno_of(action)?
        }
        (ViolationMode::Trap, _) => RET_TRAP | rule_tag(rule) | errno_of(action)?,
        (ViolationMode::AuditOnly, _) => {
            if nr.is_some_and(|n| TASK_CREATING.contains(&n)) {
                RET_LOG
            } else {
                RET_TRAP | AUDIT_REISSUE | rule_tag(rule) | errno_of(action)?
            }
        }
    })
}

fn rule_code(rule: &Rule, ret: u32) -> Result<Vec<(u16, u8, u8, u32)>, SeccompError> {
    let mut conds: Vec<Vec<CI>> = rule.conditions.iter().map(condition_code).collect();
    let len: usize = conds.iter().map(Vec::len).sum::<usize>() + 1;
    let mut out = Vec::with_capacity(len);
    for c in conds.drain(..) {
        let base = out.len();
        let n = c.len();
        for (i, ins) in c.iter().enumerate() {
            let resolve = |t: T| -> Result<u8, SeccompError> {
                let off = match t {
                    T::Rel(r) => usize::from(r),
                    T::Next => n - i - 1,
                    T::Fail => len - (base + i) - 1,
                };
                u8::try_from(off).map_err(|_| SeccompError::TooLong(off))
            };
            out.push((ins.code, resolve(ins.jt)?, resolve(ins.jf)?, ins.k));
        }
    }
    out.push((RET_K, 0, 0, ret));
    Ok(out)
}

/// Compiles `policy` for x86_64. `audit_gadget_ip` must be the address the
/// SIGSYS handler re-issues syscalls from (audit-only mode only).
pub(crate) fn compile(
    policy: &SeccompPolicy,
    mode: ViolationMode,
    audit_gadget_ip: u64,
) -> Result<BpfProgram, SeccompError> {
    let mut head: Vec<(u16, u8, u8, u32)> = vec![
        (LD_W_ABS, 0, 0, 4),
        (JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        (RET_K, 0, 0, RET_KILL_PROCESS),
    ];
    if mode == ViolationMode::AuditOnly {
        head.extend([
            (LD_W_ABS, 0, 0, 8),
            (JEQ_K, 0, 3, audit_gadget_ip as u32),
            (LD_W_ABS, 0, 0, 12),
            (JEQ_K, 0, 1, (audit_gadget_ip >> 32) as u32),
            (RET_K, 0, 0, RET_ALLOW),
        ]);
    }
    head.extend([
        (LD_W_ABS, 0, 0, 0),
        (JGT_K, 0, 1, table::MAX_NR),
        (
            RET_K,
            0,
            0,
            ret_value(policy.unknown_action, mode, None, None)?,
        ),
    ]);

    // The effective rule lists, with the always-allowed core forced in.
    let mut entries: Vec<(u32, Vec<Rule>)> = policy
        .syscalls
        .iter()
        .map(|(n, r)| (*n, r.clone()))
        .collect();
    for name in ALWAYS_ALLOWED {
        if let Some(nr) = table::number(name) {
            entries.retain(|(n, _)| *n != nr);
            entries.push((nr, vec![Rule::always(Action::Allow)]));
        }
    }
    if mode != ViolationMode::Enforce {
        // Task-creating syscalls need their own return value (never a
        // trap) even when they just get the default action.
        for nr in TASK_CREATING {
            if !entries.iter().any(|(n, _)| n == nr) {
                entries.push((*nr, vec![Rule::always(policy.default_action)]));
            }
        }
    }
    entries.sort_by_key(|(n, _)| *n);

    let default_ret = ret_value(policy.default_action, mode, None, None)?;
    // Dispatch chain first, blocks after; block offsets are known once the
    // chain length is.
    let mut blocks: Vec<Vec<(u16, u8, u8, u32)>> = Vec::new();
    enum D {
        Inline(u32),
        Block(usize),
    }
    let mut dispatch: Vec<(u32, D)> = Vec::new();
    for (nr, rules) in &entries {
        if rules.is_empty() {
            continue;
        }
        if rules[0].conditions.is_empty() {
            dispatch.push((
                *nr,
                D::Inline(ret_value(rules[0].action, mode, Some(*nr), Some(0))?),
            ));
            continue;
        }
        let mut block = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            block.extend(rule_code(
                r,
                ret_value(r.action, mode, Some(*nr), Some(i))?,
            )?);
            if r.conditions.is_empty() {
                break; // later rules are unreachable
            }
        }
        block.push((
            RET_K,
            0,
            0,
            ret_value(policy.default_action, mode, Some(*nr), None)?,
        ));
        dispatch.push((*nr, D::Block(blocks.len())));
        blocks.push(block);
    }
    let chain_start = head.len();
    let chain_len = dispatch.len() * 2 + 1;
    let mut block_start = Vec::with_capacity(blocks.len());
    let mut pos = chain_start + chain_len;
    for b in &blocks {
        block_start.push(pos);
        pos += b.len();
    }
    if pos > MAX_INSNS {
        return Err(SeccompError::TooLong(pos));
    }
    let mut prog = head;
    for (nr, d) in dispatch {
        prog.push((JEQ_K, 0, 1, nr));
        match d {
            D::Inline(ret) => prog.push((RET_K, 0, 0, ret)),
            D::Block(i) => {
                let here = prog.len();
                let target = block_start.get(i).copied().unwrap_or(here + 1);
                prog.push((JA, 0, 0, (target - here - 1) as u32));
            }
        }
    }
    prog.push((RET_K, 0, 0, default_ret));
    for b in blocks {
        prog.extend(b);
    }
    Ok(BpfProgram { insns: prog })
}

#[cfg(test)]
pub(crate) mod interp {
    //! A classic-BPF interpreter for the instructions we emit, to check the
    //! compiler against [`SeccompPolicy::evaluate`].
    use super::*;

    pub(crate) fn run(p: &BpfProgram, arch: u32, nr: u32, ip: u64, args: &[u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        data[8..16].copy_from_slice(&ip.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let mut a: u32 = 0;
        let mut pc = 0usize;
        let insns = p.instructions();
        loop {
            let (code, jt, jf, k) = insns[pc];
            pc += 1;
            match code {
                LD_W_ABS => {
                    let o = k as usize;
                    a = u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
                }
                AND_K => a &= k,
                JA => pc += k as usize,
                JEQ_K | JGT_K | JGE_K => {
                    let t = match code {
                        JEQ_K => a == k,
                        JGT_K => a > k,
                        _ => a >= k,
                    };
                    pc += usize::from(if t { jt } else { jf });
                }
                RET_K => return k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    pub(crate) fn action_ret(a: Action) -> u32 {
        ret_value(a, ViolationMode::Enforce, None, None).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::interp::{action_ret, run};
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed
    }

    fn interesting(seed: &mut u64, c: &Condition) -> u64 {
        let v = c.value;
        match lcg(seed) % 8 {
            0 => v,
            1 => v.wrapping_add(1),
            2 => v.wrapping_sub(1),
            3 => v | (1 << 32),
            4 => v ^ (lcg(seed) & 0xff),
            5 => lcg(seed),
            6 => 0,
            _ => v & 0xffff_ffff,
        }
    }

    /// Every condition form, both widths, against the interpreter.
    #[test]
    fn compiled_conditions_match_the_model() {
        let ops = [
            Cmp::Eq,
            Cmp::Ne,
            Cmp::Lt,
            Cmp::Le,
            Cmp::Gt,
            Cmp::Ge,
            Cmp::MaskedEq(0x7e02_0000),
            Cmp::MaskedEq(0xffff_0000_0000_00ff),
        ];
        let values = [0u64, 1, 40, 0x7fff_ffff, 0x1_0000_0028, u64::MAX];
        let mut seed = 42;
        for width in [Width::Dword, Width::Qword] {
            for op in ops {
                for value in values {
                    let c = Condition::new(1, width, op, value).expect("arg 1 is valid");
                    let mut p = SeccompPolicy::new(Action::EPERM);
                    p.set(
                        "socket",
                        vec![
                            Rule::when(vec![c], Action::Allow),
                            Rule::always(Action::ENOSYS),
                        ],
                    )
                    .expect("socket is known");
                    let prog = compile(&p, ViolationMode::Enforce, 0).expect("compiles");
                    for _ in 0..64 {
                        let mut args = [0u64; 6];
                        args[1] = interesting(&mut seed, &c);
                        let want = action_ret(p.evaluate(41, &args));
                        let got = run(&prog, AUDIT_ARCH_X86_64, 41, 0, &args);
                        assert_eq!(got, want, "{c:?} on {:#x}", args[1]);
                    }
                }
            }
        }
    }

    #[test]
    fn arch_unknown_and_core() {
        let p = SeccompPolicy::new(Action::EPERM);
        let prog = compile(&p, ViolationMode::Enforce, 0).expect("compiles");
        assert_eq!(run(&prog, 0x4000_0003, 59, 0, &[0; 6]), RET_KILL_PROCESS);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 59, 0, &[0; 6]), RET_ERRNO | 1);
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, 470, 0, &[0; 6]),
            RET_ERRNO | 38
        );
        // x32 numbers have bit 30 set: above MAX_NR, so ENOSYS.
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, 0x4000_0000 | 59, 0, &[0; 6]),
            RET_ERRNO | 38
        );
        for core in ALWAYS_ALLOWED {
            let nr = table::number(core).expect("core syscalls are in the table");
            assert_eq!(run(&prog, AUDIT_ARCH_X86_64, nr, 0, &[0; 6]), RET_ALLOW);
        }
    }

    #[test]
    fn modes_rewrite_denials() {
        let mut p = SeccompPolicy::new(Action::EPERM);
        p.set_action("clone3", Action::ENOSYS).expect("known");
        let trap = compile(&p, ViolationMode::Trap, 0).expect("compiles");
        // Trap data: errno 1 and rule tag 7 (the default action decided).
        assert_eq!(
            run(&trap, AUDIT_ARCH_X86_64, 59, 0, &[0; 6]),
            RET_TRAP | 7 << 12 | 1
        );
        // clone3 is called with every signal blocked: never trapped.
        assert_eq!(
            run(&trap, AUDIT_ARCH_X86_64, 435, 0, &[0; 6]),
            RET_ERRNO | 38
        );
        assert_eq!(run(&trap, AUDIT_ARCH_X86_64, 56, 0, &[0; 6]), RET_ERRNO | 1);
        let gadget = 0x5555_1234_5678;
        let audit = compile(&p, ViolationMode::AuditOnly, gadget).expect("compiles");
        assert_eq!(
            run(&audit, AUDIT_ARCH_X86_64, 59, 0, &[0; 6]),
            RET_TRAP | AUDIT_REISSUE | 7 << 12 | 1
        );
        assert_eq!(
            run(&audit, AUDIT_ARCH_X86_64, 59, gadget, &[0; 6]),
            RET_ALLOW
        );
        // clone3 cannot be re-run from a handler: kernel log instead.
        assert_eq!(run(&audit, AUDIT_ARCH_X86_64, 435, 0, &[0; 6]), RET_LOG);
    }
}
