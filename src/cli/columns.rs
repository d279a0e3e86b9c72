//! What the CSV importers (`import-marks`, `import-payments`) share: an
//! export's own column names mapped onto the importer's fields
//! (`--columns field=Header,...`), resolved against the file's header row
//! (matched ignoring case), and the file's text whatever its encoding.
//!
//! An importer lists its fields (an enum implementing [`ImportField`]); a field
//! not named in the mapping is read from the column of its own name. A
//! repeatable field (a payment's references) may name several columns, read
//! in the order named.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;

use anyhow::{Context, bail};

/// A field an importer reads, named in `--columns` by [`ImportField::name`].
pub trait ImportField: Copy + Eq + Hash + Debug + 'static {
    /// Every field, in the order messages list them.
    fn all() -> &'static [Self];
    /// The field's name in `--columns`, and the column it is read from
    /// unless mapped.
    fn name(self) -> &'static str;
    /// Whether the field may name several columns (`reference=Ref1,reference=Ref2`).
    fn repeatable(self) -> bool {
        false
    }
}

/// The file's columns for each field named; a field not named is read from the
/// column of its own name.
pub type ColumnMap<F> = HashMap<F, Vec<String>>;

fn field_named<F: ImportField>(name: &str) -> Option<F> {
    F::all().iter().copied().find(|f| f.name() == name)
}

/// `--columns field=Column,...`: each field once (a repeatable one as often as
/// it has columns), each naming a column.
pub fn parse_columns<F: ImportField>(spec: &str) -> anyhow::Result<ColumnMap<F>> {
    let mut columns: ColumnMap<F> = HashMap::new();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((field, column)) = pair.split_once('=') else {
            bail!("--columns: '{pair}' is not field=Column");
        };
        let (field, column) = (field.trim(), column.trim());
        let Some(f) = field_named::<F>(field) else {
            let names: Vec<_> = F::all().iter().map(|f| f.name()).collect();
            bail!(
                "--columns: '{field}' is not a field (fields: {})",
                names.join(", ")
            );
        };
        if column.is_empty() {
            bail!("--columns: {field} names no column");
        }
        let named = columns.entry(f).or_default();
        if !named.is_empty() && !f.repeatable() {
            bail!("--columns: {field} is named twice");
        }
        if named.iter().any(|c| c.eq_ignore_ascii_case(column)) {
            bail!("--columns: {field}={column} is named twice");
        }
        named.push(column.to_string());
    }
    Ok(columns)
}

/// A file's columns resolved against a mapping: where each field is read.
pub struct Columns<F> {
    headers: csv::StringRecord,
    index: HashMap<F, Vec<usize>>,
}

impl<F: ImportField> Columns<F> {
    /// Finds each field's columns in `headers` (ignoring case). A column the
    /// mapping names must exist; a field not mapped is read from the column of
    /// its own name when there is one.
    pub fn resolve(
        headers: csv::StringRecord,
        mapping: &ColumnMap<F>,
        file: &str,
    ) -> anyhow::Result<Self> {
        let mut index: HashMap<F, Vec<usize>> = HashMap::new();
        for &f in F::all() {
            let own = [f.name().to_string()];
            let (wanted, mapped) = match mapping.get(&f) {
                Some(columns) if !columns.is_empty() => (columns.as_slice(), true),
                _ => (own.as_slice(), false),
            };
            for want in wanted {
                match headers.iter().position(|h| h.eq_ignore_ascii_case(want)) {
                    Some(i) => index.entry(f).or_default().push(i),
                    None if mapped => bail!(
                        "--columns {}={want}: {} has no column '{want}' (its columns: {})",
                        f.name(),
                        file,
                        headers.iter().collect::<Vec<_>>().join(", ")
                    ),
                    None => {}
                }
            }
        }
        Ok(Columns { headers, index })
    }

    /// The field's (first) column, if the file has one.
    pub fn get(&self, f: F) -> Option<usize> {
        self.index.get(&f).and_then(|c| c.first().copied())
    }

    /// Every column of a repeatable field, in the order named.
    pub fn all(&self, f: F) -> &[usize] {
        self.index.get(&f).map_or(&[], Vec::as_slice)
    }

    /// The field's column, or an error naming it and how to map it.
    pub fn required(&self, f: F, file: &str) -> anyhow::Result<usize> {
        self.get(f).with_context(|| {
            format!(
                "{} has no column '{}' (map one with --columns {}=NAME; its columns: {})",
                file,
                f.name(),
                f.name(),
                self.list()
            )
        })
    }

    /// The file's columns, for messages.
    pub fn list(&self) -> String {
        self.headers.iter().collect::<Vec<_>>().join(", ")
    }

    /// The column's name as the file spells it, for messages.
    pub fn header(&self, i: usize) -> &str {
        self.headers.get(i).unwrap_or("?")
    }
}

/// The line a CSV record starts on, from the byte the csv reader says it
/// starts at. The reader's own line numbers miss the blank lines it skips and
/// count a CRLF file's lines from 0; its byte offset is right, but may fall
/// before the line ending (or blank lines) preceding the record, which are
/// skipped here.
pub struct LineCounter<'a> {
    text: &'a [u8],
    /// A byte already counted up to, and the line it is on.
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// Offsets must not go back.
    pub fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.at {
            // A line ends at LF, CRLF, or a CR alone (as the reader reads them).
            let text = self.text;
            let breaks = (self.at..start)
                .filter(|&i| {
                    text[i] == b'\n' || (text[i] == b'\r' && text.get(i + 1) != Some(&b'\n'))
                })
                .count();
            self.line += breaks as u64;
            self.at = start;
        }
        self.line
    }
}

/// A file's text: UTF-8 (with or without a byte-order mark), UTF-16 with its
/// mark, or, when the bytes are not UTF-8, Windows-1252, as spreadsheet
/// programs on Windows save "CSV" (a pound sign as the single byte 0xA3).
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return text.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum F {
        Id,
        Reference,
    }

    impl ImportField for F {
        fn all() -> &'static [F] {
            &[F::Id, F::Reference]
        }
        fn name(self) -> &'static str {
            match self {
                F::Id => "id",
                F::Reference => "reference",
            }
        }
        fn repeatable(self) -> bool {
            self == F::Reference
        }
    }

    #[test]
    fn repeatable_fields_name_several_columns_in_order_and_others_one() {
        let c = parse_columns::<F>("reference=Ref1, id=TxnRef,reference=Ref2").unwrap();
        assert_eq!(c[&F::Id], ["TxnRef"]);
        assert_eq!(c[&F::Reference], ["Ref1", "Ref2"]);
        assert!(parse_columns::<F>("id=A,id=B").is_err());
        assert!(parse_columns::<F>("reference=A,reference=a").is_err());
        assert!(parse_columns::<F>("nope=A").is_err());
        assert!(parse_columns::<F>("id").is_err());
        assert!(parse_columns::<F>("id= ").is_err());
    }

    #[test]
    fn columns_are_found_ignoring_case_and_a_mapped_one_must_exist() {
        let headers = csv::StringRecord::from(vec!["ID", "Ref2", "Ref1"]);
        let mapping = parse_columns::<F>("reference=ref1,reference=REF2").unwrap();
        let c = Columns::resolve(headers.clone(), &mapping, "f.csv").unwrap();
        assert_eq!((c.get(F::Id), c.all(F::Reference)), (Some(0), &[2, 1][..]));
        let missing = parse_columns::<F>("reference=Ref3").unwrap();
        let e = Columns::resolve(headers.clone(), &missing, "f.csv")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("--columns reference=Ref3: f.csv has no column 'Ref3'"),
            "{e}"
        );
        let c = Columns::resolve(headers, &ColumnMap::new(), "f.csv").unwrap();
        assert!(c.all(F::Reference).is_empty());
        let e = c.required(F::Reference, "f.csv").unwrap_err().to_string();
        assert!(e.contains("--columns reference=NAME"), "{e}");
    }

    #[test]
    fn records_are_placed_on_the_line_they_start_on_whatever_the_line_endings() {
        for text in [
            "h,i\nx,y\n\n\"two\nlines\",1\nz,w\n",
            "h,i\r\nx,y\r\n\r\n\"two\r\nlines\",1\r\nz,w",
            "\u{feff}h,i\r\nx,y\r\n\r\n\"two\r\nlines\",1\r\nz,w\r\n",
            "h,i\rx,y\r\r\"two\rlines\",1\rz,w\r",
        ] {
            let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
            let mut counter = LineCounter::new(text);
            let lines: Vec<(String, u64)> = reader
                .records()
                .map(|r| {
                    let r = r.unwrap();
                    (
                        r[0].to_string(),
                        counter.line_at(r.position().unwrap().byte()),
                    )
                })
                .collect();
            let want = [("x", 2), ("two\nlines", 4), ("z", 6)];
            let got: Vec<(String, u64)> = lines
                .into_iter()
                .map(|(f, l)| (f.replace("\r\n", "\n").replace('\r', "\n"), l))
                .collect();
            assert_eq!(got, want.map(|(f, l)| (f.to_string(), l)), "{text:?}");
        }
    }

    #[test]
    fn text_is_utf8_with_or_without_a_mark_else_windows_1252() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFa,\xC2\xA31"), "a,\u{a3}1");
        assert_eq!(decode_text(b"a,\xA31"), "a,\u{a3}1");
        assert_eq!(decode_text(b"\xFF\xFEa\x00"), "a");
    }
}
