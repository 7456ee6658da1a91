//! MAC address to manufacturer, from the IEEE MA-L, MA-M and MA-S (and IAB)
//! registries. The longest assignment wins: a 36-bit MA-S block inside a
//! 24-bit MA-L belongs to the MA-S holder.

include!(concat!(env!("OUT_DIR"), "/oui_tables.rs"));

fn find(table: &'static [(u64, &'static str)], key: u64) -> Option<&'static str> {
    table
        .binary_search_by_key(&key, |e| e.0)
        .ok()
        .and_then(|i| table.get(i))
        .map(|e| e.1)
}

/// The registered organisation of a MAC address, if any. Locally
/// administered addresses (randomised MACs) have none.
pub fn vendor(mac: &[u8; 6]) -> Option<&'static str> {
    if is_locally_administered(mac) || is_multicast(mac) {
        return None;
    }
    let v = mac.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
    find(OUI36, v >> 12)
        .or_else(|| find(OUI28, v >> 20))
        .or_else(|| find(OUI24, v >> 24))
}

/// Bit 1 of the first octet: set on randomised and virtual MACs.
pub fn is_locally_administered(mac: &[u8; 6]) -> bool {
    mac[0] & 0x02 != 0
}

/// Bit 0 of the first octet: group (multicast/broadcast) addresses.
pub fn is_multicast(mac: &[u8; 6]) -> bool {
    mac[0] & 0x01 != 0
}

/// Number of assignments known (MA-L, MA-M, MA-S).
pub fn table_sizes() -> (usize, usize, usize) {
    (OUI24.len(), OUI28.len(), OUI36.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medical_vendors_and_longest_prefix() {
        assert_eq!(
            vendor(&[0x44, 0x4b, 0x5d, 0x3c, 0x81, 0x0f]),
            Some("GE Healthcare")
        );
        assert_eq!(
            vendor(&[0x00, 0x0f, 0x14, 1, 2, 3]),
            Some("Mindray Co., Ltd.")
        );
        // 00:50:C2 is an IEEE block whose 36-bit sub-assignment 00:50:C2:2E:0 is Baxter's.
        assert_eq!(
            vendor(&[0x00, 0x50, 0xc2, 0x2e, 0x01, 0x23]),
            Some("Baxter International Inc")
        );
        assert_eq!(vendor(&[0x02, 0, 0, 0, 0, 1]), None);
        let (a, b, c) = table_sizes();
        assert!(a > 30_000 && b > 4_000 && c > 8_000, "{a} {b} {c}");
    }
}
