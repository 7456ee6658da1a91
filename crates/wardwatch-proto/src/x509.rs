//! Just enough DER to read what matters about a server certificate sent in
//! the clear (TLS 1.2 and earlier): subject and issuer common names,
//! validity, whether it is self-signed, and the RSA key size.

use crate::bytes::tlv as der;

/// What a certificate says about its holder (the observation's fact).
pub type CertInfo = crate::obs::TlsCertificateFact;

/// The common name (2.5.4.3) of a Name, or its first string.
fn name_cn(name: &[u8]) -> String {
    let mut first = None;
    let mut rdns = name;
    while let Some((_, set, rest)) = der(rdns) {
        rdns = rest;
        let mut atvs = set;
        while let Some((_, atv, r2)) = der(atvs) {
            atvs = r2;
            let Some((_, oid, after)) = der(atv) else {
                continue;
            };
            let Some((_, val, _)) = der(after) else {
                continue;
            };
            let s: String = String::from_utf8_lossy(val)
                .chars()
                .filter(|c| !c.is_control())
                .take(128)
                .collect();
            if oid == [0x55, 0x04, 0x03] {
                return s;
            }
            first.get_or_insert(s);
        }
    }
    first.unwrap_or_default()
}

/// Parses a DER certificate.
pub fn parse(cert: &[u8]) -> Option<CertInfo> {
    let (_, c, _) = der(cert)?;
    let (_, tbs, _) = der(c)?;
    let mut rest = tbs;
    // [0] version is optional.
    let (tag, _, r) = der(rest)?;
    if tag == 0xA0 {
        rest = r;
    }
    let (_, _serial, r) = der(rest)?;
    let (_, _sigalg, r) = der(r)?;
    let (_, issuer, r) = der(r)?;
    let (_, validity, r) = der(r)?;
    let (_, subject, r) = der(r)?;
    let (_, spki, _) = der(r)?;
    let (_, nb, vr) = der(validity)?;
    let (_, na, _) = der(vr)?;
    let text = |v: &[u8]| {
        String::from_utf8_lossy(v)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    // SubjectPublicKeyInfo: algorithm, BIT STRING holding RSAPublicKey.
    let rsa_bits = (|| {
        let (_, alg, r) = der(spki)?;
        let (_, oid, _) = der(alg)?;
        if oid != [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01] {
            return None;
        }
        let (_, bits, _) = der(r)?;
        let (_, key, _) = der(bits.get(1..)?)?;
        let (_, modulus, _) = der(key)?;
        let m = match modulus.first() {
            Some(0) => &modulus[1..],
            _ => modulus,
        };
        let lead = *m.first()?;
        Some((m.len() as u32 - 1) * 8 + (8 - lead.leading_zeros()))
    })();
    Some(CertInfo {
        subject: name_cn(subject),
        issuer: name_cn(issuer),
        not_before: text(nb),
        not_after: text(na),
        self_signed: subject == issuer,
        rsa_bits,
    })
}
