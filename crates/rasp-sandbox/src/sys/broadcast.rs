//! Applying the per-thread parts of a lockdown in every thread.
//!
//! Capabilities (all five sets), raw uid/gid changes, `no_new_privs` and
//! Landlock below ABI 8 are per-thread kernel state (sandbox-facts P1, c1–c3).
//! `#[tokio::main]` has started its workers before user code runs, so a
//! lockdown done only by the calling thread leaves fully privileged siblings.
//!
//! The fix is the one glibc uses for `setuid` (its SIGSETXID broadcast): a
//! real-time signal is sent to every other thread with `tgkill`, and each
//! thread runs [`apply_current_thread`] on itself inside the handler, using
//! raw syscalls only (async-signal-safe, `errno` untouched). The plan it
//! applies is published in atomics before the first signal is sent.
//!
//! Two rounds keep it from half-applying silently: a *ping* round first
//! checks that every thread answers the signal (a thread that blocks it makes
//! the whole lockdown fail before anything irreversible happened); then the
//! *apply* round, repeated until `/proc/self/task` lists no thread that has
//! not been confined (a thread created meanwhile by a not-yet-confined thread
//! is picked up by the next round; one created by a confined thread inherits).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::raw;

/// The per-thread step that failed, reported with its errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Step {
    Bounding = 1,
    Ambient = 2,
    KeepCaps = 3,
    Groups = 4,
    Gid = 5,
    Uid = 6,
    Capset = 7,
    NoNewPrivs = 8,
    Landlock = 9,
}

impl Step {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Step::Bounding,
            2 => Step::Ambient,
            3 => Step::KeepCaps,
            4 => Step::Groups,
            5 => Step::Gid,
            6 => Step::Uid,
            7 => Step::Capset,
            8 => Step::NoNewPrivs,
            _ => Step::Landlock,
        }
    }

    /// Human-readable name of the step.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Bounding => "drop capability bounding set",
            Step::Ambient => "clear ambient capabilities",
            Step::KeepCaps => "set keep-caps",
            Step::Groups => "clear supplementary groups",
            Step::Gid => "setresgid",
            Step::Uid => "setresuid",
            Step::Capset => "capset",
            Step::NoNewPrivs => "set no_new_privs",
            Step::Landlock => "landlock_restrict_self",
        }
    }
}

/// What each thread applies to itself. Published before the apply round.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadPlan {
    /// Capabilities kept in the bounding, permitted and effective sets.
    pub(crate) keep_caps: u64,
    /// Highest capability number the kernel knows.
    pub(crate) cap_last: u32,
    /// Whether to drop the bounding set (needs CAP_SETPCAP, which an
    /// unprivileged process does not have; under `no_new_privs` a bounding
    /// set cannot give anything back, so it is then left alone).
    pub(crate) drop_bounding: bool,
    /// Target `(uid, gid)`, or `None` to keep the current identity.
    pub(crate) identity: Option<(u32, u32)>,
    /// Landlock ruleset fd, or `None`.
    pub(crate) landlock_fd: Option<i32>,
}

static PLAN_KEEP_CAPS: AtomicU64 = AtomicU64::new(0);
static PLAN_CAP_LAST: AtomicU32 = AtomicU32::new(40);
static PLAN_DROP_BOUNDING: AtomicU8 = AtomicU8::new(1);
static PLAN_UID: AtomicI64 = AtomicI64::new(-1);
static PLAN_GID: AtomicI64 = AtomicI64::new(-1);
static PLAN_LANDLOCK_FD: AtomicI32 = AtomicI32::new(-1);

const MODE_IDLE: u8 = 0;
const MODE_PING: u8 = 1;
const MODE_APPLY: u8 = 2;
static MODE: AtomicU8 = AtomicU8::new(MODE_IDLE);

/// Most threads one round can address. A process with more threads than
/// this is refused (an error, never a partial lockdown).
pub(crate) const MAX_THREADS: usize = 4096;
const PENDING: i64 = i64::MIN;

struct Slot {
    tid: AtomicI32,
    result: AtomicI64,
}

static SLOTS: [Slot; MAX_THREADS] = [const {
    Slot {
        tid: AtomicI32::new(0),
        result: AtomicI64::new(PENDING),
    }
}; MAX_THREADS];

fn publish(plan: &ThreadPlan) {
    PLAN_KEEP_CAPS.store(plan.keep_caps, Ordering::SeqCst);
    PLAN_CAP_LAST.store(plan.cap_last, Ordering::SeqCst);
    PLAN_DROP_BOUNDING.store(u8::from(plan.drop_bounding), Ordering::SeqCst);
    let (uid, gid) = plan
        .identity
        .map(|(u, g)| (i64::from(u), i64::from(g)))
        .unwrap_or((-1, -1));
    PLAN_UID.store(uid, Ordering::SeqCst);
    PLAN_GID.store(gid, Ordering::SeqCst);
    PLAN_LANDLOCK_FD.store(plan.landlock_fd.unwrap_or(-1), Ordering::SeqCst);
}

fn encode(r: Result<(), (Step, i32)>) -> i64 {
    match r {
        Ok(()) => 0,
        Err((step, errno)) => ((step as i64) << 32) | i64::from(errno),
    }
}

fn decode(v: i64) -> Result<(), (Step, i32)> {
    if v == 0 {
        Ok(())
    } else {
        Err((Step::from_u8((v >> 32) as u8), (v & 0xffff_ffff) as i32))
    }
}

/// Applies the published plan to the calling thread, in the order the
/// kernel requires (sandbox-facts c4, P10): the bounding set needs
/// CAP_SETPCAP, so it goes before the uid change; `no_new_privs` before
/// `landlock_restrict_self`, which needs it when CAP_SYS_ADMIN is gone.
///
/// Async-signal-safe: atomics and raw syscalls only.
pub(crate) fn apply_current_thread() -> Result<(), (Step, i32)> {
    let keep = PLAN_KEEP_CAPS.load(Ordering::SeqCst);
    let last = PLAN_CAP_LAST.load(Ordering::SeqCst).min(63);
    let uid = PLAN_UID.load(Ordering::SeqCst);
    let gid = PLAN_GID.load(Ordering::SeqCst);
    let fd = PLAN_LANDLOCK_FD.load(Ordering::SeqCst);
    let bounding = PLAN_DROP_BOUNDING.load(Ordering::SeqCst) != 0;

    for cap in (0..=last).filter(|_| bounding) {
        if keep & (1u64 << cap) != 0 {
            continue;
        }
        match raw::prctl(libc::PR_CAPBSET_DROP, u64::from(cap), 0, 0, 0) {
            Ok(_) | Err(libc::EINVAL) => {}
            // Without CAP_SETPCAP the drop fails; that is fine if the
            // capability is already out of the bounding set.
            Err(e) => {
                if raw::prctl(libc::PR_CAPBSET_READ, u64::from(cap), 0, 0, 0) != Ok(0) {
                    return Err((Step::Bounding, e));
                }
            }
        }
    }
    match raw::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as u64,
        0,
        0,
        0,
    ) {
        Ok(_) | Err(libc::EINVAL) => {}
        Err(e) => return Err((Step::Ambient, e)),
    }
    if uid >= 0 && gid >= 0 {
        if keep != 0 {
            // Keep the permitted set across the uid change so a kept
            // capability (NET_BIND_SERVICE) survives it.
            raw::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0).map_err(|e| (Step::KeepCaps, e))?;
        }
        raw::clear_groups().map_err(|e| (Step::Groups, e))?;
        raw::setresgid(gid as u32).map_err(|e| (Step::Gid, e))?;
        raw::setresuid(uid as u32).map_err(|e| (Step::Uid, e))?;
    }
    raw::capset_keep(keep).map_err(|e| (Step::Capset, e))?;
    if keep != 0 && uid >= 0 {
        raw::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0).map_err(|e| (Step::KeepCaps, e))?;
    }
    raw::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0).map_err(|e| (Step::NoNewPrivs, e))?;
    if fd >= 0 {
        raw::landlock_restrict_self(fd).map_err(|e| (Step::Landlock, e))?;
    }
    Ok(())
}

extern "C" fn on_broadcast(_sig: libc::c_int) {
    let tid = raw::gettid();
    let mode = MODE.load(Ordering::SeqCst);
    if mode == MODE_IDLE {
        return;
    }
    let Some(slot) = SLOTS.iter().find(|s| s.tid.load(Ordering::SeqCst) == tid) else {
        return;
    };
    if slot.result.load(Ordering::SeqCst) != PENDING {
        return;
    }
    let result = if mode == MODE_APPLY {
        encode(apply_current_thread())
    } else {
        0
    };
    slot.result.store(result, Ordering::SeqCst);
}

/// What happened to one thread in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Done,
    Failed(Step, i32),
    /// The thread exited before it could answer.
    Gone,
    /// The thread did not run the handler in time (it blocks the signal, or
    /// is stopped).
    NoAnswer,
}

/// Failures of the broadcast machinery itself.
#[derive(Debug)]
pub(crate) enum BroadcastError {
    NoFreeSignal,
    Sigaction(i32),
    TooManyThreads(usize),
    ListThreads(std::io::Error),
}

/// The installed broadcast handler. Dropping it restores the previous
/// disposition unless a thread never answered (then a late signal would
/// meet the default action, which kills the process, so the no-op handler
/// is left in place on purpose).
pub(crate) struct Broadcast {
    sig: i32,
    old: libc::sigaction,
    keep_installed: bool,
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("signal", &self.sig)
            .finish()
    }
}

impl Broadcast {
    /// Installs the handler on the first real-time signal nobody else uses.
    pub(crate) fn install() -> Result<Self, BroadcastError> {
        // glibc reserves the first two RT signals; libc::SIGRTMIN() already
        // skips them. Start a few above to stay clear of common users.
        let (lo, hi) = (libc::SIGRTMIN() + 4, libc::SIGRTMAX() - 1);
        for sig in (lo..=hi).rev() {
            // SAFETY: querying a disposition writes only into `old`.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: a NULL new action only reads the current one.
            if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
                continue;
            }
            if old.sa_sigaction != libc::SIG_DFL {
                continue;
            }
            // SAFETY: zeroed sigaction is a valid "empty" value.
            let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
            new.sa_sigaction = on_broadcast as extern "C" fn(libc::c_int) as usize;
            // Restart interrupted syscalls so the threads we visit do not
            // see spurious EINTR.
            new.sa_flags = libc::SA_RESTART;
            // SAFETY: sa_mask is a valid sigset_t inside `new`.
            unsafe { libc::sigfillset(&mut new.sa_mask) };
            // SAFETY: installs a handler that only uses atomics and raw
            // syscalls (async-signal-safe).
            if unsafe { libc::sigaction(sig, &new, std::ptr::null_mut()) } != 0 {
                return Err(BroadcastError::Sigaction(
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
                ));
            }
            return Ok(Broadcast {
                sig,
                old,
                keep_installed: false,
            });
        }
        Err(BroadcastError::NoFreeSignal)
    }

    /// The signal used.
    pub(crate) fn signal(&self) -> i32 {
        self.sig
    }

    /// Runs one round: signals every tid and waits for each to answer.
    fn round(&mut self, tids: &[i32], timeout: Duration) -> Vec<(i32, Outcome)> {
        for (slot, tid) in SLOTS.iter().zip(tids) {
            slot.result.store(PENDING, Ordering::SeqCst);
            slot.tid.store(*tid, Ordering::SeqCst);
        }
        let mut outcome: Vec<(i32, Option<Outcome>)> = tids.iter().map(|t| (*t, None)).collect();
        for (tid, out) in outcome.iter_mut() {
            if let Err(e) = raw::tgkill(*tid, self.sig) {
                *out = Some(if e == libc::ESRCH {
                    Outcome::Gone
                } else {
                    Outcome::NoAnswer
                });
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let mut pending = false;
            for (i, (_, out)) in outcome.iter_mut().enumerate() {
                if out.is_some() {
                    continue;
                }
                let v = SLOTS[i].result.load(Ordering::SeqCst);
                if v == PENDING {
                    pending = true;
                } else {
                    *out = Some(match decode(v) {
                        Ok(()) => Outcome::Done,
                        Err((s, e)) => Outcome::Failed(s, e),
                    });
                }
            }
            if !pending || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let result = outcome
            .into_iter()
            .map(|(tid, out)| {
                let out = out.unwrap_or_else(|| {
                    if std::path::Path::new(&format!("/proc/self/task/{tid}")).exists() {
                        Outcome::NoAnswer
                    } else {
                        Outcome::Gone
                    }
                });
                (tid, out)
            })
            .collect::<Vec<_>>();
        if result.iter().any(|(_, o)| *o == Outcome::NoAnswer) {
            self.keep_installed = true;
        }
        // Forget the slots so a late handler finds nothing to do.
        for slot in SLOTS.iter().take(tids.len()) {
            slot.tid.store(0, Ordering::SeqCst);
        }
        result
    }

    /// Checks that every other thread answers the signal. Applies nothing.
    pub(crate) fn ping(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<(i32, Outcome)>, BroadcastError> {
        let me = raw::gettid();
        let tids: Vec<i32> = list_tids()
            .map_err(BroadcastError::ListThreads)?
            .into_iter()
            .filter(|t| *t != me)
            .collect();
        if tids.len() > MAX_THREADS {
            return Err(BroadcastError::TooManyThreads(tids.len()));
        }
        MODE.store(MODE_PING, Ordering::SeqCst);
        let r = self.round(&tids, timeout);
        MODE.store(MODE_IDLE, Ordering::SeqCst);
        Ok(r)
    }

    /// Applies `plan` in every other thread (rounds until no unconfined
    /// thread is left), then in the calling thread. Returns every outcome
    /// and the number of rounds; stops at the first round with a failure.
    pub(crate) fn apply(
        &mut self,
        plan: &ThreadPlan,
        timeout: Duration,
    ) -> Result<ApplyOutcome, BroadcastError> {
        publish(plan);
        let me = raw::gettid();
        let mut done: BTreeSet<i32> = BTreeSet::new();
        let mut outcomes = Vec::new();
        let mut rounds = 0;
        MODE.store(MODE_APPLY, Ordering::SeqCst);
        // Bounded so a process that creates threads faster than we visit
        // them cannot keep us here forever; it gets an error instead.
        while rounds < 64 {
            let tids: Vec<i32> = match list_tids() {
                Ok(t) => t
                    .into_iter()
                    .filter(|t| *t != me && !done.contains(t))
                    .collect(),
                Err(e) => {
                    MODE.store(MODE_IDLE, Ordering::SeqCst);
                    return Err(BroadcastError::ListThreads(e));
                }
            };
            if tids.is_empty() {
                break;
            }
            rounds += 1;
            for chunk in tids.chunks(MAX_THREADS) {
                let r = self.round(chunk, timeout);
                for (tid, o) in &r {
                    if matches!(o, Outcome::Done | Outcome::Gone) {
                        done.insert(*tid);
                    }
                }
                outcomes.extend(r);
            }
            if outcomes
                .iter()
                .any(|(_, o)| matches!(o, Outcome::Failed(..) | Outcome::NoAnswer))
            {
                MODE.store(MODE_IDLE, Ordering::SeqCst);
                return Ok(ApplyOutcome {
                    outcomes,
                    rounds,
                    complete: false,
                });
            }
        }
        MODE.store(MODE_IDLE, Ordering::SeqCst);
        let complete = rounds < 64;
        let own = match apply_current_thread() {
            Ok(()) => Outcome::Done,
            Err((s, e)) => Outcome::Failed(s, e),
        };
        outcomes.push((me, own));
        Ok(ApplyOutcome {
            complete: complete && own == Outcome::Done,
            outcomes,
            rounds,
        })
    }
}

/// Result of [`Broadcast::apply`].
#[derive(Debug)]
pub(crate) struct ApplyOutcome {
    pub(crate) outcomes: Vec<(i32, Outcome)>,
    pub(crate) rounds: usize,
    pub(crate) complete: bool,
}

impl Drop for Broadcast {
    fn drop(&mut self) {
        MODE.store(MODE_IDLE, Ordering::SeqCst);
        if !self.keep_installed {
            // SAFETY: restores the disposition saved by `install`.
            unsafe { libc::sigaction(self.sig, &self.old, std::ptr::null_mut()) };
        }
    }
}

/// Applies the plan to the calling thread only (single-threaded form).
pub(crate) fn apply_single(plan: &ThreadPlan) -> Result<(), (Step, i32)> {
    publish(plan);
    apply_current_thread()
}

/// Every thread id of this process, from `/proc/self/task`.
pub(crate) fn list_tids() -> std::io::Result<Vec<i32>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc/self/task")? {
        let e = e?;
        if let Some(tid) = e.file_name().to_str().and_then(|s| s.parse().ok()) {
            v.push(tid);
        }
    }
    v.sort_unstable();
    Ok(v)
}
