//! 802.11 seen in monitor mode: who the wireless networks and their stations
//! are, even where every data frame is encrypted. Beacons and probe
//! responses name an access point's network (SSID) and its security (open,
//! WEP, WPA, WPA2/WPA3 Personal or Enterprise, OWE, from the capability's
//! privacy bit and the RSN and WPA elements); association requests name a
//! station joining one; a data frame a station sends to its access point,
//! encrypted or not, says that it is on it ([`station_of`]; decoding finds
//! its BSSID). Nothing of a data frame's body is read here.

use crate::bytes::mac_text;
use crate::obs::{ObsKind, WifiFact};

/// Reads a management frame (the whole 802.11 frame: a beacon, probe
/// response, association or reassociation request).
pub fn parse_management(f: &[u8]) -> Option<ObsKind> {
    let subtype = f.first()? >> 4;
    let (a2, a3) = (f.get(10..16)?, f.get(16..22)?);
    let (station, fixed) = match subtype {
        // Beacon, probe response: timestamp, interval, capability.
        8 | 5 => (false, 12),
        // Association request: capability, listen interval.
        0 => (true, 4),
        // Reassociation request: the current access point too.
        2 => (true, 10),
        _ => return None,
    };
    // A beacon comes from its BSSID.
    if !station && a2 != a3 {
        return None;
    }
    let body = f.get(24..)?;
    let capability = if station {
        u16::from_le_bytes([*body.first()?, *body.get(1)?])
    } else {
        u16::from_le_bytes([*body.get(10)?, *body.get(11)?])
    };
    let mut ssid = None;
    let mut rsn = None;
    let mut wpa = false;
    let mut ies = body.get(fixed..)?;
    while let [id, len, rest @ ..] = ies {
        let Some(v) = rest.get(..usize::from(*len)) else {
            break; // a frame check sequence or a cut frame
        };
        match id {
            0 if ssid.is_none() => {
                ssid = Some(
                    (!v.iter().all(|c| *c == 0))
                        .then(|| crate::bytes::text_opt(v, 32))
                        .flatten(),
                )
            }
            48 => rsn = Some(v),
            221 if v.starts_with(&[0x00, 0x50, 0xF2, 0x01]) => wpa = true,
            _ => {}
        }
        ies = &rest[usize::from(*len)..];
    }
    Some(ObsKind::Wifi(Box::new(WifiFact {
        station,
        bssid: mac_text(a3),
        ssid: ssid.flatten(),
        security: Some(security(capability & 0x10 != 0, rsn, wpa)),
    })))
}

/// A station seen sending a data frame to access point `bssid`.
pub fn station_of(bssid: &[u8; 6]) -> ObsKind {
    ObsKind::Wifi(Box::new(WifiFact {
        station: true,
        bssid: mac_text(bssid),
        ssid: None,
        security: None,
    }))
}

/// The security a network offers: RSN (802.11i) authentication suites,
/// else the WPA element, else the privacy bit (WEP), else open.
fn security(privacy: bool, rsn: Option<&[u8]>, wpa: bool) -> String {
    if let Some(r) = rsn {
        if let Some(s) = rsn_security(r) {
            return s.into();
        }
    }
    match (wpa, privacy) {
        (true, _) => "WPA",
        (false, true) => "WEP",
        (false, false) => "open",
    }
    .into()
}

/// An RSN element's authentication suites (IEEE 802.11-2020 9.4.2.24) as a
/// name.
fn rsn_security(r: &[u8]) -> Option<&'static str> {
    // Version, group cipher suite, pairwise suites, then the AKM suites.
    let pairwise = usize::from(u16::from_le_bytes([*r.get(6)?, *r.get(7)?]));
    let at = 8 + 4 * pairwise;
    let count = usize::from(u16::from_le_bytes([*r.get(at)?, *r.get(at + 1)?]));
    let (mut enterprise, mut psk, mut sae, mut owe, mut suite_b) =
        (false, false, false, false, false);
    for i in 0..count.min(16) {
        let s = r.get(at + 2 + 4 * i..at + 6 + 4 * i)?;
        if s[..3] != [0x00, 0x0F, 0xAC] {
            continue;
        }
        match s[3] {
            1 | 3 | 5 => enterprise = true,
            2 | 4 | 6 => psk = true,
            8 | 9 | 24 | 25 => sae = true,
            11..=13 => suite_b = true,
            18 => owe = true,
            _ => {}
        }
    }
    Some(match (enterprise || suite_b, psk, sae, owe) {
        (true, ..) if suite_b && !enterprise => "WPA3-Enterprise",
        (true, ..) => "WPA2-Enterprise",
        (false, true, true, _) => "WPA2/WPA3-Personal",
        (false, true, false, _) => "WPA2-Personal",
        (false, false, true, _) => "WPA3-Personal",
        (false, false, false, true) => "OWE",
        _ => return None,
    })
}

/// Completes the stations' facts with what their networks' beacons say:
/// the SSID and security of the access point (BSSID) each joined, when a
/// beacon or probe response of it was seen.
pub fn complete_stations(facts: &mut [&mut WifiFact]) {
    let networks: std::collections::HashMap<String, (Option<String>, Option<String>)> = facts
        .iter()
        .filter(|f| !f.station)
        .map(|f| (f.bssid.clone(), (f.ssid.clone(), f.security.clone())))
        .collect();
    for f in facts.iter_mut().filter(|f| f.station) {
        if let Some((ssid, security)) = networks.get(&f.bssid) {
            if f.ssid.is_none() {
                f.ssid.clone_from(ssid);
            }
            if f.security.is_none() {
                f.security.clone_from(security);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AP: [u8; 6] = [0x00, 0x0b, 0x86, 0x01, 0x02, 0x03];
    const PUMP: [u8; 6] = [0x00, 0x12, 0x86, 0x0a, 0x0b, 0x0c];

    fn beacon(capability: u16, ies: &[u8]) -> Vec<u8> {
        let mut f = vec![0x80, 0x00, 0, 0];
        f.extend([0xff; 6]);
        f.extend(AP);
        f.extend(AP);
        f.extend([0, 0]);
        f.extend([0; 10]);
        f.extend(capability.to_le_bytes());
        f.extend(ies);
        f
    }

    fn fact(o: Option<ObsKind>) -> WifiFact {
        match o {
            Some(ObsKind::Wifi(f)) => *f,
            other => panic!("{other:?}"),
        }
    }

    fn rsn(akms: &[u8]) -> Vec<u8> {
        let mut v = vec![1, 0, 0x00, 0x0F, 0xAC, 4, 1, 0, 0x00, 0x0F, 0xAC, 4];
        v.extend((akms.len() as u16).to_le_bytes());
        for a in akms {
            v.extend([0x00, 0x0F, 0xAC, *a]);
        }
        v.extend([0, 0]);
        let mut ie = vec![48, v.len() as u8];
        ie.extend(v);
        ie
    }

    #[test]
    fn beacons_name_network_and_security() {
        let ssid = [0, 7, b'C', b'l', b'i', b'n', b'i', b'c', b'1'];
        let cases: [(u16, Vec<u8>, &str); 7] = [
            (0x0001, vec![], "open"),
            (0x0011, vec![], "WEP"),
            (
                0x0011,
                vec![221, 8, 0x00, 0x50, 0xF2, 0x01, 1, 0, 0, 0],
                "WPA",
            ),
            (0x0011, rsn(&[2]), "WPA2-Personal"),
            (0x0011, rsn(&[1]), "WPA2-Enterprise"),
            (0x0011, rsn(&[2, 8]), "WPA2/WPA3-Personal"),
            (0x0011, rsn(&[8]), "WPA3-Personal"),
        ];
        for (cap, extra, want) in cases {
            let mut ies = ssid.to_vec();
            ies.extend(extra);
            let f = fact(parse_management(&beacon(cap, &ies)));
            assert!(!f.station);
            assert_eq!(f.bssid, "00:0b:86:01:02:03");
            assert_eq!(f.ssid.as_deref(), Some("Clinic1"));
            assert_eq!(f.security.as_deref(), Some(want));
        }
        // A hidden network, and every truncation: no panic.
        let hidden = beacon(0x0011, &[0, 4, 0, 0, 0, 0]);
        assert_eq!(fact(parse_management(&hidden)).ssid, None);
        let full = beacon(0x0011, &[ssid.as_slice(), &rsn(&[2])].concat());
        for n in 0..full.len() {
            let _ = parse_management(&full[..n]);
        }
    }

    #[test]
    fn stations_join_and_send() {
        // Association request from the pump to the access point.
        let mut f = vec![0x00, 0x00, 0, 0];
        f.extend(AP);
        f.extend(PUMP);
        f.extend(AP);
        f.extend([0, 0, 0x11, 0x00, 0x0a, 0x00]);
        f.extend([0, 7]);
        f.extend(b"Clinic1");
        f.extend(rsn(&[2]));
        let s = fact(parse_management(&f));
        assert!(s.station);
        assert_eq!(s.bssid, "00:0b:86:01:02:03");
        assert_eq!(
            (s.ssid.as_deref(), s.security.as_deref()),
            (Some("Clinic1"), Some("WPA2-Personal"))
        );
        // A data frame to the distribution system (decoding finds which
        // frames are; see wardwatch-flow's decode tests).
        let d = fact(Some(station_of(&AP)));
        assert!(d.station && d.ssid.is_none());
        assert_eq!(d.bssid, "00:0b:86:01:02:03");
        // The station learns its network's name and security from the
        // beacon.
        let mut ap = fact(parse_management(&beacon(0x0011, &[0, 3, b'W', b'E', b'P'])));
        let mut st = d;
        complete_stations(&mut [&mut st, &mut ap]);
        assert_eq!(
            (st.ssid.as_deref(), st.security.as_deref()),
            (Some("WEP"), Some("WEP"))
        );
    }
}
