//! A serde serializer that writes pretty JSON byte for byte as
//! `serde_json::to_writer_pretty` does (two-space indent), straight into a
//! byte buffer: a large site's report is a hundred megabytes of short
//! strings (evidence names, values, paths, times), and going through
//! `serde_json`'s formatter costs a call and a buffer check per piece.
//! Numbers are formatted by `serde_json` itself, so they are its text.

use serde::ser::{self, Serialize};

/// Writes `value` as pretty JSON at indent level `depth` into `out` (as it
/// would appear nested that deep in a larger document).
pub fn write<T: ?Sized + Serialize>(
    out: &mut Vec<u8>,
    depth: usize,
    value: &T,
) -> serde_json::Result<()> {
    value.serialize(&mut Json { out, depth })
}

/// A newline then an indent of up to 32 levels, written at once.
const BREAK: &[u8] = b"\n                                                                ";

struct Json<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
}

impl<'a> Json<'a> {
    /// A line break and the indent of the current depth.
    fn line(&mut self) {
        let mut rest = self.depth * 2;
        let first = rest.min(BREAK.len() - 1);
        self.out
            .extend_from_slice(BREAK.get(..1 + first).unwrap_or(BREAK));
        rest -= first;
        while rest > 0 {
            let n = rest.min(BREAK.len() - 1);
            self.out
                .extend_from_slice(BREAK.get(1..1 + n).unwrap_or_default());
            rest -= n;
        }
    }

    fn string(&mut self, s: &str) {
        string(self.out, s);
    }

    /// Text `serde_json` writes for a value (numbers).
    fn json<T: Serialize>(&mut self, v: T) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *self.out, &v)
    }

    /// Opens an array or object: empty ones close at once.
    fn open<'s>(&'s mut self, c: u8, len: Option<usize>) -> Compound<'s, 'a> {
        self.out.push(c);
        if len == Some(0) {
            self.out.push(if c == b'[' { b']' } else { b'}' });
            return Compound {
                ser: self,
                state: State::Empty,
            };
        }
        self.depth += 1;
        Compound {
            ser: self,
            state: State::First,
        }
    }

    /// `{"variant": ` of an enum variant holding data, then the data.
    fn variant_open(&mut self, variant: &str) {
        self.out.push(b'{');
        self.depth += 1;
        self.line();
        self.string(variant);
        self.out.extend_from_slice(b": ");
    }

    fn variant_close(&mut self) {
        self.depth -= 1;
        self.line();
        self.out.push(b'}');
    }
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    // Nearly every string needs no escape: checked eight bytes at a time,
    // then copied at once.
    if !needs_escape(b) {
        out.extend_from_slice(b);
    } else {
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            let esc: &[u8] = match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x0c => b"\\f",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(b.get(start..i).unwrap_or_default());
            if esc.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            } else {
                out.extend_from_slice(esc);
            }
            start = i + 1;
        }
        out.extend_from_slice(b.get(start..).unwrap_or_default());
    }
    out.push(b'"');
}

/// Whether `b` holds a byte JSON escapes (a control character, `"` or
/// `\\`), eight bytes at a time: each word is tested for a byte below 0x20,
/// or equal to either of the two, by the usual carry tricks (exact: a word
/// with no such byte never tests positive).
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |x: u64| {
        let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
        below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1) != 0
    };
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        if word(u64::from_le_bytes(a)) {
            return true;
        }
    }
    // The tail padded with a byte that needs nothing.
    let mut a = [b'a'; 8];
    for (d, s) in a.iter_mut().zip(words.remainder()) {
        *d = *s;
    }
    word(u64::from_le_bytes(a))
}

enum State {
    Empty,
    First,
    Rest,
}

/// An array or object being written.
struct Compound<'s, 'a> {
    ser: &'s mut Json<'a>,
    state: State,
}

impl Compound<'_, '_> {
    fn item(&mut self) {
        if matches!(self.state, State::Rest) {
            self.ser.out.push(b',');
        }
        self.state = State::Rest;
        self.ser.line();
    }

    fn close(self, c: u8) {
        if matches!(self.state, State::Empty) {
            return;
        }
        self.ser.depth -= 1;
        if matches!(self.state, State::Rest) {
            self.ser.line();
        }
        self.ser.out.push(c);
    }

    /// Closes the data of an enum variant, then the object around it.
    fn close_variant(self, c: u8) {
        let Compound { ser, state } = self;
        Compound {
            ser: &mut *ser,
            state,
        }
        .close(c);
        ser.variant_close();
    }

    fn element<T: ?Sized + Serialize>(&mut self, v: &T) -> serde_json::Result<()> {
        self.item();
        v.serialize(&mut *self.ser)
    }

    fn entry<T: ?Sized + Serialize>(&mut self, key: &str, v: &T) -> serde_json::Result<()> {
        self.item();
        self.ser.string(key);
        self.ser.out.extend_from_slice(b": ");
        v.serialize(&mut *self.ser)
    }
}

type Res = serde_json::Result<()>;

impl<'s, 'a> ser::Serializer for &'s mut Json<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    fn serialize_bool(self, v: bool) -> Res {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Res {
        if v < 0 {
            self.out.push(b'-');
        }
        self.serialize_u64(v.unsigned_abs())
    }
    fn serialize_i128(self, v: i128) -> Res {
        self.json(v)
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, mut v: u64) -> Res {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.out
            .extend_from_slice(digits.get(at..).unwrap_or_default());
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Res {
        self.json(v)
    }
    fn serialize_f32(self, v: f32) -> Res {
        self.json(v)
    }
    fn serialize_f64(self, v: f64) -> Res {
        self.json(v)
    }
    fn serialize_char(self, v: char) -> Res {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Res {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Res {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Res {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Res {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Res {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        v: &T,
    ) -> Res {
        self.variant_open(variant);
        v.serialize(&mut *self)?;
        self.variant_close();
        Ok(())
    }
    fn serialize_seq(self, len: Option<usize>) -> serde_json::Result<Self::SerializeSeq> {
        Ok(self.open(b'[', len))
    }
    fn serialize_tuple(self, len: usize) -> serde_json::Result<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> serde_json::Result<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        len: usize,
    ) -> serde_json::Result<Self::SerializeTupleVariant> {
        self.variant_open(variant);
        Ok(self.open(b'[', Some(len)))
    }
    fn serialize_map(self, len: Option<usize>) -> serde_json::Result<Self::SerializeMap> {
        Ok(self.open(b'{', len))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> serde_json::Result<Self::SerializeStruct> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        len: usize,
    ) -> serde_json::Result<Self::SerializeStructVariant> {
        self.variant_open(variant);
        Ok(self.open(b'{', Some(len)))
    }
}

/// The array-like compounds: elements, then `]`.
macro_rules! array_like {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Compound<'_, '_> {
            type Ok = ();
            type Error = serde_json::Error;
            fn $method<T: ?Sized + Serialize>(&mut self, v: &T) -> Res {
                self.element(v)
            }
            fn end(self) -> Res {
                self.close(b']');
                Ok(())
            }
        }
    )*};
}

array_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Res {
        self.element(v)
    }
    fn end(self) -> Res {
        self.close_variant(b']');
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Res {
        self.item();
        // Keys are strings; numbers and the like are quoted, as serde_json
        // quotes them.
        let text = serde_json::to_string(key)?;
        if text.starts_with('"') {
            self.ser.out.extend_from_slice(text.as_bytes());
        } else if text == "null" || text.starts_with('[') || text.starts_with('{') {
            return Err(ser::Error::custom("key must be a string"));
        } else {
            self.ser.string(&text);
        }
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Res {
        self.ser.out.extend_from_slice(b": ");
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Res {
        self.close(b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Res {
        self.entry(key, v)
    }
    fn end(self) -> Res {
        self.close(b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Res {
        self.entry(key, v)
    }
    fn end(self) -> Res {
        self.close_variant(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{string, write};
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { a: Option<f64>, b: Vec<Shape> },
        EmptyTuple(),
        EmptyStruct {},
    }

    #[derive(Serialize)]
    struct Everything {
        text: Vec<String>,
        ints: (i8, i16, i32, i64, u8, u16, u32, u64, i128, u128),
        floats: Vec<f64>,
        float32: f32,
        flags: [bool; 2],
        ch: char,
        nothing: Option<u8>,
        unit: (),
        shapes: Vec<Shape>,
        by_number: BTreeMap<i64, String>,
        by_flag: BTreeMap<bool, u8>,
        nested: Vec<Vec<BTreeMap<String, Vec<u8>>>>,
        #[serde(with = "serde_bytes_like")]
        raw: Vec<u8>,
    }

    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    fn ours<T: Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        write(&mut out, 0, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_what_serde_json_writes() {
        // Every byte below 0x80 alone, then in company, then non-ASCII.
        let mut text: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        text.push((0u8..0x80).map(char::from).collect());
        text.push("CT_\"SCANNER\"\\01\u{e9}\u{2028}\u{1f600}\u{7f}".into());
        text.push(String::new());
        let v = Everything {
            text,
            ints: (
                i8::MIN,
                i16::MIN,
                i32::MIN,
                i64::MIN,
                u8::MAX,
                u16::MAX,
                u32::MAX,
                u64::MAX,
                i128::MIN,
                u128::MAX,
            ),
            floats: vec![
                0.0,
                -0.0,
                0.1,
                1.5e300,
                -2.25e-300,
                f64::NAN,
                f64::INFINITY,
                87.5,
                1e21,
            ],
            float32: 0.3,
            flags: [true, false],
            ch: '\u{1}',
            nothing: None,
            unit: (),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-1, "x\ny".into()),
                Shape::Struct {
                    a: Some(0.5),
                    b: vec![Shape::Unit, Shape::Struct { a: None, b: vec![] }],
                },
                Shape::EmptyTuple(),
                Shape::EmptyStruct {},
            ],
            by_number: [
                (-3, "minus".to_string()),
                (0, String::new()),
                (42, "\t".into()),
            ]
            .into_iter()
            .collect(),
            by_flag: [(true, 1), (false, 0)].into_iter().collect(),
            nested: vec![
                vec![],
                vec![BTreeMap::new()],
                vec![[("k".to_string(), vec![1, 2])].into_iter().collect()],
            ],
            raw: vec![0, 255, 10],
        };
        assert_eq!(ours(&v), serde_json::to_string_pretty(&v).unwrap());
        // Deep nesting goes past the indent written at once.
        let deep = (0..40).fold(
            serde_json::json!("leaf"),
            |v, i| serde_json::json!({ "level": i, "inner": [v, [], {}, [1, 2]] }),
        );
        assert_eq!(ours(&deep), serde_json::to_string_pretty(&deep).unwrap());
        let v = serde_json::json!({
            "empty_object": {},
            "empty_array": [],
            "nested": { "a": [1, { "b": null, "c": "x\"y\n" }], "d": true },
            "deep": deep,
        });
        assert_eq!(ours(&v), serde_json::to_string_pretty(&v).unwrap());
    }

    #[test]
    fn strings_escape_as_serde_json_escapes_them() {
        // Generated strings of characters that escape and that do not.
        let alphabet = [
            'a',
            'Z',
            ' ',
            '"',
            '\\',
            '\n',
            '\u{1}',
            '\u{1f}',
            '\u{7f}',
            '\u{e9}',
            '\u{1f600}',
        ];
        let mut x: u64 = 0x150e;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let generated: Vec<String> = (0..3000)
            .map(|_| {
                let len = next() % 40;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect();
        for s in generated {
            let mut out = Vec::new();
            string(&mut out, &s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }
}
