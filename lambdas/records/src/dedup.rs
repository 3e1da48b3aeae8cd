//! Exact duplicate detection ([`Deduper`]).
//!
//! Hashes only choose where to look: a key is reported as seen only after a full
//! byte-for-byte comparison with a stored key. Two different keys whose 64-bit hashes
//! collide therefore cost one extra comparison and are both kept; no row is ever
//! dropped because of a hash.
//!
//! # Layout
//!
//! Keys are appended to a few large shared chunks (no allocation per key, no copying
//! when growing) and described by a span list; hash tables only hold 4-byte span
//! numbers.
//!
//! A whole-file batch holds about half a million lines. One hash table over all of
//! them is several megabytes, and on the machines this runs on every probe into it is
//! a cache (and TLB) miss: that alone cost more than cleaning the line. So typed lines
//! ([`Deduper::insert_line`]) are grouped by invoice, the way the data comes:
//!
//! * the invoice-level fields (InvoiceNo, InvoiceDate, CustomerID, Country) are
//!   interned: each distinct combination is stored once and named by a group number
//!   (checked against the previous line's group first, which nearly always matches);
//! * each group has its own small table of its lines (StockCode, Description,
//!   Quantity, UnitPrice), which stays in cache while the group's lines stream by.
//!
//! Two lines can only be equal if they are in the same group, so this is exact.
//! The group being read uses one reused table; a group seen again later (its lines
//! were not contiguous) gets a table of its own, rebuilt once from its stored lines, so
//! the work stays linear whatever the order of the input.
//!
//! The hasher is hashbrown's default (foldhash): fast on short keys, seeded per
//! process. It is a type parameter so the tests can force collisions.

use crate::line::InvoiceLine;
use csv::ByteRecord;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// The default hasher of a [`Deduper`].
pub type DefaultHasher = hashbrown::DefaultHashBuilder;

/// Exact duplicate detection: remembers every key it was given and answers whether a
/// key was seen before (see the `dedup` module docs for how keys are stored).
///
/// Byte keys ([`Deduper::insert`], [`Deduper::insert_record`]) and typed lines
/// ([`Deduper::insert_line`]) are kept apart: a line never equals a byte key.
pub struct Deduper<S = DefaultHasher> {
    bytes: ByteSet,
    lines: LineSet,
    hasher: S,
}

impl<S> std::fmt::Debug for Deduper<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduper")
            .field("keys", &self.bytes.len())
            .field("lines", &self.lines.lines.len())
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
        Self::with_capacity_and_hasher(keys, DefaultHasher::default())
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
        self.bytes.len() + self.lines.lines.len()
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
    current: Option<u32>,
    /// The table of the current group while it is [`GroupLines::Run`] (cleared and
    /// reused for the next new group, so it allocates only when a group is bigger than
    /// all before it).
    run: HashTable<u32>,
    /// The lines' own fields (StockCode, Description, Quantity, UnitPrice); key number
    /// = line number.
    lines: Arena,
}

enum GroupLines {
    /// Seen in one stretch of consecutive lines so far: its lines are numbers
    /// `start..end` (`end` is set when the stretch ends) and, while it is current,
    /// they are in [`LineSet::run`].
    Run { start: u32, end: u32 },
    /// Seen again after other groups: its lines are in its own table.
    Own(HashTable<u32>),
}

impl LineSet {
    fn with_capacity(lines: usize) -> Self {
        LineSet {
            lines: Arena {
                chunks: Vec::new(),
                spans: Vec::with_capacity(lines),
            },
            ..LineSet::default()
        }
    }

    fn insert<S: BuildHasher>(&mut self, line: &InvoiceLine, hasher: &S) -> bool {
        let group = self.enter_group(line, hasher);
        let (stock, desc) = (line.stock_code.as_bytes(), line.description.as_bytes());
        let start = self.lines.open(stock.len() + desc.len() + 32);
        let tail = self.lines.tail();
        tail.extend_from_slice(&line.quantity.to_le_bytes());
        // Mantissa, scale and sign: `2.5` and `2.50` differ.
        tail.extend_from_slice(&line.unit_price.serialize());
        put_str(tail, stock);
        put_str(tail, desc);
        let table = match &mut self.group_lines[group as usize] {
            GroupLines::Run { .. } => &mut self.run,
            GroupLines::Own(table) => table,
        };
        self.lines.commit(table, start, hasher).1
    }

    /// The group number of `line`'s invoice-level fields; makes its table the one
    /// [`LineSet::insert`] uses.
    fn enter_group<S: BuildHasher>(&mut self, line: &InvoiceLine, hasher: &S) -> u32 {
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
        if let Some(cur) = self.current {
            if keys.get(cur) == keys.pending(start) {
                keys.discard(start);
                return cur;
            }
        }
        let (group, new) = self.groups.commit(start, hasher);
        let here = self.lines.len() as u32;
        // The stretch of the group we leave ends here.
        if let Some(cur) = self.current {
            if let GroupLines::Run { end, .. } = &mut self.group_lines[cur as usize] {
                *end = here;
            }
        }
        self.current = Some(group);
        if new {
            self.group_lines.push(GroupLines::Run {
                start: here,
                end: here,
            });
            self.run.clear();
        } else if let GroupLines::Run { start, end } = self.group_lines[group as usize] {
            // Back to a group whose lines are no longer in `run`: give it its own
            // table, once. Its stored lines are distinct, so no comparison is needed.
            let mut own = HashTable::with_capacity((end - start) as usize);
            for id in start..end {
                let lines = &self.lines;
                own.insert_unique(lines.hash(id), id, |&i| lines.hash(i));
            }
            self.group_lines[group as usize] = GroupLines::Own(own);
        }
        group
    }
}
