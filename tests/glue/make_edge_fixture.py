"""Writes tests/fixtures/glue_parity_edge.csv: hand-made rows for the byte- and parser-level
cases the real data does not show (it has no blank line, NUL, odd whitespace or exponent).

    python3 tests/glue/make_edge_fixture.py > tests/fixtures/glue_parity_edge.csv

Every row is one the crate (lambdas/records) and the Glue script must treat alike.
"""

import sys

HEADER = b"\xef\xbb\xbfInvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n"

ROWS = [
    # the ordinary row, and an exact copy of it (a duplicate)
    b"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    b"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    # the same line written differently: equal once typed, so a duplicate too
    b"536365 ,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6.0,12/01/2010 08:26:00,2.550,17850.0,United Kingdom ",
    # a blank line (skipped, takes no row number), a CRLF line end, a CR-only line end
    b"",
    b"536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom\r",
    b"536366,22634,HAND WARMER RED POLKA DOT,6,12/1/2010 8:28,1.85,17850,United Kingdom\r"
    + b"536366,22635,AFTER A CR LINE END,6,12/1/2010 8:28,1.85,17850,United Kingdom",
    # whitespace the crate trims (ASCII, no vertical tab) and whitespace it keeps
    b"536367,\t84879 ,ASSORTED COLOUR BIRD ORNAMENT,\"32\n\",12/1/2010 8:34,\" 1.69\r\",13047,United Kingdom\x0c",
    b"536367\x0b,84880,VERTICAL TAB AFTER THE INVOICE,1,12/1/2010 8:34,1.69,13047,United Kingdom",
    b"536368,22960,NBSP AFTER THE COUNTRY,6,12/1/2010 8:34,4.25,13047,United Kingdom\xa0",
    b"536368,22913,NBSP IN THE DATE,3,12/1/2010\xc2\xa08:34,4.95,13047,United Kingdom",
    b"536368,  DOT  ,  DESCRIPTION KEPT AS IS  ,1,12/1/2010 8:34,1.00,13047,  United Kingdom",
    # CSV structure: quotes, embedded line ends, too few / too many fields, a NUL byte
    b'536369,21756,"BATH BUILDING BLOCK WORD, ""BATH""",3,12/1/2010 8:35,5.95,13047,United Kingdom',
    b'536369,21757,7" VINYL RECORD FRAME,3,12/1/2010 8:35,5.95,13047,United Kingdom',
    b'536369,21758,"QUOTED"TAIL,3,12/1/2010 8:35,5.95,13047,United Kingdom',
    b'536369,21759,"TWO\r\nLINES",3,12/1/2010 8:35,5.95,13047,United Kingdom',
    b'536369,21760,"",3,12/1/2010 8:35,5.95,13047,United Kingdom',
    b"536369,21761,NO COUNTRY FIELD,3,12/1/2010 8:35,5.95,13047",
    b"536369,21762,TRAILING COMMA,3,12/1/2010 8:35,5.95,13047,United Kingdom,",
    b'""',
    b",,,,,,,",
    b"536369,21763,NUL\x00IN THE DESCRIPTION,3,12/1/2010 8:35,5.95,13047,United Kingdom",
    # encodings: Latin-1 pound sign, the same as UTF-8, a lone UTF-8 lead byte, a C1 control
    b"536370,22632,HAND WARMER \xa3 RED,6,12/1/2010 9:01,1.85,17850,United Kingdom",
    b"536370,22633,HAND WARMER \xc2\xa3 RED,6,12/1/2010 9:01,1.85,17850,United Kingdom",
    b"536370,22634,CAF\xc3\xa9 \xc3,6,12/1/2010 9:01,1.85,17850,United Kingdom",
    b"536370,22635,C1 CONTROL \xc2\x85 HERE,6,12/1/2010 9:01,1.85,17850,United Kingdom",
    b"536370,22636,LATIN-1 IN THE PRICE,6,12/1/2010 9:01,1.8\xa3,17850,United Kingdom",
    # invoice numbers and stock codes
    b"C536371,22637,CANCELLED,-6,12/1/2010 9:02,1.85,17850,United Kingdom",
    b"A536372,B,Adjust bad debt,1,8/12/2011 14:50,-11062.06,,United Kingdom",
    b"X536373,22638,BAD INVOICE,6,12/1/2010 9:02,1.85,17850,United Kingdom",
    b"C,22639,PREFIX ONLY,6,12/1/2010 9:02,1.85,17850,United Kingdom",
    b"c536374,22640,LOWER CASE C,6,12/1/2010 9:02,1.85,17850,United Kingdom",
    b"536375,85123a,LOWER CASE SUFFIX,6,12/1/2010 9:02,2.55,17850,United Kingdom",
    b"536375,DCGS0066P,DCGS CODE,1,12/1/2010 9:02,2.55,17850,United Kingdom",
    b"536375,DCGS,DCGS ALONE,1,12/1/2010 9:02,2.55,17850,United Kingdom",
    b"536375,DCGS-1,DCGS WITH A DASH,1,12/1/2010 9:02,2.55,17850,United Kingdom",
    b"536375,1234,FOUR DIGITS,1,12/1/2010 9:02,2.55,17850,United Kingdom",
    b"536375,12345-A,DASHED SUFFIX,1,12/1/2010 9:02,2.55,17850,United Kingdom",
    b"536375,gift_0001_40,Dotcomgiftshop Gift Voucher \xa340.00,1,12/1/2010 9:02,34.04,,United Kingdom",
    b"536375,,NO STOCK CODE,1,12/1/2010 9:02,2.55,17850,United Kingdom",
    # quantities
    b"536376,22645,PLUS SIGN,+6,12/1/2010 9:03,1.85,17850,United Kingdom",
    b"536376,22646,MINUS ZERO,-0,12/1/2010 9:03,1.85,17850,United Kingdom",
    b"536376,22647,EIGHTEEN DIGITS,123456789012345678,12/1/2010 9:03,1.85,17850,United Kingdom",
    b"536376,22648,NINETEEN DIGITS,1234567890123456789,12/1/2010 9:03,1.85,17850,United Kingdom",
    b"536376,22649,FRACTION,1.5,12/1/2010 9:03,1.85,17850,United Kingdom",
    b"536376,22650,TRAILING DOT,6.,12/1/2010 9:03,1.85,17850,United Kingdom",
    b"536376,22651,SIGN ONLY,-,12/1/2010 9:03,1.85,17850,United Kingdom",
    b"536376,22652,ARABIC DIGIT,\xd9\xa3,12/1/2010 9:03,1.85,17850,United Kingdom",
    # dates
    b"536377,22653,ISO DATE,6,2010-12-01 09:04:05,1.85,17850,United Kingdom",
    b"536377,22654,ISO T DATE,6,2010-12-01T09:04,1.85,17850,United Kingdom",
    b"536377,22655,LEAP DAY 2011,6,2/29/2011 9:04,1.85,17850,United Kingdom",
    b"536377,22656,SECOND 60,6,12/1/2010 9:04:60,1.85,17850,United Kingdom",
    b"536377,22657,HOUR 24,6,12/1/2010 24:00,1.85,17850,United Kingdom",
    b"536377,22658,TWO DIGIT YEAR,6,12/1/10 9:04,1.85,17850,United Kingdom",
    b"536377,22659,NO TIME,6,12/1/2010,1.85,17850,United Kingdom",
    b"536377,22660,TWO SPACES,6,12/1/2010  9:04,1.85,17850,United Kingdom",
    b"536377,22661,DST STARTS,6,3/27/2011 1:30,1.85,17850,United Kingdom",
    b"536377,22662,DST ENDS,6,10/30/2011 1:30,1.85,17850,United Kingdom",
    b"536377,22663,YEAR 1,6,1/1/0001 0:00,1.85,17850,United Kingdom",
    b"536377,22664,YEAR 9999,6,12/31/9999 23:59:59,1.85,17850,United Kingdom",
    b"536377,22706,YEAR 0,6,1/1/0000 8:26,1.85,17850,United Kingdom",
    b"536377,22707,ISO YEAR 0,6,0000-01-01 08:26,1.85,17850,United Kingdom",
    # prices (all within the Glue table's decimal(10,3))
    b"536378,22665,ZERO,1,12/1/2010 9:05,0.0,17850,United Kingdom",
    b"536378,22666,MINUS ZERO,1,12/1/2010 9:05,-0.00,17850,United Kingdom",
    b"536378,22667,PLUS SIGN,1,12/1/2010 9:05,+2.55,17850,United Kingdom",
    b"536378,22668,LEADING DOT,1,12/1/2010 9:05,.5,17850,United Kingdom",
    b"536378,22669,TRAILING DOT,1,12/1/2010 9:05,5.,17850,United Kingdom",
    b"536378,22670,LEADING ZEROS,1,12/1/2010 9:05,0002.50,17850,United Kingdom",
    b"536378,22671,EXPONENT,1,12/1/2010 9:05,2.55E1,17850,United Kingdom",
    b"536378,22672,NEGATIVE EXPONENT,1,12/1/2010 9:05,-1e-3,17850,United Kingdom",
    b"536378,22673,EXPONENT TOO SMALL,1,12/1/2010 9:05,1e-29,17850,United Kingdom",
    b"536378,22674,ZERO EXPONENT TOO SMALL,1,12/1/2010 9:05,0e-40,17850,United Kingdom",
    b"536378,22675,EXPONENT TOO LARGE,1,12/1/2010 9:05,1e400,17850,United Kingdom",
    b"536378,22676,NAN,1,12/1/2010 9:05,NaN,17850,United Kingdom",
    b"536378,22677,INF,1,12/1/2010 9:05,inf,17850,United Kingdom",
    b'536378,22678,COMMA DECIMAL,1,12/1/2010 9:05,"2,55",17850,United Kingdom',
    b"536378,22679,TWO DOTS,1,12/1/2010 9:05,1.2.3,17850,United Kingdom",
    b"536378,22680,DOT ONLY,1,12/1/2010 9:05,.,17850,United Kingdom",
    b"536378,22681,HEX,1,12/1/2010 9:05,0x10,17850,United Kingdom",
    b"536378,22682,LARGEST,1,12/1/2010 9:05,9999999.999,17850,United Kingdom",
    # prices decimal(10,3) cannot hold exactly: refused as bad_price by both
    b"536378,22700,FOUR PLACES,1,12/1/2010 9:05,0.0001,17850,United Kingdom",
    b"536378,22701,TRAILING ZEROS FIT,1,12/1/2010 9:05,2.5500,17850,United Kingdom",
    b"536378,22702,TEN MILLION,1,12/1/2010 9:05,10000000,17850,United Kingdom",
    b"536378,22703,MINUS TEN MILLION,1,12/1/2010 9:05,-10000000.0,17850,United Kingdom",
    b"536378,22704,EXPONENT TEN MILLION,1,12/1/2010 9:05,1e7,17850,United Kingdom",
    b"536378,22705,EXPONENT FOUR PLACES,1,12/1/2010 9:05,1.2345E0,17850,United Kingdom",
    b"536378,22708,UNDERSCORE,1,12/1/2010 9:05,2_55,17850,United Kingdom",
    # customer ids
    b"536379,22683,NAN CUSTOMER,1,12/1/2010 9:06,1.00,NaN,United Kingdom",
    b"536379,22684,NULL CUSTOMER,1,12/1/2010 9:06,1.00,null,United Kingdom",
    b"536379,22685,None CUSTOMER,1,12/1/2010 9:06,1.00,None,United Kingdom",
    b"536379,22686,NONE CUSTOMER,1,12/1/2010 9:06,1.00,NONE,United Kingdom",
    b"536379,22687,BLANK CUSTOMER,1,12/1/2010 9:06,1.00, ,United Kingdom",
    b"536379,22688,ZERO CUSTOMER,1,12/1/2010 9:06,1.00,0,United Kingdom",
    b"536379,22689,ZERO FLOAT CUSTOMER,1,12/1/2010 9:06,1.00,0.0,United Kingdom",
    b"536379,22690,LARGEST CUSTOMER,1,12/1/2010 9:06,1.00,4294967295,United Kingdom",
    b"536379,22691,TOO LARGE CUSTOMER,1,12/1/2010 9:06,1.00,4294967296,United Kingdom",
    b"536379,22692,FRACTIONAL CUSTOMER,1,12/1/2010 9:06,1.00,17850.5,United Kingdom",
    b"536379,22693,NEGATIVE CUSTOMER,1,12/1/2010 9:06,1.00,-17850,United Kingdom",
    b"536379,22694,SIGNED CUSTOMER,1,12/1/2010 9:06,1.00,+17850,United Kingdom",
    b"536379,22695,PADDED CUSTOMER,1,12/1/2010 9:06,1.00,\t0017850.00 ,United Kingdom",
    # countries
    b"536380,22696,NO COUNTRY,1,12/1/2010 9:07,1.00,17850,",
    b"536380,22697,BLANK COUNTRY,1,12/1/2010 9:07,1.00,17850,\t ",
    # the first check to fail wins: bad quantity and bad price -> bad_quantity
    b"536381,22698,TWO FAULTS,x,12/1/2010 9:08,y,17850,",
    # non-product code and no customer and a cancellation: the rule order decides
    b"C536382,POST,POSTAGE,-1,12/1/2010 9:09,18.00,,France",
    # the last line has no line end
    b"536383,22699,NO LINE END,1,12/1/2010 9:10,1.00,17850,United Kingdom",
]

# Nothing is left out: every case above is one the two must agree on.


def main():
    out = sys.stdout.buffer
    out.write(HEADER)
    out.write(b"\n".join(ROWS))


if __name__ == "__main__":
    main()
