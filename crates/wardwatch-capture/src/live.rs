//! Live capture from a network interface through libpcap.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{CaptureError, CaptureErrorKind};
use crate::reader::Packet;

/// A live capture handle. Packets borrow libpcap's buffer until the next call.
pub struct LiveCapture {
    iface: String,
    cap: pcap::Capture<pcap::Active>,
    linktype: u32,
    frame: u64,
}

/// Kernel and interface drop counters reported by libpcap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets received by the filter.
    pub received: u64,
    /// Packets dropped by the kernel because the buffer was full.
    pub kernel_drops: u64,
    /// Packets dropped by the interface or driver.
    pub iface_drops: u64,
}

/// What one poll of a live capture produced.
pub enum LiveEvent<'a> {
    /// A packet arrived.
    Packet(Packet<'a>),
    /// No packet came for a moment; poll again.
    Idle,
}

impl LiveCapture {
    /// Opens `iface` in promiscuous mode with an optional BPF `filter`.
    pub fn open(iface: &str, filter: Option<&str>, snaplen: i32) -> Result<Self, CaptureError> {
        let err = |m: String| CaptureError::new(PathBuf::from(iface), 0, CaptureErrorKind::Live(m));
        let inactive = pcap::Capture::from_device(iface).map_err(|e| err(e.to_string()))?;
        let mut cap = inactive
            .promisc(true)
            .snaplen(snaplen)
            .timeout(100)
            .buffer_size(128 << 20)
            .immediate_mode(true)
            .open()
            .map_err(|e| err(e.to_string()))?
            // In immediate mode libpcap waits for a packet however long the
            // timeout: a quiet interface would stall everything else (a
            // watch's ticks, the end of --duration). Non-blocking reads and
            // a short sleep when there is nothing keep the loop turning.
            .setnonblock()
            .map_err(|e| err(e.to_string()))?;
        if let Some(f) = filter {
            cap.filter(f, true)
                .map_err(|e| err(format!("BPF filter {f:?}: {e}")))?;
        }
        let linktype = cap.get_datalink().0 as u32;
        Ok(LiveCapture {
            iface: iface.to_string(),
            cap,
            linktype,
            frame: 0,
        })
    }

    /// The interface name.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// One packet, or `Idle` after about a millisecond without one.
    pub fn poll(&mut self) -> Result<LiveEvent<'_>, CaptureError> {
        // tv_sec and tv_usec are i64 on the 64-bit Linux targets we build for.
        match self.cap.next_packet() {
            Ok(p) => {
                self.frame += 1;
                let ts = &p.header.ts;
                let ts_ns = ts
                    .tv_sec
                    .saturating_mul(1_000_000_000)
                    .saturating_add(ts.tv_usec * 1000);
                Ok(LiveEvent::Packet(Packet {
                    frame: self.frame,
                    ts_ns,
                    orig_len: p.header.len,
                    linktype: self.linktype,
                    iface: 0,
                    data: p.data,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(std::time::Duration::from_millis(1));
                Ok(LiveEvent::Idle)
            }
            Err(e) => Err(CaptureError::new(
                PathBuf::from(&self.iface),
                0,
                CaptureErrorKind::Live(e.to_string()),
            )),
        }
    }

    /// Drop counters so far.
    pub fn stats(&mut self) -> LiveStats {
        match self.cap.stats() {
            Ok(s) => LiveStats {
                received: s.received as u64,
                kernel_drops: s.dropped as u64,
                iface_drops: s.if_dropped as u64,
            },
            Err(_) => LiveStats::default(),
        }
    }
}

/// Parses durations such as `30s`, `5m`, `1h`, `250ms` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mult_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1u64)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (s, 1000)
    };
    let n: u64 = num.trim().parse().ok()?;
    Some(Duration::from_millis(n.checked_mul(mult_ms)?))
}
