//! Exact duplicate detection ([`Deduper`]).
//!
//! Hashes only choose where to look: a key is reported as seen only after a full
//! byte-for-byte comparison with a stored key. Two different keys whose 64-bit hashes
//! collide therefore cost one extra comparison and are both kept; no row is ever
//! dropped because of a hash.
//!
//! # Layout
//!
//! A whole-file batch holds about half a million lines, and what costs is memory:
//! every probe into a table of several megabytes is a cache (and TLB) miss, and every
//! fresh page of kept keys is a page fault. Measured on the dataset, one global table
//! of all line keys cost more than cleaning the lines. So:
//!
//! * Byte keys ([`Deduper::insert`], [`Deduper::insert_record`]) are appended to a few
//!   large shared chunks (no allocation per key, no copying when growing), described by
//!   a span list; their hash table only holds 4-byte key numbers.
//! * Typed lines ([`Deduper::insert_line`]) are grouped by invoice, the way the data
//!   comes. The invoice-level fields (InvoiceNo, InvoiceDate, CustomerID, Country) are
//!   interned as above: each distinct combination is stored once and named by a group
//!   number (the previous line's group is checked first, and nearly always matches).
//!   Each group has its own small table of its lines' remaining fields (StockCode,
//!   Description, Quantity, UnitPrice), which stays in cache while the group's lines
//!   stream by; those keys are packed tightly, one after the other in one buffer
//!   ([`LineKeys`]). Two lines can only be equal if they are in the same group, so this
//!   is exact. The group being read uses one reused table; a group seen again later (its
//!   lines were not contiguous) gets a table of its own, rebuilt once from its stored
//!   keys, so the work stays linear whatever the order of the input.
//!
//! The hasher is hashbrown's default (foldhash): a fast 64-bit hash for short keys,
//! seeded per process; exactness never depends on it. It is a type parameter so the
//! tests can force collisions.

use crate::line::InvoiceLine;
use crate::parse::short_eq;
use chrono::NaiveDateTime;
use csv::ByteRecord;
use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// Exact duplicate detection: remembers every key it was given and answers whether a
/// key was seen before (see the `dedup` module docs for how keys are stored).
///
/// Byte keys ([`Deduper::insert`], [`Deduper::insert_record`]) and typed lines
/// ([`Deduper::insert_line`]) are kept apart: a line never equals a byte key.
pub struct Deduper<S = DefaultHashBuilder> {
    bytes: ByteSet,
    lines: LineSet,
    hasher: S,
}

impl<S> std::fmt::Debug for Deduper<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduper")
            .field("keys", &self.bytes.len())
            .field("lines", &self.lines.lines.count)
            .finish()
    }
}

impl Default for Deduper {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl Deduper {
    /// An empty deduper with room for about `keys` lines before its storage grows.
    pub fn with_capacity(keys: usize) -> Self {
        Self::with_capacity_and_hasher(keys, DefaultHashBuilder::default())
    }
}

impl<S: BuildHasher> Deduper<S> {
    /// An empty deduper hashing with `hasher`. Any hasher gives exact answers; a poor
    /// one is only slower.
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_capacity_and_hasher(0, hasher)
    }

    /// [`Deduper::with_capacity`] with a given hasher.
    pub fn with_capacity_and_hasher(keys: usize, hasher: S) -> Self {
        Deduper {
            bytes: ByteSet::default(),
            lines: LineSet::with_capacity(keys),
            hasher,
        }
    }

    /// Records `key`; returns `true` if it is new, `false` if it was seen before.
    pub fn insert(&mut self, key: &[u8]) -> bool {
        let start = self.bytes.keys.open(key.len());
        self.bytes.keys.tail().extend_from_slice(key);
        self.bytes.commit(start, &self.hasher).1
    }

    /// Records a raw CSV row (field boundaries included in the key).
    pub fn insert_record(&mut self, rec: &ByteRecord) -> bool {
        let len = rec.as_slice().len() + 4 * rec.len();
        let start = self.bytes.keys.open(len);
        let tail = self.bytes.keys.tail();
        for f in rec.iter() {
            put_str(tail, f);
        }
        self.bytes.commit(start, &self.hasher).1
    }

    /// Records a typed line (every field, exactly: `2.5` and `2.50` differ, and so do
    /// two dates a millisecond apart). `IsCancellation` is not compared: it follows
    /// from InvoiceNo.
    pub fn insert_line(&mut self, line: &InvoiceLine) -> bool {
        self.lines.insert(line, &self.hasher)
    }

    /// How many distinct keys and lines were recorded.
    pub fn len(&self) -> usize {
        self.bytes.len() + self.lines.lines.count
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Appends `b` with its length in front, so that concatenated fields stay apart
/// (`"a","bc"` and `"ab","c"` give different bytes).
fn put_str(out: &mut Vec<u8>, b: &[u8]) {
    // No field of a ByteRecord or line comes near 4 GiB; saturating (rather than
    // wrapping) means two different lengths can never be written the same way below it.
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(b);
}

/// Keys stored back to back, numbered in insertion order.
#[derive(Default)]
struct Arena {
    /// Key bytes. A chunk never reallocates (it is created with the capacity it will
    /// ever have), so growing never copies old keys.
    chunks: Vec<Vec<u8>>,
    /// Where key number `i` lives, and its hash.
    spans: Vec<Span>,
}

#[derive(Clone, Copy)]
struct Span {
    hash: u64,
    chunk: u32,
    offset: u32,
    len: u32,
}

/// Chunk sizes: the first is small (a batch of a few rows stays cheap), each next one
/// doubles, up to 4 MiB.
const CHUNK_MIN: usize = 1 << 12;
const CHUNK_MAX: usize = 1 << 22;

impl Arena {
    fn len(&self) -> usize {
        self.spans.len()
    }

    /// Makes sure the last chunk can take `len` more bytes; returns where the next key
    /// starts. The key is then written with [`Arena::tail`] and either kept with
    /// [`Arena::keep`] or dropped with [`Arena::discard`].
    fn open(&mut self, len: usize) -> usize {
        let need_new = self
            .chunks
            .last()
            .is_none_or(|c| c.capacity() - c.len() < len);
        if need_new {
            let next = self
                .chunks
                .last()
                .map_or(CHUNK_MIN, |c| (c.capacity() * 2).min(CHUNK_MAX));
            self.chunks.push(Vec::with_capacity(next.max(len)));
        }
        self.tail().len()
    }

    /// The chunk keys are written to ([`Arena::open`] always leaves one).
    fn tail(&mut self) -> &mut Vec<u8> {
        let last = self.chunks.len() - 1;
        &mut self.chunks[last]
    }

    /// The key being written: the last chunk's bytes from `start`.
    fn pending(&self, start: usize) -> &[u8] {
        &self.chunks[self.chunks.len() - 1][start..]
    }

    /// Drops the key being written.
    fn discard(&mut self, start: usize) {
        self.tail().truncate(start);
    }

    /// Keeps the key being written as the next key number, which it returns.
    fn keep(&mut self, start: usize, hash: u64) -> u32 {
        let chunk = self.chunks.len() - 1;
        let len = self.chunks[chunk].len() - start;
        let id = u32::try_from(self.spans.len()).expect("fewer than 2^32 keys");
        self.spans.push(Span {
            hash,
            chunk: chunk as u32,
            offset: start as u32,
            len: len as u32,
        });
        id
    }

    /// Key number `id`.
    fn get(&self, id: u32) -> &[u8] {
        let s = self.spans[id as usize];
        &self.chunks[s.chunk as usize][s.offset as usize..][..s.len as usize]
    }

    fn hash(&self, id: u32) -> u64 {
        self.spans[id as usize].hash
    }

    /// True when key number `id` is `key`, whose hash is `hash`. The stored hash is
    /// only a cheap first filter: the bytes decide.
    fn is(&self, id: u32, hash: u64, key: &[u8]) -> bool {
        self.hash(id) == hash && self.get(id) == key
    }

    /// Looks the key being written up in `table` (which holds numbers of this arena's
    /// keys): if an equal key is there, drops the copy and returns that key's number
    /// and `false`; otherwise keeps it, adds it to `table` and returns its number and
    /// `true`.
    fn commit<S: BuildHasher>(
        &mut self,
        table: &mut HashTable<u32>,
        start: usize,
        hasher: &S,
    ) -> (u32, bool) {
        let key = self.pending(start);
        let hash = hasher.hash_one(key);
        let entry = table.entry(hash, |&i| self.is(i, hash, key), |&i| self.hash(i));
        match entry {
            Entry::Occupied(o) => {
                let id = *o.get();
                self.discard(start);
                (id, false)
            }
            Entry::Vacant(v) => {
                let id = u32::try_from(self.spans.len()).expect("fewer than 2^32 keys");
                v.insert(id);
                self.keep(start, hash);
                (id, true)
            }
        }
    }
}

/// An exact set of byte strings, each named by its insertion number (an interner).
#[derive(Default)]
struct ByteSet {
    keys: Arena,
    table: HashTable<u32>,
}

impl ByteSet {
    fn len(&self) -> usize {
        self.keys.len()
    }

    /// See [`Arena::commit`].
    fn commit<S: BuildHasher>(&mut self, start: usize, hasher: &S) -> (u32, bool) {
        self.keys.commit(&mut self.table, start, hasher)
    }
}

/// Exact set of typed lines, grouped by invoice (see the module docs).
#[derive(Default)]
struct LineSet {
    /// Distinct invoice-level fields; key number = group number.
    groups: ByteSet,
    /// Per group number: where its lines are looked up.
    group_lines: Vec<GroupLines>,
    /// The group of the previous line.
    current: Option<CurrentGroup>,
    /// The table of the current group while it is [`GroupLines::Run`] (cleared and
    /// reused for the next new group, so it allocates only when a group is bigger than
    /// all before it).
    run: HashTable<usize>,
    /// The distinct lines' own fields (see [`LineKeys`]).
    lines: LineKeys,
}

/// The previous line's group and its invoice-level fields, to tell cheaply whether the
/// next line belongs to it too.
#[derive(Default)]
struct CurrentGroup {
    group: u32,
    invoice_no: String,
    country: String,
    date: NaiveDateTime,
    customer_id: Option<u32>,
}

impl CurrentGroup {
    fn holds(&self, line: &InvoiceLine) -> bool {
        self.date == line.invoice_date
            && self.customer_id == line.customer_id
            && short_eq(self.invoice_no.as_bytes(), line.invoice_no.as_bytes())
            && short_eq(self.country.as_bytes(), line.country.as_bytes())
    }

    fn set(&mut self, group: u32, line: &InvoiceLine) {
        self.group = group;
        self.invoice_no.clone_from(&line.invoice_no);
        self.country.clone_from(&line.country);
        self.date = line.invoice_date;
        self.customer_id = line.customer_id;
    }
}

enum GroupLines {
    /// Seen in one stretch of consecutive lines so far: its keys are the ones in
    /// `start..end` of [`LineKeys::bytes`] (`end` is set when the stretch ends) and,
    /// while it is current, they are in [`LineSet::run`].
    Run { start: usize, end: usize },
    /// Seen again after other groups: its keys are in its own table.
    Own(HashTable<usize>),
}

/// The distinct lines' own fields (Quantity, UnitPrice, StockCode, Description), one
/// key after the other in a single buffer, each named by its offset there. Half a
/// million of them are kept, so they are packed tightly (about 40 bytes for a typical
/// line, where a flat key of every field at fixed width plus an index entry took about
/// 130):
///
/// * Quantity, zigzag LEB128 (1 or 2 bytes for most lines);
/// * UnitPrice: one byte holding the scale and sign, then the mantissa's magnitude in
///   LEB128, so `2.5` and `2.50` differ (as do 0 and -0, as `Decimal::serialize` would);
/// * StockCode's length in LEB128 and its bytes;
/// * Description's length in LEB128 and its bytes.
///
/// Every part is self-delimiting, so equal keys mean equal fields, and a key's end is
/// found by reading it (only needed when comparing with, or rehashing, a stored key).
#[derive(Default)]
struct LineKeys {
    bytes: Vec<u8>,
    count: usize,
}

impl LineKeys {
    fn with_capacity(lines: usize) -> Self {
        LineKeys {
            // About 40 bytes a line; only the pages written are ever touched.
            bytes: Vec::with_capacity(lines.saturating_mul(40)),
            count: 0,
        }
    }

    /// Writes the key of `line` at the end; returns its offset.
    fn write(&mut self, line: &InvoiceLine) -> usize {
        let out = &mut self.bytes;
        let at = out.len();
        let q = line.quantity;
        put_varint(out, u128::from(((q << 1) ^ (q >> 63)) as u64));
        let p = &line.unit_price;
        out.push(p.scale() as u8 | if p.is_sign_negative() { 0x80 } else { 0 });
        put_varint(out, p.mantissa().unsigned_abs());
        for s in [&line.stock_code, &line.description] {
            put_varint(out, s.len() as u128);
            out.extend_from_slice(s.as_bytes());
        }
        at
    }

    /// The key at offset `at`.
    fn get(&self, at: usize) -> &[u8] {
        let b = &self.bytes;
        // Past a LEB128 number starting at `i`.
        let skip_varint = |i: usize| i + 1 + b[i..].iter().take_while(|&&c| c >= 0x80).count();
        let mut end = skip_varint(at); // Quantity
        end = skip_varint(end + 1); // scale and sign, mantissa
        for _ in 0..2 {
            // StockCode, then Description: length, then bytes.
            let text = skip_varint(end);
            let len = b[end..text]
                .iter()
                .rev()
                .fold(0usize, |n, &c| n << 7 | usize::from(c & 0x7f));
            end = text + len;
        }
        &b[at..end]
    }

    /// Finds the key written last (at `at`) in `table`: if an equal key is there, drops
    /// the new copy and returns `false`; otherwise keeps it, adds it to `table` and
    /// returns `true`.
    fn commit<S: BuildHasher>(
        &mut self,
        table: &mut HashTable<usize>,
        at: usize,
        hasher: &S,
    ) -> bool {
        let key = &self.bytes[at..];
        let hash = hasher.hash_one(key);
        let entry = table.entry(
            hash,
            |&i| self.get(i) == key,
            |&i| hasher.hash_one(self.get(i)),
        );
        match entry {
            Entry::Occupied(_) => {
                self.bytes.truncate(at);
                false
            }
            Entry::Vacant(v) => {
                v.insert(at);
                self.count += 1;
                true
            }
        }
    }
}

/// Appends `v` in LEB128: seven bits a byte, low bits first, high bit set on all but
/// the last byte.
fn put_varint(out: &mut Vec<u8>, v: u128) {
    // 64-bit arithmetic is cheaper, and nearly every number here fits.
    match u64::try_from(v) {
        Ok(mut v) => {
            while v >= 0x80 {
                out.push(v as u8 | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        }
        Err(_) => {
            out.push(v as u8 | 0x80);
            put_varint(out, v >> 7);
        }
    }
}

impl LineSet {
    fn with_capacity(lines: usize) -> Self {
        LineSet {
            lines: LineKeys::with_capacity(lines),
            ..LineSet::default()
        }
    }

    fn insert<S: BuildHasher>(&mut self, line: &InvoiceLine, hasher: &S) -> bool {
        let group = self.enter_group(line, hasher);
        let at = self.lines.write(line);
        let table = match &mut self.group_lines[group as usize] {
            GroupLines::Run { .. } => &mut self.run,
            GroupLines::Own(table) => table,
        };
        self.lines.commit(table, at, hasher)
    }

    /// The group number of `line`'s invoice-level fields; makes its table the one
    /// [`LineSet::insert`] uses.
    fn enter_group<S: BuildHasher>(&mut self, line: &InvoiceLine, hasher: &S) -> u32 {
        if let Some(cur) = &self.current {
            if cur.holds(line) {
                return cur.group;
            }
        }
        let (inv, country) = (line.invoice_no.as_bytes(), line.country.as_bytes());
        let keys = &mut self.groups.keys;
        let start = keys.open(inv.len() + country.len() + 8 + 17);
        let tail = keys.tail();
        put_str(tail, inv);
        put_str(tail, country);
        let date = line.invoice_date.and_utc();
        tail.extend_from_slice(&date.timestamp().to_le_bytes());
        tail.extend_from_slice(&date.timestamp_subsec_nanos().to_le_bytes());
        // A presence byte, so that no customer number stands for "none".
        let mut customer = [0u8; 5];
        if let Some(c) = line.customer_id {
            customer[0] = 1;
            customer[1..].copy_from_slice(&c.to_le_bytes());
        }
        tail.extend_from_slice(&customer);
        let (group, new) = self.groups.commit(start, hasher);
        let here = self.lines.bytes.len();
        // The stretch of the group we leave ends here.
        if let Some(cur) = &self.current {
            if let GroupLines::Run { end, .. } = &mut self.group_lines[cur.group as usize] {
                *end = here;
            }
        }
        self.current
            .get_or_insert_with(CurrentGroup::default)
            .set(group, line);
        if new {
            self.group_lines.push(GroupLines::Run {
                start: here,
                end: here,
            });
            self.run.clear();
        } else if let GroupLines::Run { start, end } = self.group_lines[group as usize] {
            // Back to a group whose lines are no longer in `run`: give it its own
            // table, once. Its stored keys are distinct, so no comparison is needed.
            let lines = &self.lines;
            let mut own = HashTable::new();
            let mut at = start;
            while at < end {
                let key = lines.get(at);
                own.insert_unique(hasher.hash_one(key), at, |&i| hasher.hash_one(lines.get(i)));
                at += key.len();
            }
            self.group_lines[group as usize] = GroupLines::Own(own);
        }
        group
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::hash::Hasher;

    /// A hasher under which every key collides (every hash is 0).
    #[derive(Clone, Copy, Default)]
    struct Collide;

    impl BuildHasher for Collide {
        type Hasher = Zero;
        fn build_hasher(&self) -> Zero {
            Zero
        }
    }

    struct Zero;

    impl Hasher for Zero {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, _: &[u8]) {}
    }

    fn line(inv: &str, stock: &str, desc: &str, qty: i64, price: &str) -> InvoiceLine {
        InvoiceLine {
            invoice_no: inv.into(),
            stock_code: stock.into(),
            description: desc.into(),
            quantity: qty,
            invoice_date: chrono::DateTime::from_timestamp(1_291_191_960, 0)
                .unwrap()
                .naive_utc(),
            unit_price: price.parse().unwrap(),
            customer_id: Some(17850),
            country: "United Kingdom".into(),
            is_cancellation: false,
        }
    }

    #[test]
    fn colliding_hashes_never_drop_a_distinct_key() {
        let mut d = Deduper::with_hasher(Collide);
        assert_eq!(Collide.hash_one(b"abc"), Collide.hash_one(b"abd"));
        assert!(d.insert(b"abc"));
        assert!(d.insert(b"abd"));
        assert!(d.insert(b""));
        assert!(!d.insert(b"abc"));
        assert!(!d.insert(b"abd"));
        assert!(!d.insert(b""));
        assert!(d.insert_record(&ByteRecord::from(vec!["a", "bc"])));
        assert!(d.insert_record(&ByteRecord::from(vec!["ab", "c"])));
        assert!(!d.insert_record(&ByteRecord::from(vec!["a", "bc"])));
        assert_eq!(d.len(), 5);
    }

    #[test]
    fn colliding_hashes_never_drop_a_distinct_line() {
        let a = line(
            "536365",
            "85123A",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            6,
            "2.55",
        );
        let mut b = a.clone();
        b.description.push('S');
        let mut d = Deduper::with_hasher(Collide);
        assert_eq!(Collide.hash_one(&a), Collide.hash_one(&b));
        assert!(d.insert_line(&a));
        // Same invoice, every hash equal, one field different: both are kept.
        assert!(d.insert_line(&b));
        assert!(!d.insert_line(&a));
        assert!(!d.insert_line(&b));
        assert_eq!(d.len(), 2);
        // Each field on its own makes a line distinct, under colliding hashes too.
        let mut d = Deduper::with_hasher(Collide);
        assert!(d.insert_line(&a));
        let variants: Vec<InvoiceLine> = vec![
            InvoiceLine {
                invoice_no: "536366".into(),
                ..a.clone()
            },
            InvoiceLine {
                stock_code: "85123B".into(),
                ..a.clone()
            },
            // The StockCode/Description boundary is part of the key.
            InvoiceLine {
                stock_code: "85123AW".into(),
                description: "HITE HANGING HEART T-LIGHT HOLDER".into(),
                ..a.clone()
            },
            InvoiceLine {
                quantity: -6,
                ..a.clone()
            },
            InvoiceLine {
                quantity: 6 + (1 << 40),
                ..a.clone()
            },
            InvoiceLine {
                unit_price: "2.550".parse().unwrap(),
                ..a.clone()
            },
            InvoiceLine {
                unit_price: "-2.55".parse().unwrap(),
                ..a.clone()
            },
            InvoiceLine {
                unit_price: Decimal::MAX,
                ..a.clone()
            },
            InvoiceLine {
                customer_id: None,
                ..a.clone()
            },
            InvoiceLine {
                customer_id: Some(17851),
                ..a.clone()
            },
            InvoiceLine {
                country: "France".into(),
                ..a.clone()
            },
            InvoiceLine {
                invoice_date: a.invoice_date + chrono::Duration::milliseconds(1),
                ..a.clone()
            },
        ];
        for v in &variants {
            assert!(d.insert_line(v), "{v:?}");
        }
        for v in variants.iter().chain([&a]) {
            assert!(!d.insert_line(v), "{v:?}");
        }
        assert_eq!(d.len(), variants.len() + 1);
    }

    #[test]
    fn line_keys_know_where_they_end() {
        let a = line(
            "536365",
            "85123A",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            6,
            "2.55",
        );
        let lines = [
            a.clone(),
            InvoiceLine {
                description: "x".repeat(300),
                ..a.clone()
            },
            InvoiceLine {
                stock_code: String::new(),
                description: String::new(),
                ..a.clone()
            },
            InvoiceLine {
                quantity: i64::MIN,
                unit_price: Decimal::MIN,
                ..a.clone()
            },
            InvoiceLine {
                quantity: i64::MAX,
                unit_price: "-0.0000001".parse().unwrap(),
                ..a.clone()
            },
        ];
        let mut keys = LineKeys::default();
        let mut starts = Vec::new();
        for l in &lines {
            starts.push(keys.write(l));
        }
        starts.push(keys.bytes.len());
        for w in starts.windows(2) {
            assert_eq!(keys.get(w[0]), &keys.bytes[w[0]..w[1]]);
        }
    }

    /// The exact key a line is compared on (what the Deduper must agree with).
    type Reference = (
        String,
        String,
        String,
        i64,
        NaiveDateTime,
        [u8; 16],
        Option<u32>,
        String,
    );

    fn reference(l: &InvoiceLine) -> Reference {
        (
            l.invoice_no.clone(),
            l.stock_code.clone(),
            l.description.clone(),
            l.quantity,
            l.invoice_date,
            l.unit_price.serialize(),
            l.customer_id,
            l.country.clone(),
        )
    }

    #[test]
    fn agrees_with_a_set_of_whole_lines_in_any_order() {
        // Few distinct values, so that duplicates, interleaved invoices (groups that
        // come back) and big groups all happen; a small xorshift keeps it reproducible.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut lines = Vec::new();
        let mut inv = 0;
        for _ in 0..10_000 {
            // Mostly runs of one invoice, sometimes a jump back to an earlier one.
            match next(10) {
                0 => inv = next(40),
                1 => inv = (inv + 1) % 40,
                _ => {}
            }
            let mut l = line(
                &format!("5363{inv:02}"),
                ["85123A", "71053", "84406B", "22"][next(4) as usize],
                ["WHITE", "WHITE ", "", "RED"][next(4) as usize],
                next(5) as i64 - 1,
                ["2.55", "2.550", "0", "3"][next(4) as usize],
            );
            if inv % 7 == 0 {
                l.customer_id = None;
            }
            lines.push(l);
        }
        let mut want = std::collections::HashSet::new();
        let mut fast = Deduper::default();
        let mut slow = Deduper::with_hasher(Collide);
        let mut kept = 0;
        for l in &lines {
            let new = want.insert(reference(l));
            kept += usize::from(new);
            assert_eq!(fast.insert_line(l), new, "{l:?}");
            assert_eq!(slow.insert_line(l), new, "{l:?}");
        }
        // Both kinds of answer, many times over.
        assert!(kept > 1000 && lines.len() - kept > 1000, "{kept}");
        assert_eq!(fast.len(), kept);
        assert_eq!(slow.len(), kept);
    }
}
