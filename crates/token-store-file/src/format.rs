//! The Zoho Python SDK's token file format: CSV (minimal quoting, CRLF), a header row, then one
//! row of ten cells per token. Absent values are empty cells.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;

use token_store_core::lookup::parse_id;
use token_store_core::{Error, Result, Token};

/// The header the Python SDK (`zohocrmsdk8-0`) writes. Its 9th column is `redirect_uri`; the
/// SDK's README, the Java and the Node SDKs say `redirect_url`. Both are accepted on read.
pub const HEADER: [&str; 10] = [
    "id",
    "user_name",
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "grant_token",
    "expiry_time",
    "redirect_uri",
    "api_domain",
];

/// Spellings accepted for the redirect column of an existing file.
const REDIRECT_NAMES: [&str; 2] = ["redirect_uri", "redirect_url"];

/// The tokens of a parsed file.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Data rows in file order.
    pub rows: Vec<Arc<Token>>,
    /// The file had the old 9-column layout (no `api_domain`) and must be rewritten.
    pub needs_migration: bool,
}

/// Parse and validate a whole token file; `bytes` are left as they were. An empty file is an
/// empty store; anything that is not the Zoho layout is
/// [`token_store_core::ErrorKind::Corrupt`] (messages name rows, never values).
pub(crate) fn parse(bytes: &mut Vec<u8>) -> Result<Parsed> {
    if bytes.is_empty() {
        return Ok(Parsed::default());
    }
    // Checked once for the whole file: every cell is then UTF-8 too (cells split at ASCII).
    std::str::from_utf8(bytes).map_err(|e| {
        Error::corrupt(format!(
            "token file is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    READER.with_borrow_mut(|reader| {
        *reader.get_mut() = io::Cursor::new(std::mem::take(bytes));
        // Resets the parser and drops the buffered input of the previous file.
        let parsed = match reader.seek_raw(io::SeekFrom::Start(0), csv::Position::new()) {
            Ok(()) => parse_records(reader),
            Err(e) => Err(csv_error(&e)),
        };
        // Hand the bytes back; the reader keeps none.
        *bytes = std::mem::take(reader.get_mut()).into_inner();
        parsed
    })
}

thread_local! {
    /// One CSV reader per thread, reused: building a reader (its DFA) costs several times
    /// more than parsing a small token file, which is parsed whenever it changed.
    static READER: RefCell<csv::Reader<io::Cursor<Vec<u8>>>> = RefCell::new(
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(io::Cursor::new(Vec::new())),
    );
}

fn parse_records(reader: &mut csv::Reader<io::Cursor<Vec<u8>>>) -> Result<Parsed> {
    // One record reused for every row.
    let mut record = csv::ByteRecord::new();
    if !reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(&e))?
    {
        return Ok(Parsed::default());
    }
    let width = check_header(&record)?;
    let mut parsed = Parsed {
        rows: Vec::new(),
        needs_migration: width == 9,
    };
    let mut seen = std::collections::HashSet::new();
    let mut row = 1;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(&e))?
    {
        row += 1;
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line, as the SDK skips them
        }
        if record.len() != width {
            return Err(Error::corrupt(format!(
                "row {row} of the token file has {} cells; the header has {width}",
                record.len()
            )));
        }
        let (id, expiry_time) = check_row(&record, row)?;
        if !seen.insert(id) {
            return Err(Error::corrupt(format!(
                "row {row} of the token file repeats an id of an earlier row"
            )));
        }
        parsed.rows.push(Arc::new(to_token(&record, expiry_time)));
    }
    Ok(parsed)
}

fn csv_error(err: &csv::Error) -> Error {
    // csv's own message may quote cell contents: keep only the position.
    let line = err.position().map_or(0, csv::Position::line);
    Error::corrupt(format!("token file is not valid CSV near line {line}"))
}

/// The number of columns the header announces (10, or 9 for the old layout).
fn check_header(header: &csv::ByteRecord) -> Result<usize> {
    let cells: Vec<&str> = header.iter().map(utf8).collect();
    let expected_len = match cells.len() {
        10 | 9 => cells.len(),
        n => {
            return Err(Error::corrupt(format!(
                "the token file's header has {n} cells; the Zoho layout has 10 (or 9 before api_domain)"
            )));
        }
    };
    let matches = cells
        .iter()
        .zip(HEADER)
        .enumerate()
        .all(|(i, (cell, want))| {
            if i == 8 {
                REDIRECT_NAMES.contains(cell)
            } else {
                *cell == want
            }
        });
    if !matches {
        return Err(Error::corrupt(
            "the token file's first row is not the Zoho header (id,user_name,client_id,…)",
        ));
    }
    Ok(expected_len)
}

/// A cell of a file already checked to be UTF-8.
fn utf8(cell: &[u8]) -> &str {
    std::str::from_utf8(cell).expect("the whole file was checked to be UTF-8")
}

fn cell(record: &csv::ByteRecord, index: usize) -> Option<String> {
    record
        .get(index)
        .filter(|v| !v.is_empty())
        .map(|v| utf8(v).to_owned())
}

/// Check a data row's id and expiry; returns the id's value and the expiry.
fn check_row(record: &csv::ByteRecord, row: usize) -> Result<(u64, Option<i64>)> {
    let id = parse_id(utf8(&record[0])).map_err(|_| {
        Error::corrupt(format!(
            "row {row} of the token file has an id that is not 1 to 10 decimal digits"
        ))
    })?;
    let expiry_time = match utf8(&record[7]) {
        "" => None,
        text => Some(text.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            Error::corrupt(format!(
                "row {row} of the token file has an expiry_time that is not epoch milliseconds"
            ))
        })?),
    };
    Ok((id, expiry_time))
}

fn to_token(record: &csv::ByteRecord, expiry_time: Option<i64>) -> Token {
    Token {
        id: cell(record, 0),
        user_name: cell(record, 1),
        client_id: cell(record, 2),
        client_secret: cell(record, 3),
        refresh_token: cell(record, 4),
        access_token: cell(record, 5),
        grant_token: cell(record, 6),
        expiry_time,
        redirect_url: cell(record, 8),
        api_domain: cell(record, 9),
    }
}

/// The whole file for `rows`, exactly as the Python SDK's `csv.writer` writes it: comma
/// separated, CRLF line ends, a cell quoted (its quotes doubled) only when it holds a comma, a
/// quote, a CR or an LF (`QUOTE_MINIMAL`). Written directly: the file is rewritten whole on
/// every change, and a general CSV writer costs several times more per cell.
pub(crate) fn serialize<'a>(rows: impl IntoIterator<Item = &'a Token>) -> Serialized {
    let mut out = Vec::new();
    for (i, name) in HEADER.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_cell(&mut out, name.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    let mut starts = Vec::new();
    for token in rows {
        starts.push(out.len());
        push_row(&mut out, token);
    }
    starts.push(out.len());
    Serialized {
        bytes: out,
        row_starts: starts,
    }
}

/// A serialized token file and where each of its rows starts (plus the end of the last).
#[derive(Debug, Clone, Default)]
pub(crate) struct Serialized {
    /// The file's bytes.
    pub(crate) bytes: Vec<u8>,
    /// Byte offset of each row, then the file's length.
    pub(crate) row_starts: Vec<usize>,
}

/// The file `bytes` (rows starting at `row_starts`, then its length) with row `index` replaced
/// by `token` (`index` = the row count: appended), copying the other rows' bytes instead of
/// serializing them again. `None` when `index` is past the end or the offsets are unknown.
pub(crate) fn splice_row(
    bytes: &[u8],
    row_starts: &[usize],
    index: usize,
    token: &Token,
) -> Option<Serialized> {
    let rows = row_starts.len().checked_sub(1)?;
    if index > rows || row_starts[rows] != bytes.len() {
        return None;
    }
    let start = row_starts[index];
    let end = row_starts[(index + 1).min(rows)];
    let mut out = Vec::with_capacity(bytes.len() + 256);
    out.extend_from_slice(&bytes[..start]);
    push_row(&mut out, token);
    let new_end = out.len();
    out.extend_from_slice(&bytes[end..]);
    let mut starts = row_starts.to_vec();
    if index == rows {
        starts.push(new_end);
    } else {
        let shift = new_end as isize - end as isize;
        for offset in &mut starts[index + 1..] {
            *offset = offset.wrapping_add_signed(shift);
        }
    }
    Some(Serialized {
        bytes: out,
        row_starts: starts,
    })
}

/// Append one row with its line ending.
fn push_row(out: &mut Vec<u8>, token: &Token) {
    fn text(v: &Option<String>) -> &[u8] {
        v.as_deref().unwrap_or_default().as_bytes()
    }
    let mut digits = [0u8; 20];
    let expiry = token
        .expiry_time
        .map_or(&[][..], |v| decimal(v, &mut digits));
    let cells = [
        text(&token.id),
        text(&token.user_name),
        text(&token.client_id),
        text(&token.client_secret),
        text(&token.refresh_token),
        text(&token.access_token),
        text(&token.grant_token),
        expiry,
        text(&token.redirect_url),
        text(&token.api_domain),
    ];
    out.reserve(cells.iter().map(|c| c.len() + 1).sum::<usize>() + 2);
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_cell(out, cell);
    }
    out.extend_from_slice(b"\r\n");
}

/// Append one cell, quoted when it holds a comma, a quote, a CR or an LF.
fn push_cell(out: &mut Vec<u8>, cell: &[u8]) {
    // All four bytes are below b'-': a branch-free scan for such bytes first (most cells
    // have none), then the exact check.
    let maybe = cell
        .chunks(16)
        .any(|chunk| chunk.iter().fold(false, |seen, &b| seen | (b < b'-')));
    if !(maybe
        && cell
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')))
    {
        out.extend_from_slice(cell);
        return;
    }
    out.push(b'"');
    for part in cell.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.ends_with(b"\"") {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// `value` (≥ 0, as stored expiries are) in decimal, written into `digits`.
fn decimal(value: i64, digits: &mut [u8; 20]) -> &[u8] {
    let mut rest = value.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_quotes_round_trip() {
        let file = b"id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\r\n\r\n1,\"a,\"\"b\"\"\r\nc\",,,r,,,5,,\r\n\r\n";
        let mut bytes = file.to_vec();
        let parsed = parse(&mut bytes).unwrap();
        assert_eq!(bytes, file, "the bytes are handed back");
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].user_name.as_deref(), Some("a,\"b\"\r\nc"));
        assert_eq!(parsed.rows[0].expiry_time, Some(5));
        assert_eq!(parsed.rows[0].client_id, None);
        let mut again = serialize(parsed.rows.iter().map(|row| &**row)).bytes;
        assert_eq!(parse(&mut again).unwrap().rows, parsed.rows);
    }

    /// The direct writer writes what the csv crate's writer (minimal quoting, CRLF) writes.
    #[test]
    fn serialize_matches_a_csv_writer() {
        let values = [
            "",
            "plain",
            "a,b",
            "say \"hi\"",
            "\"",
            "\"\"",
            "line\nbreak",
            "cr\rhere",
            "crlf\r\n",
            "ünï ✓",
            " spaced ",
            "#hash",
            "'quote'",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "0123456789abcdef,",
            "0123456789abcdef0123456789abcdef\"",
        ];
        let mut rows = Vec::new();
        for (n, v) in values.iter().enumerate() {
            let value = Some((*v).to_owned()).filter(|v| !v.is_empty());
            rows.push(Token {
                id: Some((n + 1).to_string()),
                user_name: value.clone(),
                client_id: value.clone(),
                client_secret: None,
                refresh_token: value.clone(),
                access_token: value.clone(),
                grant_token: value.clone(),
                expiry_time: [None, Some(0), Some(7), Some(i64::MAX)][n % 4],
                redirect_url: value.clone(),
                api_domain: value,
            });
        }
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(Vec::new());
        writer.write_record(HEADER).unwrap();
        for t in &rows {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            writer
                .write_record([
                    text(&t.id),
                    text(&t.user_name),
                    text(&t.client_id),
                    text(&t.client_secret),
                    text(&t.refresh_token),
                    text(&t.access_token),
                    text(&t.grant_token),
                    t.expiry_time.map(|v| v.to_string()).unwrap_or_default(),
                    text(&t.redirect_url),
                    text(&t.api_domain),
                ])
                .unwrap();
        }
        let expected = writer.into_inner().unwrap();
        assert_eq!(
            String::from_utf8(serialize(&rows).bytes).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        // A row replaced or appended by splicing gives the bytes of a whole serialization.
        let whole = serialize(&rows);
        for index in [0, 3, rows.len() - 1, rows.len()] {
            let mut changed = rows.clone();
            let mut token = rows[(index + 1) % rows.len()].clone();
            token.access_token = Some(format!("1000.spliced,\"{index}\""));
            if index == rows.len() {
                changed.push(token.clone());
            } else {
                changed[index] = token.clone();
            }
            let spliced = splice_row(&whole.bytes, &whole.row_starts, index, &token).unwrap();
            let expected = serialize(&changed);
            assert_eq!(spliced.bytes, expected.bytes, "row {index}");
            assert_eq!(spliced.row_starts, expected.row_starts, "row {index}");
        }
        assert!(splice_row(&whole.bytes, &whole.row_starts, rows.len() + 1, &rows[0]).is_none());
        assert!(splice_row(&whole.bytes, &[], 0, &rows[0]).is_none());
    }

    #[test]
    fn the_reused_reader_starts_fresh_after_a_failed_or_unfinished_parse() {
        let header = HEADER.join(",") + "\r\n";
        let valid = format!("{header}1,me,,,1000.r,,,,,\r\n").into_bytes();
        let corrupt_midway = format!("{header}1,a,,,r,,,,,\r\nx,b,,,r,,,,,\r\n2,c,,,r,,,,,\r\n");
        let open_quote = format!("{header}1,\"never closed,,,r,,,,,\r\n");
        for bad in [corrupt_midway, open_quote] {
            let _ = parse(&mut bad.into_bytes());
            let parsed = parse(&mut valid.clone()).unwrap();
            assert_eq!(parsed.rows.len(), 1);
            assert_eq!(parsed.rows[0].user_name.as_deref(), Some("me"));
        }
    }
}
