//! The wire format as the walk reads it: keys, varints, text in pieces, and
//! each message type's fields as the walk needs them.

use super::*;

/// Nested messages deeper than this are refused (prost's own limit is 100).
pub(super) const MAX_DEPTH: usize = 64;

/// A field on the way down from the request, and its index in a list.
pub(super) type Step = (FieldDescriptor, Option<usize>);

/// A violation's place in the order the walk of a decoded message would find
/// it: field numbers (and list indices, a list's own length before its items)
/// from the request down, then the order met.
pub(super) type Key = (Vec<(u32, Option<usize>)>, usize);

pub(super) fn key_of(steps: &[Step], last: Option<(u32, Option<usize>)>, seq: usize) -> Key {
    let mut path: Vec<(u32, Option<usize>)> = steps.iter().map(|(f, i)| (f.number(), *i)).collect();
    path.extend(last);
    (path, seq)
}

/// The violation's field path, as `pupil.address.lines[1]`.
pub(super) fn path_of(steps: &[Step], last: Option<&Step>) -> String {
    let mut path = String::new();
    for (field, index) in steps.iter().chain(last) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field.name());
        if let Some(i) = index {
            path.push_str(&format!("[{i}]"));
        }
    }
    path
}

/// How a packed run of numbers counts its items.
#[derive(Debug, Clone, Copy)]
pub(super) enum Packed {
    Varints,
    Fixed(u64),
}

pub(super) fn packed(kind: &Kind) -> Option<Packed> {
    match kind {
        Kind::String | Kind::Bytes | Kind::Message(_) => None,
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => Some(Packed::Fixed(8)),
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => Some(Packed::Fixed(4)),
        _ => Some(Packed::Varints),
    }
}

/// The wire type a single value of `kind` is sent with.
pub(super) fn wire_type_of(kind: &Kind) -> u64 {
    match kind {
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
        _ => 0,
    }
}

/// How the walk treats a field, worked out once per message type.
#[derive(Clone)]
pub(super) enum Shape {
    Text(TextLimit),
    Message(MessageDescriptor),
    /// Bytes and maps: skipped.
    Skipped,
    Scalar {
        wire: u64,
        packed: Option<Packed>,
    },
}

/// What the walk needs of a field.
pub(super) struct FieldInfo {
    pub(super) number: u32,
    pub(super) field: FieldDescriptor,
    pub(super) shape: Shape,
    /// Its slot in a level's list counts, for a list.
    pub(super) slot: Option<usize>,
    /// How many items it may hold, for a list.
    pub(super) limit: usize,
}

/// A message type's fields, by number.
pub(super) struct TypeInfo {
    pub(super) descriptor: MessageDescriptor,
    pub(super) fields: Vec<FieldInfo>,
    /// The limit of the list in each slot.
    pub(super) lists: Vec<usize>,
}

impl TypeInfo {
    pub(super) fn new(descriptor: MessageDescriptor) -> Self {
        let mut lists = Vec::new();
        let fields = descriptor
            .fields()
            .map(|field| {
                let kind = field.kind();
                let shape = if field.is_map() {
                    Shape::Skipped
                } else {
                    match &kind {
                        Kind::String => Shape::Text(text_limit(field.name())),
                        Kind::Message(inner) => Shape::Message(inner.clone()),
                        Kind::Bytes => Shape::Skipped,
                        other => Shape::Scalar {
                            wire: wire_type_of(other),
                            packed: packed(other),
                        },
                    }
                };
                let limit = list_limit(field.name());
                let slot = (field.is_list() && !field.is_map()).then(|| {
                    lists.push(limit);
                    lists.len() - 1
                });
                FieldInfo {
                    number: field.number(),
                    limit,
                    field,
                    shape,
                    slot,
                }
            })
            .collect();
        TypeInfo {
            descriptor,
            fields,
            lists,
        }
    }
}

/// A message being read, and the items of each of its lists so far.
pub(super) struct Level {
    /// Its type, in the walk's `types`.
    pub(super) ty: usize,
    /// Where it ends, in bytes from the start of the request.
    pub(super) end: u64,
    pub(super) counts: Vec<usize>,
}

/// A varint at the start of `bytes`, and its length; `None` when `bytes`
/// ends first, `Some(Err)` when it is longer than a varint may be.
pub(super) fn varint(bytes: &[u8]) -> Option<Result<(u64, usize), ()>> {
    // A plain loop: this runs for every field of every request.
    let (mut value, mut i) = (0u64, 0);
    while i < bytes.len() && i < 10 {
        let b = bytes[i];
        value |= u64::from(b & 0x7f) << (7 * i);
        i += 1;
        if b < 0x80 {
            return Some(Ok((value, i)));
        }
    }
    (i == 10).then_some(Err(()))
}

/// A text value being read.
pub(super) struct Text {
    pub(super) step: Step,
    pub(super) limit: TextLimit,
    pub(super) left: u64,
    /// The value so far, when it is short enough to be within its limit
    /// (empty until a value comes in more than one piece).
    pub(super) short: Option<Vec<u8>>,
    /// Otherwise: its characters so far, and a character cut at the end of
    /// the last piece.
    pub(super) chars: usize,
    pub(super) partial: Vec<u8>,
    pub(super) utf8: bool,
}

/// The problem with a whole text value, if any (never quoting it).
pub(super) fn text_problem(bytes: &[u8], limit: TextLimit) -> Option<String> {
    match std::str::from_utf8(bytes) {
        Ok(text) => check_text(text, limit).err(),
        Err(_) => Some(String::from("must be UTF-8 text")),
    }
}

impl Text {
    pub(super) fn take(&mut self, piece: &[u8]) {
        self.left -= piece.len() as u64;
        if let Some(short) = &mut self.short {
            short.extend_from_slice(piece);
            return;
        }
        if !self.utf8 {
            return;
        }
        let mut joined;
        let piece = if self.partial.is_empty() {
            piece
        } else {
            joined = std::mem::take(&mut self.partial);
            joined.extend_from_slice(piece);
            &joined[..]
        };
        let valid = match std::str::from_utf8(piece) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() => {
                self.partial = piece[e.valid_up_to()..].to_vec();
                std::str::from_utf8(&piece[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => {
                self.utf8 = false;
                return;
            }
        };
        self.chars += valid.chars().count();
    }

    /// The problem with the whole value, once read.
    pub(super) fn problem(&self) -> Option<String> {
        match &self.short {
            Some(bytes) => text_problem(bytes, self.limit),
            None if self.utf8 && self.partial.is_empty() => Some(format!(
                "at most {} characters, not {}",
                self.limit.max_chars, self.chars
            )),
            None => Some(String::from("must be UTF-8 text")),
        }
    }
}

/// What the walk is in the middle of.
pub(super) enum State {
    /// A field's key (a varint).
    Key {
        value: u64,
        shift: u32,
    },
    /// A varint value, skipped.
    Varint {
        shift: u32,
    },
    /// The length of a length-delimited value, then what to do with it.
    Length {
        value: u64,
        shift: u32,
        then: Then,
    },
    Skip {
        left: u64,
    },
    Text(Box<Text>),
    /// A packed run of varints: items end with a byte below 0x80.
    Varints {
        slot: usize,
        left: u64,
        items: usize,
        last: u8,
    },
    /// Not valid wire format: the rest is not read.
    Broken,
}

/// A length-delimited value's fate.
pub(super) enum Then {
    Skip,
    /// A field this server does not know (its number).
    Unknown(u32),
    Text(Step, TextLimit),
    Message(Step, MessageDescriptor),
    /// A packed run of numbers, counted in the list in this slot.
    Packed(usize, Packed),
}

/// Counts a violation, and keeps it if it is among the first
/// [`MAX_VIOLATIONS`] in field order.
pub(super) fn record(
    (found, total): (&mut Vec<(Key, FieldViolation)>, &mut usize),
    key: Key,
    path: impl FnOnce() -> String,
    problem: impl FnOnce() -> String,
) {
    *total += 1;
    if found.len() >= MAX_VIOLATIONS && found.last().is_some_and(|(last, _)| *last < key) {
        return;
    }
    let at = found.partition_point(|(k, _)| *k < key);
    found.insert(at, (key, FieldViolation::new(path(), problem())));
    found.truncate(MAX_VIOLATIONS);
}
