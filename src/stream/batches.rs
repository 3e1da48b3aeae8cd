//! Cutting a dataset CSV into request-sized batches of UTF-8 CSV text.

use anyhow::{Context, Result};
use csv::ByteRecord;
use records::{csv_reader, read_header};
use std::io::Read;

/// A run of consecutive data rows, encoded as UTF-8 CSV with the dataset header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Index (0-based, header not counted) of the batch's first data row in the file.
    pub first_row: u64,
    /// Number of data rows in the batch.
    pub rows: usize,
    /// The CSV text: header line, then the rows.
    pub body: String,
}

/// Reads a dataset CSV (Latin-1 or UTF-8) and yields [`Batch`]es of at most `batch` rows.
pub struct BatchReader<R: Read> {
    reader: csv::Reader<R>,
    record: ByteRecord,
    batch: usize,
    next_row: u64,
    remaining: Option<u64>,
}

impl<R: Read> BatchReader<R> {
    /// Checks the header, skips the first `from_row` data rows, and stops after `limit` rows.
    pub fn new(input: R, batch: usize, from_row: u64, limit: Option<u64>) -> Result<Self> {
        let mut reader = csv_reader(input);
        let mut record = ByteRecord::new();
        read_header(&mut reader, &mut record).context("not a dataset CSV")?;
        let mut next_row = 0;
        while next_row < from_row {
            if !reader.read_byte_record(&mut record)? {
                break;
            }
            next_row += 1;
        }
        Ok(BatchReader {
            reader,
            record,
            batch: batch.max(1),
            next_row,
            remaining: limit,
        })
    }

    /// The index of the next data row to be read (where a resumed run would start).
    pub fn position(&self) -> u64 {
        self.next_row
    }

    /// The next batch, or `None` at the end of the file (or of the limit).
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        let first_row = self.next_row;
        let mut out = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(self.batch * 96));
        out.write_record(records::COLUMNS)?;
        let mut rows = 0;
        while rows < self.batch && self.remaining != Some(0) {
            if !self.reader.read_byte_record(&mut self.record)? {
                break;
            }
            // The dataset is Latin-1 (the pound sign is byte 0xA3); the API takes UTF-8 text.
            for field in self.record.iter() {
                out.write_field(records::parse::decode_text(field).as_bytes())?;
            }
            out.write_record(None::<&[u8]>)?;
            rows += 1;
            self.next_row += 1;
            if let Some(r) = &mut self.remaining {
                *r -= 1;
            }
        }
        if rows == 0 {
            return Ok(None);
        }
        let bytes = out.into_inner().map_err(|e| e.into_error())?;
        let body = String::from_utf8(bytes).context("batch is not valid UTF-8")?;
        Ok(Some(Batch {
            first_row,
            rows,
            body,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

    fn file(rows: usize) -> Vec<u8> {
        let mut s = HEADER.as_bytes().to_vec();
        for i in 0..rows {
            s.extend_from_slice(
                format!("5363{i:02},85123A,HEART,6,12/1/2010 8:26,2.55,17850,UK\n").as_bytes(),
            );
        }
        s
    }

    #[test]
    fn batches_cover_every_row_once_with_positions() {
        let data = file(7);
        let mut r = BatchReader::new(&data[..], 3, 0, None).unwrap();
        let mut seen = vec![];
        while let Some(b) = r.next_batch().unwrap() {
            assert!(b.body.starts_with("InvoiceNo,StockCode"));
            assert_eq!(b.body.lines().count(), b.rows + 1);
            seen.push((b.first_row, b.rows));
        }
        assert_eq!(seen, vec![(0, 3), (3, 3), (6, 1)]);
        assert_eq!(r.position(), 7);
    }

    #[test]
    fn from_row_and_limit() {
        let data = file(10);
        let mut r = BatchReader::new(&data[..], 4, 5, Some(3)).unwrap();
        let b = r.next_batch().unwrap().unwrap();
        assert_eq!((b.first_row, b.rows), (5, 3));
        assert!(b.body.contains("536305,"));
        assert!(r.next_batch().unwrap().is_none());
    }

    #[test]
    fn latin1_becomes_utf8() {
        let mut data = HEADER.as_bytes().to_vec();
        data.extend_from_slice(
            b"536365,85123A,CAF\xC9 \xA3,6,12/1/2010 8:26,2.55,17850,United Kingdom\n",
        );
        let mut r = BatchReader::new(&data[..], 10, 0, None).unwrap();
        let b = r.next_batch().unwrap().unwrap();
        assert!(b.body.contains("CAFÉ £"), "{}", b.body);
    }

    #[test]
    fn a_file_without_the_header_is_refused() {
        let err = BatchReader::new(&b"a,b\n1,2\n"[..], 10, 0, None)
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("not a dataset CSV"));
    }
}
