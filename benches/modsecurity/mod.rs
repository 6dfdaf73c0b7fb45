//! A minimal FFI to libmodsecurity 3 (Debian's `libmodsecurity3` /
//! `libmodsecurity-dev`, installed by `scripts/install-bench-deps.sh`),
//! compiled only with `--features bench-modsecurity`.
//!
//! It loads the same configuration and CRS files as the rasp side
//! ([`crate::common::ENGINE_CONF`], the paranoia SecAction,
//! `crs-setup.conf.example`, `rules/*.conf`) and runs an exchange the way
//! the nginx connector does: `msc_process_connection`, `msc_process_uri`,
//! headers, body, `msc_intervention` after every phase, then
//! `msc_process_logging` and `msc_transaction_cleanup`.
#![allow(unsafe_code, dead_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

use crate::common::mix::{self, Case};
use crate::common::{crs_files, paranoia_conf, ENGINE_CONF};

#[repr(C)]
struct ModSecurityIntervention {
    status: c_int,
    pause: c_int,
    url: *mut c_char,
    log: *mut c_char,
    disruptive: c_int,
}

/// Opaque `ModSecurity`.
#[repr(C)]
struct MscHandle {
    _p: [u8; 0],
}
/// Opaque `RulesSet`.
#[repr(C)]
struct MscRules {
    _p: [u8; 0],
}
/// Opaque `Transaction`.
#[repr(C)]
struct MscTx {
    _p: [u8; 0],
}

type LogCb = extern "C" fn(*mut c_void, *const c_void);

#[link(name = "modsecurity")]
extern "C" {
    fn msc_init() -> *mut MscHandle;
    fn msc_who_am_i(msc: *mut MscHandle) -> *const c_char;
    fn msc_set_connector_info(msc: *mut MscHandle, connector: *const c_char);
    fn msc_set_log_cb(msc: *mut MscHandle, cb: LogCb);
    fn msc_cleanup(msc: *mut MscHandle);
    fn msc_create_rules_set() -> *mut MscRules;
    fn msc_rules_add_file(
        rules: *mut MscRules,
        file: *const c_char,
        error: *mut *const c_char,
    ) -> c_int;
    fn msc_rules_add(
        rules: *mut MscRules,
        plain: *const c_char,
        error: *mut *const c_char,
    ) -> c_int;
    fn msc_rules_cleanup(rules: *mut MscRules) -> c_int;
    fn msc_new_transaction(
        msc: *mut MscHandle,
        rules: *mut MscRules,
        log_data: *mut c_void,
    ) -> *mut MscTx;
    fn msc_process_connection(
        tx: *mut MscTx,
        client: *const c_char,
        c_port: c_int,
        server: *const c_char,
        s_port: c_int,
    ) -> c_int;
    fn msc_process_uri(
        tx: *mut MscTx,
        uri: *const c_char,
        method: *const c_char,
        version: *const c_char,
    ) -> c_int;
    fn msc_add_n_request_header(
        tx: *mut MscTx,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> c_int;
    fn msc_process_request_headers(tx: *mut MscTx) -> c_int;
    fn msc_append_request_body(tx: *mut MscTx, body: *const u8, size: usize) -> c_int;
    fn msc_process_request_body(tx: *mut MscTx) -> c_int;
    fn msc_add_n_response_header(
        tx: *mut MscTx,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> c_int;
    fn msc_process_response_headers(tx: *mut MscTx, code: c_int, protocol: *const c_char) -> c_int;
    fn msc_append_response_body(tx: *mut MscTx, body: *const u8, size: usize) -> c_int;
    fn msc_process_response_body(tx: *mut MscTx) -> c_int;
    fn msc_intervention(tx: *mut MscTx, it: *mut ModSecurityIntervention) -> c_int;
    fn msc_process_logging(tx: *mut MscTx) -> c_int;
    fn msc_transaction_cleanup(tx: *mut MscTx);
}

extern "C" {
    fn free(p: *mut c_void);
    fn mallopt(param: c_int, value: c_int) -> c_int;
}

/// glibc's `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` (`malloc.h`).
const M_TRIM_THRESHOLD: c_int = -1;
const M_MMAP_THRESHOLD: c_int = -3;

/// Fixes glibc's malloc thresholds where a long-running server's end up.
/// glibc starts a process at 128 KiB for both and, each time it frees a
/// block it had to map, raises them to that block's size (at most 32 MiB)
/// and twice that for trimming; an nginx worker does so at its first large
/// body. Left to the bench process's history, libmodsecurity's memory for
/// the 1 MiB case was trimmed off the heap and faulted back in every
/// exchange, depending on what else the process had allocated before:
/// measured in session 29, 5.9 ms per exchange against 0.68–0.76 ms in the
/// same build with the thresholds fixed (and in the paired bench); fixed at
/// 4 and 8 MiB it was still 5.7 ms. rasp shares the process and the
/// allocator, so both engines run under the same setting.
fn settle_malloc() {
    // SAFETY: mallopt only changes allocator parameters.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// The server log callback: drops the message (nginx writes it to its error
/// log; without a callback libmodsecurity prints every match to stderr).
extern "C" fn discard_log(_data: *mut c_void, _msg: *const c_void) {}

/// A libmodsecurity instance with a loaded rule set.
#[derive(Debug)]
pub struct ModSecurity {
    msc: *mut MscHandle,
    rules: *mut MscRules,
    client: CString,
    server: CString,
}

fn take_error(err: *const c_char) -> String {
    if err.is_null() {
        return "unknown error".into();
    }
    // SAFETY: libmodsecurity returns a NUL-terminated string it allocated
    // with strdup; we own it.
    unsafe {
        let s = CStr::from_ptr(err).to_string_lossy().into_owned();
        free(err as *mut c_void);
        s
    }
}

impl ModSecurity {
    /// The library's version string (`ModSecurity v3.0.9 (Linux)`).
    pub fn version() -> String {
        // SAFETY: init/cleanup pair; the string is copied before cleanup.
        unsafe {
            let m = msc_init();
            let v = CStr::from_ptr(msc_who_am_i(m))
                .to_string_lossy()
                .into_owned();
            msc_cleanup(m);
            v
        }
    }

    /// Loads [`ENGINE_CONF`], the paranoia SecAction and the CRS at `dir`.
    pub fn load(dir: &Path, pl: u8) -> ModSecurity {
        settle_malloc();
        // SAFETY: plain C API calls on pointers that this struct owns.
        unsafe {
            let msc = msc_init();
            let connector = CString::new("rasp-bench").unwrap();
            msc_set_connector_info(msc, connector.as_ptr());
            msc_set_log_cb(msc, discard_log);
            let rules = msc_create_rules_set();
            let this = ModSecurity {
                msc,
                rules,
                client: CString::new(mix::CLIENT.0).unwrap(),
                server: CString::new(mix::SERVER.0).unwrap(),
            };
            for text in [ENGINE_CONF.to_string(), paranoia_conf(pl)] {
                let c = CString::new(text).unwrap();
                let mut err: *const c_char = std::ptr::null();
                if msc_rules_add(rules, c.as_ptr(), &mut err) < 0 {
                    panic!(
                        "libmodsecurity rejects the bench configuration: {}",
                        take_error(err)
                    );
                }
            }
            for f in crs_files(dir) {
                let c = CString::new(f.to_string_lossy().as_bytes()).unwrap();
                let mut err: *const c_char = std::ptr::null();
                if msc_rules_add_file(rules, c.as_ptr(), &mut err) < 0 {
                    panic!(
                        "libmodsecurity cannot load {}: {}",
                        f.display(),
                        take_error(err)
                    );
                }
            }
            this
        }
    }

    /// Runs one exchange (see the module documentation). Returns the
    /// interruption status and the phase it came in, `(None, 0)` if none.
    #[inline(never)]
    pub fn run(&self, case: &Case) -> (Option<u16>, u8) {
        // SAFETY: the transaction is created and cleaned up here; every
        // buffer outlives the call it is passed to (libmodsecurity copies).
        unsafe {
            let tx = msc_new_transaction(self.msc, self.rules, std::ptr::null_mut());
            let r = self.exchange(tx, case);
            msc_process_logging(tx);
            msc_transaction_cleanup(tx);
            r
        }
    }

    unsafe fn exchange(&self, tx: *mut MscTx, case: &Case) -> (Option<u16>, u8) {
        msc_process_connection(
            tx,
            self.client.as_ptr(),
            c_int::from(mix::CLIENT.1),
            self.server.as_ptr(),
            c_int::from(mix::SERVER.1),
        );
        // The URI and method need NUL-terminated copies, as any connector makes.
        let uri = CString::new(case.uri.as_bytes()).unwrap();
        let method = CString::new(case.method).unwrap();
        msc_process_uri(tx, uri.as_ptr(), method.as_ptr(), c"1.1".as_ptr());
        if let Some(s) = intervened(tx) {
            return (Some(s), 1);
        }
        for (n, v) in &case.headers {
            msc_add_n_request_header(tx, n.as_ptr(), n.len(), v.as_ptr(), v.len());
        }
        msc_process_request_headers(tx);
        if let Some(s) = intervened(tx) {
            return (Some(s), 1);
        }
        if !case.body.is_empty() {
            msc_append_request_body(tx, case.body.as_ptr(), case.body.len());
            if let Some(s) = intervened(tx) {
                return (Some(s), 2);
            }
        }
        msc_process_request_body(tx);
        if let Some(s) = intervened(tx) {
            return (Some(s), 2);
        }
        if let Some(res) = &case.response {
            for (n, v) in &res.headers {
                msc_add_n_response_header(tx, n.as_ptr(), n.len(), v.as_ptr(), v.len());
            }
            msc_process_response_headers(tx, c_int::from(res.status), c"HTTP 1.1".as_ptr());
            if let Some(s) = intervened(tx) {
                return (Some(s), 3);
            }
            if !res.body.is_empty() {
                msc_append_response_body(tx, res.body.as_ptr(), res.body.len());
            }
            msc_process_response_body(tx);
            if let Some(s) = intervened(tx) {
                return (Some(s), 4);
            }
        }
        (None, 0)
    }
}

/// `msc_intervention`, freeing what it allocates; the status when disruptive.
unsafe fn intervened(tx: *mut MscTx) -> Option<u16> {
    let mut it = ModSecurityIntervention {
        status: 200,
        pause: 0,
        url: std::ptr::null_mut(),
        log: std::ptr::null_mut(),
        disruptive: 0,
    };
    let r = msc_intervention(tx, &mut it);
    if !it.url.is_null() {
        free(it.url as *mut c_void);
    }
    if !it.log.is_null() {
        free(it.log as *mut c_void);
    }
    (r != 0 && it.disruptive != 0).then_some(it.status as u16)
}

impl Drop for ModSecurity {
    fn drop(&mut self) {
        // SAFETY: both pointers were created in `load` and are released once.
        unsafe {
            msc_rules_cleanup(self.rules);
            msc_cleanup(self.msc);
        }
    }
}
