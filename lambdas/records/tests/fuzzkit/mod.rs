//! Shared pieces of the property tests ("fuzz" tests) of the workspace: a counting allocator
//! that measures the peak memory of one call, the memory bound every target must keep, the
//! checked-in corpus reader, and byte-level mutations of real inputs.
//!
//! Every test binary that uses it includes this file as a module (`#[path = ...] mod
//! fuzzkit;`) and installs the allocator itself:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: fuzzkit::PeakAlloc = fuzzkit::PeakAlloc;
//! ```
//!
//! Counting is per thread: a test measures the calls it makes on its own thread, undisturbed
//! by tests running in parallel. Async handlers are measured by driving them with a
//! current-thread tokio runtime's `block_on`, so their allocations happen on the measuring
//! thread.

#![allow(dead_code)]

use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

thread_local! {
    /// Whether this thread is inside [`measure`].
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// Bytes allocated minus bytes freed on this thread since [`measure`] began (may go
    /// negative when the call frees what was allocated before).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The highest [`LIVE`] seen since [`measure`] began.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, counting what the current thread allocates while [`measure`] runs.
pub struct PeakAlloc;

fn grow(by: usize) {
    if ARMED.with(Cell::get) {
        let live = LIVE.with(|l| {
            let v = l.get() + by as isize;
            l.set(v);
            v
        });
        PEAK.with(|p| p.set(p.get().max(live)));
    }
}

fn shrink(by: usize) {
    if ARMED.with(Cell::get) {
        LIVE.with(|l| l.set(l.get() - by as isize));
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping only touches
// thread-local `Cell`s of plain integers (const-initialised, no destructor, no allocation).
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as a move: for a moment both blocks exist.
            grow(new_size);
            shrink(layout.size());
        }
        p
    }
}

/// Runs `f` and returns its result with the peak of the bytes it held live at once on this
/// thread (allocated and not yet freed), above what was live when it started.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (r, PEAK.with(Cell::get).max(0) as usize)
}

/// Bytes any call may use whatever its input (buffers, tables, formatting).
pub const MEMORY_BASE: usize = 2 << 20;

/// The memory bound: a call given `input_len` bytes may hold at most
/// [`MEMORY_BASE`] + `per_byte` × `input_len` bytes live at once. Each target states its
/// `per_byte` (and why) next to its tests; what is checked is that memory grows at most
/// linearly with the input, with a factor the deployed function can afford.
pub fn assert_memory_bounded(what: &str, peak: usize, input_len: usize, per_byte: usize) {
    let limit = MEMORY_BASE + per_byte * input_len;
    assert!(
        peak <= limit,
        "{what}: peak {peak} bytes live for {input_len} input bytes, over the bound \
         {MEMORY_BASE} + {per_byte} x {input_len} = {limit}"
    );
}

/// The corpus files of `dir` (sorted by name, so failures name the same file every run),
/// with their bytes. Panics if the directory is missing or empty: a replay that reads
/// nothing would prove nothing.
pub fn corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

/// Byte strings that break parsers: quoting, separators, line ends, byte-order marks,
/// invalid UTF-8, control characters, numbers at the edges, and deep brackets.
pub const HOSTILE_TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"\x1b[2J",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xA3",
    b"\xC3",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"#",
    b"../",
    b"%2e%2e%2f",
    b"%00",
    b"\\",
    b"{",
    b"}",
    b"[[[[[[[[[[[[[[[[",
    b"]",
    b":",
    b"- ",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"99999999999999999999999999",
    b"-0",
    b"1e400",
    b"NaN",
    b"null",
    b"\t",
    b" ",
    b"\xE2\x80\xAE",
];

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flip the bits of `mask` in the byte at (position mod length).
    Flip(usize, u8),
    /// Insert a [`HOSTILE_TOKENS`] entry at a position.
    Insert(usize, usize),
    /// Delete up to `n` bytes at a position.
    Delete(usize, usize),
    /// Repeat the slice at a position (up to `n` bytes) `times` times.
    Repeat(usize, usize, usize),
    /// Cut the input at a position.
    Truncate(usize),
}

/// Any [`Mutation`].
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(p, m)| Mutation::Flip(p, m)),
        4 => (any::<usize>(), 0..HOSTILE_TOKENS.len()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        2 => (any::<usize>(), 1usize..16).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => (any::<usize>(), 1usize..64, 2usize..200).prop_map(|(p, n, k)| Mutation::Repeat(p, n, k)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Applies `edits` to `input`.
pub fn mutate(input: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut v = input.to_vec();
    for m in edits {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
        match *m {
            Mutation::Flip(p, mask) if !v.is_empty() => {
                let i = p % v.len();
                v[i] ^= mask;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(p, t) => {
                let i = at(p, v.len());
                v.splice(i..i, HOSTILE_TOKENS[t].iter().copied());
            }
            Mutation::Delete(p, n) => {
                let i = at(p, v.len());
                let end = (i + n).min(v.len());
                v.drain(i..end);
            }
            Mutation::Repeat(p, n, times) => {
                let i = at(p, v.len());
                let end = (i + n).min(v.len());
                let piece = v[i..end].to_vec();
                for _ in 1..times {
                    v.splice(end..end, piece.iter().copied());
                }
            }
            Mutation::Truncate(p) => {
                let i = at(p, v.len());
                v.truncate(i);
            }
        }
    }
    v
}

/// Up to `max` mutations of one of `seeds`.
pub fn mutated(seeds: Vec<Vec<u8>>, max: usize) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(seeds),
        proptest::collection::vec(mutation(), 1..=max),
    )
        .prop_map(|(seed, edits)| mutate(&seed, &edits))
}

/// Bytes made of [`HOSTILE_TOKENS`] and random bytes.
pub fn hostile_bytes(max_pieces: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(HOSTILE_TOKENS).prop_map(<[u8]>::to_vec),
            proptest::collection::vec(any::<u8>(), 0..8),
            "[a-zA-Z0-9 ./:-]{0,12}".prop_map(String::into_bytes),
        ],
        0..max_pieces,
    )
    .prop_map(|pieces| pieces.concat())
}

/// A short preview of an input, for failure messages.
pub fn preview(bytes: &[u8]) -> String {
    format!(
        "{} bytes: {:?}",
        bytes.len(),
        String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
    )
}

/// The proptest settings of a target: `cases` cases unless `PROPTEST_CASES` asks for more
/// (or fewer), for a longer fuzz session. Failures are persisted under
/// `proptest-regressions/` next to the test file's crate; check those files in.
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}
