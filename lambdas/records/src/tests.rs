use super::*;
use serde_json::json;

const GOOD: &str =
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom";

fn rec(line: &[u8]) -> ByteRecord {
    let mut r = csv_reader(line);
    let mut rec = ByteRecord::new();
    assert!(r.read_byte_record(&mut rec).unwrap());
    rec
}

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn reason(c: &Cleaner, line: &str) -> RejectReason {
    c.clean_csv_record(&rec(line.as_bytes()))
        .unwrap_err()
        .reason
}

#[test]
fn csv_row_is_typed() {
    let line = Cleaner::default()
        .clean_csv_record(&rec(GOOD.as_bytes()))
        .unwrap();
    assert_eq!(
        line,
        InvoiceLine {
            invoice_no: "536365".into(),
            stock_code: "85123A".into(),
            description: "WHITE HANGING HEART T-LIGHT HOLDER".into(),
            quantity: 6,
            invoice_date: dt("2010-12-01 08:26:00"),
            unit_price: "2.55".parse().unwrap(),
            customer_id: Some(17850),
            country: "United Kingdom".into(),
            is_cancellation: false,
        }
    );
    assert_eq!(line.kind(), InvoiceKind::Sale);
    assert_eq!(
        line.to_json(),
        r#"{"InvoiceNo":"536365","StockCode":"85123A","Description":"WHITE HANGING HEART T-LIGHT HOLDER","Quantity":6,"InvoiceDate":"2010-12-01 08:26:00","UnitPrice":"2.55","CustomerID":17850,"Country":"United Kingdom","IsCancellation":false}"#
    );
    let mut buf = Vec::new();
    line.write_json_line(&mut buf);
    assert!(buf.ends_with(b"}\n"));
}

#[test]
fn latin1_pound_becomes_utf8() {
    let raw = b"539492,gift_0001_40,Dotcomgiftshop Gift Voucher \xa340.00,1,12/20/2010 10:14,34.04,,United Kingdom";
    let c = Cleaner::new(CleaningRules {
        keep_non_product_codes: true,
        ..CleaningRules::default()
    });
    let line = c.clean_csv_record(&rec(raw)).unwrap();
    assert_eq!(line.description, "Dotcomgiftshop Gift Voucher \u{a3}40.00");
    assert_eq!(line.description.as_bytes()[28..30], [0xC2, 0xA3]);
    assert!(line.to_json().contains("Voucher £40.00"));
    // The same row already in UTF-8 is taken as is.
    let utf8 = String::from_utf8_lossy(raw).replace('\u{fffd}', "£");
    let line2 = c.clean_csv_record(&rec(utf8.as_bytes())).unwrap();
    assert_eq!(line2, line);
    // A rejected Latin-1 row keeps its text, decoded.
    let rej = Cleaner::default().clean_csv_record(&rec(raw)).unwrap_err();
    assert_eq!(rej.reason, RejectReason::NonProductCode);
    assert!(rej.input.contains("Voucher £40.00"), "{}", rej.input);
}

#[test]
fn structural_reasons() {
    let c = Cleaner::default();
    let cases = [
        (
            "536365,85123A,X,6,12/1/2010 8:26,2.55,17850",
            RejectReason::WrongFieldCount,
        ),
        (
            ",85123A,X,6,12/1/2010 8:26,2.55,17850,UK",
            RejectReason::EmptyInvoiceNo,
        ),
        (
            "X536365,85123A,X,6,12/1/2010 8:26,2.55,17850,UK",
            RejectReason::BadInvoiceNo,
        ),
        (
            "C,85123A,X,6,12/1/2010 8:26,2.55,17850,UK",
            RejectReason::BadInvoiceNo,
        ),
        (
            "536365, ,X,6,12/1/2010 8:26,2.55,17850,UK",
            RejectReason::EmptyStockCode,
        ),
        (
            "536365,85123A,X,6.5,12/1/2010 8:26,2.55,17850,UK",
            RejectReason::BadQuantity,
        ),
        (
            "536365,85123A,X,,12/1/2010 8:26,2.55,17850,UK",
            RejectReason::BadQuantity,
        ),
        (
            "536365,85123A,X,6,2010/12/1 8:26,2.55,17850,UK",
            RejectReason::BadDate,
        ),
        (
            "536365,85123A,X,6,12/1/2010 8:26,£2.55,17850,UK",
            RejectReason::BadPrice,
        ),
        (
            "536365,85123A,X,6,12/1/2010 8:26,,17850,UK",
            RejectReason::BadPrice,
        ),
        (
            "536365,85123A,X,6,12/1/2010 8:26,2.55,17850x,UK",
            RejectReason::BadCustomerId,
        ),
        (
            "536365,85123A,X,6,12/1/2010 8:26,2.55,17850,",
            RejectReason::EmptyCountry,
        ),
        (
            "53636512345678901,85123A,X,6,12/1/2010 8:26,2.55,17850,UK",
            RejectReason::TooLong,
        ),
    ];
    for (line, want) in cases {
        let rej = c.clean_csv_record(&rec(line.as_bytes())).unwrap_err();
        assert_eq!(rej.reason, want, "{line}");
        assert_eq!(rej.input, line);
        assert!(!rej.detail.is_empty());
    }
}

#[test]
fn rule_cancellation() {
    let line =
        "C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-12,12/1/2010 10:24,1.65,17548,United Kingdom";
    let kept = Cleaner::default()
        .clean_csv_record(&rec(line.as_bytes()))
        .unwrap();
    assert!(kept.is_cancellation);
    assert_eq!(kept.kind(), InvoiceKind::Cancellation);
    assert_eq!(kept.quantity, -12);
    assert!(kept.to_json().contains(r#""IsCancellation":true"#));
    let strict = Cleaner::new(CleaningRules {
        keep_cancellations: false,
        ..Default::default()
    });
    assert_eq!(reason(&strict, line), RejectReason::Cancellation);
}

#[test]
fn rule_missing_customer() {
    let line = "536414,22139,,56,12/1/2010 11:52,0.0,,United Kingdom";
    let kept = Cleaner::default()
        .clean_csv_record(&rec(line.as_bytes()))
        .unwrap();
    assert_eq!(kept.customer_id, None);
    assert_eq!(kept.description, "");
    assert!(kept.unit_price.is_zero());
    assert!(kept.to_json().contains(r#""CustomerID":null"#));
    let strict = Cleaner::new(CleaningRules {
        keep_missing_customer: false,
        ..Default::default()
    });
    assert_eq!(reason(&strict, line), RejectReason::MissingCustomerId);
}

#[test]
fn rule_non_product_codes() {
    for code in [
        "POST",
        "D",
        "M",
        "m",
        "DOT",
        "BANK CHARGES",
        "AMAZONFEE",
        "gift_0001_40",
        "C2",
        "CRUK",
        "PADS",
        "S",
        "B",
        "1234",
        "123456",
    ] {
        assert!(!is_product_code(code), "{code}");
    }
    for code in [
        "85123A",
        "22041",
        "79323LP",
        "85049e",
        "DCGS0076",
        "DCGSSGIRL",
    ] {
        assert!(is_product_code(code), "{code}");
    }
    let line = "536370,POST,POSTAGE,3,12/1/2010 8:45,18.0,12583,France";
    assert_eq!(
        reason(&Cleaner::default(), line),
        RejectReason::NonProductCode
    );
    let lax = Cleaner::new(CleaningRules {
        keep_non_product_codes: true,
        ..Default::default()
    });
    assert_eq!(
        lax.clean_csv_record(&rec(line.as_bytes()))
            .unwrap()
            .stock_code,
        "POST"
    );
}

#[test]
fn adjustments_are_visible() {
    let lax = Cleaner::new(CleaningRules {
        keep_non_product_codes: true,
        ..Default::default()
    });
    let line = lax
        .clean_csv_record(&rec(
            b"A563186,B,Adjust bad debt,1,8/12/2011 14:51,-11062.06,,United Kingdom",
        ))
        .unwrap();
    assert!(line.is_adjustment());
    assert!(!line.is_cancellation);
    assert_eq!(line.unit_price.to_string(), "-11062.06");
}

#[test]
fn rule_order_is_documented_order() {
    // A cancellation with a non-product code and no customer: cancellation wins.
    let strict = Cleaner::new(CleaningRules {
        keep_cancellations: false,
        keep_missing_customer: false,
        keep_non_product_codes: false,
        drop_duplicates: true,
    });
    let line = "C536391,D,Discount,-1,12/1/2010 10:24,27.5,,United Kingdom";
    assert_eq!(reason(&strict, line), RejectReason::Cancellation);
    let line = "536391,D,Discount,-1,12/1/2010 10:24,27.5,,United Kingdom";
    assert_eq!(reason(&strict, line), RejectReason::NonProductCode);
    // A field error comes before any rule.
    let line = "C536391,D,Discount,-1,12/1/2010 10:24,x,,United Kingdom";
    assert_eq!(reason(&strict, line), RejectReason::BadPrice);
}

#[test]
fn duplicates_within_a_batch() {
    let c = Cleaner::default();
    let mut b = c.batch();
    assert!(b.csv_record(&rec(GOOD.as_bytes())).is_ok());
    let dup = b.csv_record(&rec(GOOD.as_bytes())).unwrap_err();
    assert_eq!(dup.reason, RejectReason::Duplicate);
    assert_eq!(dup.index, Some(1));
    assert_eq!(dup.input, GOOD);
    // Same line as pandas JSON is also a duplicate (same typed values).
    let pandas = json!({"InvoiceNo":536365,"StockCode":"85123A","Description":"WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":2.55,"CustomerID":17850.0,"Country":"United Kingdom"});
    assert_eq!(
        b.json_value(&pandas).unwrap_err().reason,
        RejectReason::Duplicate
    );
    // Another quantity is not a duplicate.
    let other = GOOD.replace(",6,", ",7,");
    assert!(b.csv_record(&rec(other.as_bytes())).is_ok());
    // A new batch starts afresh; with drop_duplicates off, both copies pass.
    assert!(c.batch().csv_record(&rec(GOOD.as_bytes())).is_ok());
    let keep = Cleaner::new(CleaningRules {
        drop_duplicates: false,
        ..Default::default()
    });
    let mut kb = keep.batch();
    assert!(kb.csv_record(&rec(GOOD.as_bytes())).is_ok());
    assert!(kb.csv_record(&rec(GOOD.as_bytes())).is_ok());
}

#[test]
fn deduper_is_exact() {
    let mut d = Deduper::default();
    assert!(d.insert(b"abc"));
    assert!(!d.insert(b"abc"));
    assert!(d.insert(b"abd"));
    assert!(d.insert(b""));
    assert!(!d.insert(b""));
    assert_eq!(d.len(), 3);
    // Field boundaries matter for records.
    let mut d = Deduper::default();
    assert!(d.insert_record(&ByteRecord::from(vec!["a", "bc"])));
    assert!(d.insert_record(&ByteRecord::from(vec!["ab", "c"])));
    assert!(!d.insert_record(&ByteRecord::from(vec!["a", "bc"])));
}

#[test]
fn json_typed_shape() {
    let v = json!({"InvoiceNo":"536365","StockCode":"85123A","Description":"WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity":6,"InvoiceDate":"2010-12-01 08:26:00","UnitPrice":"2.55","CustomerID":17850,
        "Country":"United Kingdom","IsCancellation":false});
    let line = Cleaner::default().clean_json_value(&v).unwrap();
    let csv_line = Cleaner::default()
        .clean_csv_record(&rec(GOOD.as_bytes()))
        .unwrap();
    assert_eq!(line, csv_line);
    // Clean output round-trips, both through the cleaner and through serde.
    let text = line.to_json();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    assert_eq!(Cleaner::default().clean_json_str(&text).unwrap(), line);
    assert_eq!(serde_json::from_str::<InvoiceLine>(&text).unwrap(), line);
}

#[test]
fn json_pandas_shape() {
    let text = r#"{"InvoiceNo":536365,"StockCode":"85123A","Description":"WHITE HANGING HEART T-LIGHT HOLDER","Quantity":6,"InvoiceDate":"12\/1\/2010 8:26","UnitPrice":2.55,"CustomerID":17850.0,"Country":"United Kingdom"}"#;
    let c = Cleaner::default();
    let line = c.clean_json_str(text).unwrap();
    assert_eq!(line, c.clean_csv_record(&rec(GOOD.as_bytes())).unwrap());
    // Missing customer spellings.
    for cust in [json!(null), json!(""), json!("NaN"), json!("nan")] {
        let v = json!({"InvoiceNo":"536414","StockCode":"22139","Description":null,"Quantity":56.0,
            "InvoiceDate":"12/1/2010 11:52","UnitPrice":0.0,"CustomerID":cust,"Country":"United Kingdom"});
        let l = c.clean_json_value(&v).unwrap();
        assert_eq!(l.customer_id, None, "{cust}");
        assert_eq!(l.quantity, 56);
        assert_eq!(l.description, "");
    }
    // Absent CustomerID and Description are fine; epoch milliseconds are a date.
    let v = json!({"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,
        "InvoiceDate":1291191960000_i64,"UnitPrice":"2.55","Country":"United Kingdom"});
    let l = c.clean_json_value(&v).unwrap();
    assert_eq!(l.invoice_date, dt("2010-12-01 08:26:00"));
    assert_eq!(l.customer_id, None);
    // String-typed numbers are read too.
    let v = json!({"InvoiceNo":"C536379","StockCode":"22556","Quantity":"-12",
        "InvoiceDate":"12/1/2010 10:24","UnitPrice":"1.65","CustomerID":"17548","Country":"United Kingdom"});
    let l = c.clean_json_value(&v).unwrap();
    assert!(l.is_cancellation);
    assert_eq!((l.quantity, l.customer_id), (-12, Some(17548)));
}

#[test]
fn json_reasons() {
    let c = Cleaner::default();
    let base = json!({"InvoiceNo":"536365","StockCode":"85123A","Description":"X","Quantity":6,
        "InvoiceDate":"12/1/2010 8:26","UnitPrice":2.55,"CustomerID":17850,"Country":"United Kingdom"});
    let with = |k: &str, v: serde_json::Value| {
        let mut o = base.clone();
        o[k] = v;
        o
    };
    let without = |k: &str| {
        let mut o = base.clone();
        o.as_object_mut().unwrap().remove(k);
        o
    };
    let cases = [
        (json!([1, 2]), RejectReason::NotAnObject),
        (json!("536365"), RejectReason::NotAnObject),
        (without("InvoiceNo"), RejectReason::MissingField),
        (without("Quantity"), RejectReason::MissingField),
        (without("InvoiceDate"), RejectReason::MissingField),
        (without("UnitPrice"), RejectReason::MissingField),
        (without("Country"), RejectReason::MissingField),
        (without("StockCode"), RejectReason::MissingField),
        (with("InvoiceNo", json!("")), RejectReason::EmptyInvoiceNo),
        (with("InvoiceNo", json!(null)), RejectReason::BadInvoiceNo),
        (with("InvoiceNo", json!(-5)), RejectReason::BadInvoiceNo),
        (
            with("InvoiceNo", json!("53 6365")),
            RejectReason::BadInvoiceNo,
        ),
        (with("StockCode", json!("")), RejectReason::EmptyStockCode),
        (with("StockCode", json!(null)), RejectReason::EmptyStockCode),
        (with("Quantity", json!(6.5)), RejectReason::BadQuantity),
        (with("Quantity", json!(null)), RejectReason::BadQuantity),
        (with("Quantity", json!(true)), RejectReason::BadQuantity),
        (
            with("InvoiceDate", json!("2010-13-01 00:00:00")),
            RejectReason::BadDate,
        ),
        (with("InvoiceDate", json!(null)), RejectReason::BadDate),
        (with("UnitPrice", json!("2.5.5")), RejectReason::BadPrice),
        (with("UnitPrice", json!(null)), RejectReason::BadPrice),
        (
            with("CustomerID", json!(17850.5)),
            RejectReason::BadCustomerId,
        ),
        (with("CustomerID", json!(-1)), RejectReason::BadCustomerId),
        (with("CustomerID", json!(0)), RejectReason::BadCustomerId),
        (
            with("CustomerID", json!(5_000_000_000_u64)),
            RejectReason::BadCustomerId,
        ),
        (
            with("CustomerID", json!([17850])),
            RejectReason::BadCustomerId,
        ),
        (with("Country", json!("  ")), RejectReason::EmptyCountry),
    ];
    for (v, want) in cases {
        let rej = c.clean_json_value(&v).unwrap_err();
        assert_eq!(rej.reason, want, "{v}");
        assert_eq!(rej.input, v.to_string());
    }
    let rej = c.clean_json_str("{not json").unwrap_err();
    assert_eq!(rej.reason, RejectReason::BadJson);
    assert_eq!(rej.input, "{not json");
}

#[test]
fn json_float_prices_are_exact() {
    let c = Cleaner::default();
    let mut total = Decimal::ZERO;
    for p in ["0.1", "0.2", "2.55", "0.001", "1.95", "16.95"] {
        let v: serde_json::Value = serde_json::from_str(&format!(
            r#"{{"InvoiceNo":"1","StockCode":"22041","Quantity":1,"InvoiceDate":"1/1/2011 0:00","UnitPrice":{p},"Country":"X"}}"#
        ))
        .unwrap();
        let l = c.clean_json_value(&v).unwrap();
        assert_eq!(l.unit_price.to_string(), p);
        total += l.unit_price;
    }
    assert_eq!(total.to_string(), "21.751");
    // A float sum would not be exact.
    assert_ne!(0.1_f64 + 0.2, 0.3);
}

#[test]
fn decimal_sum_is_exact() {
    let c = Cleaner::default();
    let mut sum = Decimal::ZERO;
    for _ in 0..10 {
        let line = "536365,22041,X,3,12/1/2010 8:26,0.1,17850,United Kingdom";
        let l = c.clean_csv_record(&rec(line.as_bytes())).unwrap();
        sum += l.line_total();
    }
    assert_eq!(sum, "3.0".parse::<Decimal>().unwrap());
    assert_eq!(sum.to_string(), "3.0");
    let l = c
        .clean_csv_record(&rec(
            b"536365,22041,X,12,12/1/2010 8:26,0.001,17850,United Kingdom",
        ))
        .unwrap();
    assert_eq!(l.line_total().to_string(), "0.012");
}

#[test]
fn date_serialisation() {
    let c = Cleaner::default();
    for (src, want) in [
        ("12/1/2010 8:26", "2010-12-01 08:26:00"),
        ("12/10/2010 14:05", "2010-12-10 14:05:00"),
        ("1/4/2011 0:00", "2011-01-04 00:00:00"),
        ("12/9/2011 12:50", "2011-12-09 12:50:00"),
    ] {
        let line = format!("536365,22041,X,1,{src},1,17850,United Kingdom");
        let l = c.clean_csv_record(&rec(line.as_bytes())).unwrap();
        assert_eq!(l.invoice_date_string(), want);
        assert!(l.to_json().contains(&format!(r#""InvoiceDate":"{want}""#)));
    }
}

#[test]
fn rejection_json_shape() {
    let c = Cleaner::default();
    let mut b = c.batch();
    let _ = b.csv_record(&rec(GOOD.as_bytes()));
    let rej = b
        .csv_record(&rec(
            b"536365,85123A,\"A, B\",6,13/1/2010 8:26,2.55,17850,United Kingdom",
        ))
        .unwrap_err();
    let v: serde_json::Value = serde_json::to_value(&rej).unwrap();
    assert_eq!(v["reason"], "bad_date");
    assert_eq!(v["index"], 1);
    assert_eq!(
        v["input"],
        "536365,85123A,\"A, B\",6,13/1/2010 8:26,2.55,17850,United Kingdom"
    );
    assert!(v["detail"].as_str().unwrap().contains("13/1/2010 8:26"));
    let back: Rejection = serde_json::from_value(v).unwrap();
    assert_eq!(back, rej);
    for r in RejectReason::ALL {
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
    }
}

#[test]
fn clean_csv_reader_and_header() {
    let body = format!("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n{GOOD}\n{GOOD}\n536366,POST,P,1,12/1/2010 8:28,18,17850,United Kingdom\n");
    let out = Cleaner::default().clean_csv(body.as_bytes()).unwrap();
    assert_eq!(out.rows(), 3);
    assert_eq!(out.accepted.len(), 1);
    let reasons = out.rejected_by_reason();
    assert_eq!(reasons[&RejectReason::Duplicate], 1);
    assert_eq!(reasons[&RejectReason::NonProductCode], 1);
    // BOM tolerated; a wrong header or empty input is an error, not a rejection.
    let bom = format!("\u{feff}{body}");
    assert!(Cleaner::default().clean_csv(bom.as_bytes()).is_ok());
    assert!(matches!(
        Cleaner::default().clean_csv(GOOD.as_bytes()),
        Err(InputError::BadHeader { .. })
    ));
    assert!(matches!(
        Cleaner::default().clean_csv(&b""[..]),
        Err(InputError::Empty)
    ));
}

#[test]
fn json_batch() {
    let values: Vec<serde_json::Value> = serde_json::from_str(
        r#"[{"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":2.55,"CustomerID":17850,"Country":"United Kingdom"},
            {"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":2.55,"CustomerID":17850,"Country":"United Kingdom"},
            42]"#,
    )
    .unwrap();
    let out = Cleaner::default().clean_json_values(&values);
    assert_eq!(out.accepted.len(), 1);
    assert_eq!(out.rejected.len(), 2);
    assert_eq!(out.rejected[0].index, Some(1));
    assert_eq!(out.rejected[1].reason, RejectReason::NotAnObject);
}

#[test]
fn fast_json_writer_matches_serde() {
    let c = Cleaner::new(CleaningRules {
        keep_non_product_codes: true,
        ..Default::default()
    });
    let mut lines = Vec::new();
    for raw in [
        GOOD.as_bytes(),
        b"C536379,22556,\"TIN \"\"CIRCUS\"\"\\ PARADE\",-12,12/1/2010 10:24,1.65,17548,United Kingdom",
        b"536414,22139,,56,12/1/2010 11:52,0.0,,United Kingdom",
        b"539492,gift_0001_40,Voucher \xa340.00\ttab,1,12/20/2010 10:14,34.04,,United Kingdom",
        b"A563186,B,Adjust bad debt,1,8/12/2011 14:51,-11062.06,,United Kingdom",
        b"1,22041,X,1,1/1/2011 0:00,0.001,1,X",
        b"1,22041,X,1,1/1/2011 0:00,-0.5,4294967295,X",
        b"1,22041,X,-9223372036854775,1/1/2011 0:00,-9999999.999,1,X",
        b"1,22041,X,1,1/1/2011 0:00,-0.0,1,X",
        b"1,22041,X,1,1/1/2011 0:00,100,1,X",
    ] {
        lines.push(c.clean_csv_record(&rec(raw)).unwrap());
    }
    // Every string field escaped (or not), whatever its length.
    for s in [
        "\"",
        "a\\b",
        "x\u{1}",
        "tab\t",
        "new\nline\r",
        "caf\u{e9} \u{a3}1",
        "12345678\"",
        "",
    ] {
        lines.push(InvoiceLine {
            invoice_no: s.into(),
            stock_code: format!("{s}{s}"),
            description: s.repeat(5),
            country: format!("Eire{s}"),
            ..lines[0].clone()
        });
    }
    // A price beyond 64 bits (the writer's slow path); the cleaner refuses it for the lake.
    lines.push(InvoiceLine {
        unit_price: "12345678901234567890.123".parse().unwrap(),
        ..lines[0].clone()
    });
    for line in &lines {
        let mut fast = Vec::new();
        line.write_json_line(&mut fast);
        let mut slow = serde_json::to_vec(line).unwrap();
        slow.push(b'\n');
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap()
        );
    }
    assert_eq!(lines[8].unit_price.to_string(), "0.0");
    assert_eq!(lines.len(), 19);
}

#[test]
fn reused_line_buffers() {
    let c = Cleaner::default();
    let mut b = c.batch_with_capacity(10);
    let mut line = InvoiceLine::default();
    b.csv_record_into(&rec(GOOD.as_bytes()), &mut line).unwrap();
    assert_eq!(line.customer_id, Some(17850));
    let rej = b
        .csv_record_into(&rec(GOOD.as_bytes()), &mut line)
        .unwrap_err();
    assert_eq!(rej.reason, RejectReason::Duplicate);
    b.csv_record_into(
        &rec(b"536366,22633,HAND WARMER,6,12/1/2010 8:28,1.85,,United Kingdom"),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.description, "HAND WARMER");
    assert_eq!(line.customer_id, None);
    assert_eq!(line.invoice_no, "536366");
    b.csv_record_into(
        &rec(b"536366,22632,HAND WARMER RED,6,12/1/2010 8:28,1.85,,EIRE"),
        &mut line,
    )
    .unwrap();
    assert_eq!(
        (line.invoice_no.as_str(), line.country.as_str()),
        ("536366", "EIRE")
    );
    b.csv_record_into(&rec(b"536367,22632,X,1,12/1/2010 8:28,1,,EIR"), &mut line)
        .unwrap();
    assert_eq!(
        (line.invoice_no.as_str(), line.country.as_str()),
        ("536367", "EIR")
    );
}

#[test]
fn prices_and_dates_the_lake_cannot_hold_are_refused() {
    let c = Cleaner::default();
    let row = |date: &str, price: &str| {
        format!("536365,85123A,HEART,6,{date},{price},17850,United Kingdom").into_bytes()
    };
    let refused = |date: &str, price: &str| {
        c.clean_csv_record(&rec(&row(date, price)))
            .expect_err("refused")
    };
    let kept = |price: &str| {
        c.clean_csv_record(&rec(&row("12/1/2010 8:26", price)))
            .expect("accepted")
            .unit_price
            .to_string()
    };
    for price in ["0.0001", "2.5551", "-1.0005", "1e-4"] {
        let r = refused("12/1/2010 8:26", price);
        assert_eq!(r.reason, RejectReason::BadPrice, "{price}");
        assert_eq!(
            r.detail,
            format!(
                "UnitPrice {price:?} has more than 3 decimal places (the lake holds decimal(10,3))"
            )
        );
    }
    for price in ["10000000", "-10000000.0", "1e7", "12345678901234567890.123"] {
        let r = refused("12/1/2010 8:26", price);
        assert_eq!(r.reason, RejectReason::BadPrice, "{price}");
        assert_eq!(
            r.detail,
            format!("UnitPrice {price:?} is 10000000 or more (the lake holds decimal(10,3))")
        );
    }
    // Trailing zeros are no places: the price keeps the scale it was written with.
    assert_eq!(kept("2.5500"), "2.5500");
    assert_eq!(kept("9999999.999"), "9999999.999");
    assert_eq!(kept("-9999999.9990"), "-9999999.9990");

    for date in ["1/1/0000 8:26", "0000-01-01 08:26:00"] {
        assert_eq!(
            refused(date, "2.55").reason,
            RejectReason::BadDate,
            "{date}"
        );
    }
    assert_eq!(
        c.clean_csv_record(&rec(&row("1/1/0001 0:00", "2.55")))
            .unwrap()
            .invoice_date
            .to_string(),
        "0001-01-01 00:00:00"
    );

    let json = |price: &str, date: &str| {
        c.clean_json_str(&format!(
            r#"{{"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,"InvoiceDate":{date},"UnitPrice":{price},"CustomerID":17850,"Country":"United Kingdom"}}"#
        ))
    };
    assert_eq!(
        json("0.0001", "\"12/1/2010 8:26\"").unwrap_err().reason,
        RejectReason::BadPrice
    );
    assert_eq!(
        json("\"1e7\"", "\"12/1/2010 8:26\"").unwrap_err().reason,
        RejectReason::BadPrice
    );
    assert!(json("2.555", "\"12/1/2010 8:26\"").is_ok());
    // 0000-01-01 00:00:00 in epoch milliseconds (pandas' date form).
    assert_eq!(
        json("2.55", "-62167219200000").unwrap_err().reason,
        RejectReason::BadDate
    );
}

#[test]
fn text_longer_than_its_warehouse_column_is_rejected_in_bytes() {
    let c = Cleaner::default();
    let row =
        |d: &str, country: &str| format!("536365,85123A,{d},6,12/1/2010 8:26,2.55,17850,{country}");
    // 512 bytes fit; 513 do not. A two-byte character counts twice, as Redshift counts.
    assert!(c
        .clean_csv_record(&rec(row(&"x".repeat(512), "UK").as_bytes()))
        .is_ok());
    let rej = c
        .clean_csv_record(&rec(row(&"x".repeat(513), "UK").as_bytes()))
        .unwrap_err();
    assert_eq!(rej.reason, RejectReason::TooLong);
    assert_eq!(
        rej.detail,
        "Description is 513 bytes long; the warehouse holds at most 512"
    );
    let pounds = "\u{a3}".repeat(257);
    let rej = c
        .clean_csv_record(&rec(row(&pounds, "UK").as_bytes()))
        .unwrap_err();
    assert_eq!(rej.reason, RejectReason::TooLong);
    let rej = c
        .clean_csv_record(&rec(row("X", &"U".repeat(65)).as_bytes()))
        .unwrap_err();
    assert!(
        rej.detail.starts_with("Country is 65 bytes"),
        "{}",
        rej.detail
    );
    // The JSON path applies the same limits.
    let v = json!({"InvoiceNo": "536365", "StockCode": "S".repeat(33), "Quantity": 1,
        "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": "1", "Country": "UK"});
    let rej = c.clean_json_value(&v).unwrap_err();
    assert_eq!(rej.reason, RejectReason::TooLong);
    assert!(
        rej.detail.starts_with("StockCode is 33 bytes"),
        "{}",
        rej.detail
    );
}
