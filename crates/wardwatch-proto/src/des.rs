//! DES encryption of one block (FIPS 46-3), only as VNC authentication
//! needs it: the server's 16-byte challenge comes back encrypted with the
//! password as the key, so a default or common password can be recognised
//! by encrypting the challenge with each candidate and comparing. Nothing
//! is decrypted and no password is kept.
//!
//! The round function uses tables that fold each S-box into the P
//! permutation (built once from the standard's tables), so a candidate
//! costs sixteen rounds of eight look-ups.

use std::sync::OnceLock;

/// Initial permutation (bit positions 1..=64, 1 being the most significant).
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// Final permutation, the inverse of [`IP`].
const FP: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30,
    37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];

/// Permutation of the S-boxes' 32 output bits.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];

/// Permuted choice 1: the key's 56 bits (parity bits dropped).
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2: a round key's 48 bits from the 56.
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of the key halves per round.
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// The eight S-boxes, each four rows of sixteen.
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// Picks bits of `input` (`width` bits wide) in the order `table` names
/// them (1 = the most significant).
fn permute(input: u64, width: u32, table: &[u8]) -> u64 {
    table.iter().fold(0, |out, &t| {
        (out << 1) | ((input >> (width - u32::from(t))) & 1)
    })
}

/// S-box `i` applied to six bits, its four output bits in their place in
/// the 32-bit word, then permuted by P.
fn sp_tables() -> &'static [[u32; 64]; 8] {
    static SP: OnceLock<[[u32; 64]; 8]> = OnceLock::new();
    SP.get_or_init(|| {
        let mut t = [[0u32; 64]; 8];
        for (i, row) in t.iter_mut().enumerate() {
            for (v, cell) in row.iter_mut().enumerate() {
                // The outer bits choose the row, the inner four the column.
                let r = ((v >> 4) & 2) | (v & 1);
                let c = (v >> 1) & 0xF;
                let s = u64::from(S[i][r * 16 + c]) << (28 - 4 * i);
                *cell = permute(s, 32, &P) as u32;
            }
        }
        t
    })
}

/// A key's sixteen 48-bit round keys.
pub struct Key([u64; 16]);

impl Key {
    /// The schedule of a 64-bit key (its parity bits are ignored).
    pub fn new(key: [u8; 8]) -> Key {
        let k56 = permute(u64::from_be_bytes(key), 64, &PC1);
        let mask = (1u64 << 28) - 1;
        let (mut c, mut d) = ((k56 >> 28) & mask, k56 & mask);
        let rot = |x: u64, n: u32| ((x << n) | (x >> (28 - n))) & mask;
        let mut rounds = [0u64; 16];
        for (k, &n) in rounds.iter_mut().zip(&SHIFTS) {
            c = rot(c, n);
            d = rot(d, n);
            *k = permute((c << 28) | d, 56, &PC2);
        }
        Key(rounds)
    }

    /// Encrypts one block.
    pub fn encrypt(&self, block: [u8; 8]) -> [u8; 8] {
        let sp = sp_tables();
        let b = permute(u64::from_be_bytes(block), 64, &IP);
        let (mut l, mut r) = ((b >> 32) as u32, b as u32);
        for k in self.0 {
            let mut f = 0u32;
            for (i, table) in sp.iter().enumerate() {
                // Expansion E: six bits of R around each group of four
                // (bit 32 before bit 1, bit 1 after bit 32).
                let e = (r.rotate_left((4 * i as u32 + 31) % 32) >> 26) & 0x3F;
                let ki = (k >> (42 - 6 * i)) as u32 & 0x3F;
                f |= table[((e ^ ki) & 0x3F) as usize];
            }
            (l, r) = (r, l ^ f);
        }
        // The halves are swapped after the last round.
        permute((u64::from(r) << 32) | u64::from(l), 64, &FP).to_be_bytes()
    }
}

/// The DES key VNC derives from a password: its first eight bytes, padded
/// with zeros, each byte's bits reversed.
pub fn vnc_key(password: &[u8]) -> Key {
    let mut k = [0u8; 8];
    for (d, s) in k.iter_mut().zip(password) {
        *d = s.reverse_bits();
    }
    Key::new(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; 8] {
        u64::from_str_radix(s, 16).unwrap().to_be_bytes()
    }

    #[test]
    fn published_test_vectors() {
        // The standard's worked example and FIPS 81's ECB example.
        let k = Key::new(hex("133457799BBCDFF1"));
        assert_eq!(k.encrypt(hex("0123456789ABCDEF")), hex("85E813540F0AB405"));
        let k = Key::new(hex("0123456789ABCDEF"));
        assert_eq!(k.encrypt(*b"Now is t"), hex("3FA40E8A984D4815"));
        // A weak key's property: encryption is its own inverse.
        let weak = Key::new(hex("0101010101010101"));
        let c = weak.encrypt(*b"wardwtch");
        assert_eq!(weak.encrypt(c), *b"wardwtch");
    }
}
