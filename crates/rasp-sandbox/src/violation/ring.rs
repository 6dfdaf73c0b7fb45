//! A bounded, lock-free multi-producer ring written from the SIGSYS handler.
//!
//! Producers are signal handlers on any thread, so they may not lock or
//! allocate: a producer claims a sequence number with a CAS on `HEAD`, fills
//! the slot with relaxed stores and publishes it by storing `seq + 1` with
//! release ordering. When the ring is full the event is counted in
//! `DROPPED` instead of overwriting an unread one (a flood of violations
//! must not hide the first ones, and the loss must be visible: sandbox-facts
//! d1 lost events silently). The single consumer is the reporter thread.

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

/// Capacity of the ring (events not yet delivered).
pub(crate) const CAPACITY: u64 = 1024;

struct Slot {
    seq: AtomicU64,
    tid: AtomicI32,
    nr: AtomicI32,
    data: AtomicU32,
    ip: AtomicU64,
    ns: AtomicU64,
}

static SLOTS: [Slot; CAPACITY as usize] = [const {
    Slot {
        seq: AtomicU64::new(0),
        tid: AtomicI32::new(0),
        nr: AtomicI32::new(0),
        data: AtomicU32::new(0),
        ip: AtomicU64::new(0),
        ns: AtomicU64::new(0),
    }
}; CAPACITY as usize];

static HEAD: AtomicU64 = AtomicU64::new(0);
static TAIL: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// One raw event as the handler records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawEvent {
    pub(crate) tid: i32,
    pub(crate) nr: i32,
    /// `SECCOMP_RET_DATA` of the rule that trapped.
    pub(crate) data: u32,
    pub(crate) ip: u64,
    pub(crate) monotonic_ns: u64,
}

/// Records an event. Async-signal-safe. Returns `false` if it was dropped.
pub(crate) fn push(ev: RawEvent) -> bool {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    let mut h = HEAD.load(Ordering::Acquire);
    loop {
        if h.wrapping_sub(TAIL.load(Ordering::Acquire)) >= CAPACITY {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        match HEAD.compare_exchange_weak(h, h + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(cur) => h = cur,
        }
    }
    let slot = &SLOTS[(h % CAPACITY) as usize];
    slot.tid.store(ev.tid, Ordering::Relaxed);
    slot.nr.store(ev.nr, Ordering::Relaxed);
    slot.data.store(ev.data, Ordering::Relaxed);
    slot.ip.store(ev.ip, Ordering::Relaxed);
    slot.ns.store(ev.monotonic_ns, Ordering::Relaxed);
    slot.seq.store(h + 1, Ordering::Release);
    true
}

/// Takes the oldest published event. Must only be called by one consumer at
/// a time (the reporter holds a lock around it).
pub(crate) fn pop() -> Option<RawEvent> {
    let t = TAIL.load(Ordering::Acquire);
    let slot = &SLOTS[(t % CAPACITY) as usize];
    if slot.seq.load(Ordering::Acquire) != t + 1 {
        return None;
    }
    let ev = RawEvent {
        tid: slot.tid.load(Ordering::Relaxed),
        nr: slot.nr.load(Ordering::Relaxed),
        data: slot.data.load(Ordering::Relaxed),
        ip: slot.ip.load(Ordering::Relaxed),
        monotonic_ns: slot.ns.load(Ordering::Relaxed),
    };
    TAIL.store(t + 1, Ordering::Release);
    Some(ev)
}

/// Events lost because the ring was full.
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Events recorded or dropped since the process started.
pub(crate) fn total() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test only: the ring is process-global state.
    #[test]
    fn fifo_then_drop_counter() {
        while pop().is_some() {}
        let base = dropped();
        let ev = |n| RawEvent {
            tid: 7,
            nr: n,
            data: 1,
            ip: 0,
            monotonic_ns: 0,
        };
        for n in 0..CAPACITY as i32 {
            assert!(push(ev(n)));
        }
        assert!(!push(ev(-1)), "a full ring must refuse, not overwrite");
        assert_eq!(dropped(), base + 1);
        for n in 0..CAPACITY as i32 {
            assert_eq!(pop().map(|e| e.nr), Some(n));
        }
        assert_eq!(pop(), None);
        assert!(push(ev(5)));
        assert_eq!(pop().map(|e| e.nr), Some(5));
    }
}
