// Temporary profiling harness (to be deleted).
use records::{csv_reader, read_header, ByteRecord, Cleaner, CleaningRules, InvoiceLine};
use std::io::Read;
use std::time::Instant;

fn main() {
    let raw = std::fs::read("/work/shared/data/online_retail.csv.gz").unwrap();
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut data).unwrap();
    let mode = std::env::args().nth(1).unwrap_or_default();
    let runs: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let dedup = mode.contains('d');
    let json = mode.contains('j');
    let cleaner = Cleaner::new(CleaningRules { drop_duplicates: dedup, ..Default::default() });
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let mut reader = csv_reader(&data[..]);
        let mut rec = ByteRecord::new();
        read_header(&mut reader, &mut rec).unwrap();
        let mut batch = cleaner.batch_with_capacity(data.len() / 64);
        let mut line = InvoiceLine::default();
        let mut out: Vec<u8> = Vec::with_capacity(1 << 17);
        let mut n = 0u64;
        while reader.read_byte_record(&mut rec).unwrap() {
            if batch.csv_record_into(&rec, &mut line).is_ok() {
                n += 1;
                if json {
                    line.write_json_line(&mut out);
                    if out.len() >= 1 << 16 { out.clear(); }
                }
            }
        }
        std::hint::black_box((n, &out));
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{mode}: {best:.4}");
}
