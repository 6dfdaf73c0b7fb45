//! [`AuditLog`]: the bounded queue and its writer thread.

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use rasp_core::AuditRecord;

use crate::telemetry;

/// One line of the audit log.
#[derive(serde::Serialize)]
struct Entry {
    transaction: AuditRecord,
    /// The status the client received (the block's, when blocked).
    http_status: u16,
    /// `passed`, `blocked`, `detected` or `error`.
    outcome: &'static str,
}

enum Msg {
    #[cfg(test)]
    Line(String),
    Record(Box<Entry>),
    Flush(SyncSender<()>),
}

/// Where audit records go. Cheap to clone; clones share the queue. The
/// writer thread ends when the last clone is dropped.
///
/// # Defaults
/// Queue capacity 8,192 records.
#[derive(Clone)]
pub struct AuditLog {
    shared: Arc<Shared>,
}

struct Shared {
    queue: SyncSender<Msg>,
    dropped: AtomicU64,
    written: Arc<AtomicU64>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dropped", &self.dropped())
            .field("written", &self.written())
            .finish()
    }
}

/// Builds an [`AuditLog`]; see its `# Defaults`.
#[derive(Clone, Copy, Debug)]
pub struct AuditLogBuilder {
    capacity: usize,
}

impl Default for AuditLogBuilder {
    fn default() -> AuditLogBuilder {
        AuditLogBuilder { capacity: 8192 }
    }
}

impl AuditLogBuilder {
    /// Records that may wait for the writer; beyond it records are dropped
    /// and counted. Default is 8,192.
    pub fn capacity(mut self, records: usize) -> AuditLogBuilder {
        self.capacity = records.max(1);
        self
    }

    /// Appends JSON lines to a file (created if missing).
    pub fn file(self, path: impl AsRef<Path>) -> io::Result<AuditLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        self.writer(file)
    }

    /// Writes JSON lines to any writer.
    pub fn writer<W: Write + Send + 'static>(self, writer: W) -> io::Result<AuditLog> {
        let (queue, rx) = sync_channel(self.capacity);
        let written = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&written);
        std::thread::Builder::new()
            .name("rasp-audit".into())
            .spawn(move || write_loop(rx, BufWriter::new(writer), &counter))?;
        Ok(AuditLog {
            shared: Arc::new(Shared {
                queue,
                dropped: AtomicU64::new(0),
                written,
            }),
        })
    }

    /// Emits each record as a `tracing` event (target `rasp::audit`, level
    /// INFO, field `record`).
    pub fn tracing(self) -> io::Result<AuditLog> {
        self.writer(TracingWriter::default())
    }
}

impl AuditLog {
    /// A builder with the default capacity.
    pub fn builder() -> AuditLogBuilder {
        AuditLogBuilder::default()
    }

    /// Appends JSON lines to a file, default capacity.
    pub fn file(path: impl AsRef<Path>) -> io::Result<AuditLog> {
        AuditLogBuilder::default().file(path)
    }

    /// Emits records as `tracing` events, default capacity.
    pub fn tracing() -> io::Result<AuditLog> {
        AuditLogBuilder::default().tracing()
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Blocks until every record queued before this call is written and
    /// the writer flushed (for tests and shutdown; not for request paths).
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        if self.shared.queue.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Queues one record; never blocks. Serialising happens on the writer
    /// thread.
    pub(crate) fn push_record(
        &self,
        mut transaction: AuditRecord,
        http_status: u16,
        outcome: &'static str,
    ) {
        // As ModSecurity's part H: only rules that log appear; `nolog`
        // plumbing (CRS 901xxx initialisation) would drown the matches.
        transaction.messages.retain(|m| m.log || m.auditlog);
        self.send(Msg::Record(Box::new(Entry {
            transaction,
            http_status,
            outcome,
        })));
    }

    /// Queues one ready-made line; never blocks.
    #[cfg(test)]
    pub(crate) fn push(&self, line: String) {
        self.send(Msg::Line(line));
    }

    fn send(&self, msg: Msg) {
        match self.shared.queue.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(telemetry::AUDIT_DROPPED).increment(1);
            }
        }
    }
}

fn write_loop<W: Write>(rx: Receiver<Msg>, mut out: BufWriter<W>, written: &AtomicU64) {
    while let Ok(msg) = rx.recv() {
        let mut next = Some(msg);
        // Drain what is queued, then flush once: one syscall per burst.
        while let Some(msg) = next.take() {
            let line = match msg {
                #[cfg(test)]
                Msg::Line(line) => Some(line),
                Msg::Record(entry) => match serde_json::to_string(&entry) {
                    Ok(line) => Some(line),
                    Err(e) => {
                        tracing::error!(error = %e, "audit record not serialisable");
                        None
                    }
                },
                Msg::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                    None
                }
            };
            if let Some(line) = line {
                if let Err(e) = out
                    .write_all(line.as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
                {
                    tracing::error!(error = %e, "audit log write failed");
                } else {
                    written.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(telemetry::AUDIT_WRITTEN).increment(1);
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = out.flush() {
            tracing::error!(error = %e, "audit log flush failed");
        }
    }
}

/// Turns written lines into tracing events.
#[derive(Default)]
struct TracingWriter {
    pending: Vec<u8>,
}

impl Write for TracingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len().saturating_sub(1)]).into_owned();
            tracing::info!(target: "rasp::audit", record = %text);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer that blocks until released, to fill the queue.
    struct Gate(Arc<Mutex<()>>);

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            drop(self.0.lock().unwrap());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            drop(self.0.lock().unwrap());
            Ok(())
        }
    }

    #[test]
    fn writes_lines_and_flushes() {
        let sink = Shared::default();
        let log = AuditLog::builder().writer(sink.clone()).unwrap();
        log.push("{\"a\":1}".into());
        log.push("{\"a\":2}".into());
        log.flush();
        assert_eq!(
            String::from_utf8(sink.0.lock().unwrap().clone()).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        assert_eq!(log.written(), 2);
        assert_eq!(log.dropped(), 0);
    }

    #[test]
    fn full_queue_drops_and_counts() {
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let log = AuditLog::builder()
            .capacity(4)
            .writer(Gate(Arc::clone(&gate)))
            .unwrap();
        for i in 0..100 {
            log.push(format!("{i}"));
        }
        // The writer holds at most one record, the queue four.
        assert!(log.dropped() >= 95, "dropped {}", log.dropped());
        drop(held);
        log.flush();
        assert_eq!(log.written() + log.dropped(), 100);
    }
}
