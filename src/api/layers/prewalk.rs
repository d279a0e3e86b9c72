//! The request limits (`limits`) checked on the encoded bytes as they arrive,
//! before prost decodes anything: a message over its limits is refused with
//! INVALID_ARGUMENT and its field violations without ever being decoded, and
//! without being kept either once the first violation is found. So what a
//! request costs is bounded by what the limits allow, not by what 4 MB of
//! wire format would decode to (2 million empty marks are a few hundred MB of
//! structs; here, a count).
//!
//! [`Walker`] reads one message pushed in pieces, in constant memory besides
//! its violations (at most [`MAX_VIOLATIONS`] kept, the rest counted) and one
//! short text at a time. The items of a list past its limit are counted and
//! skipped, not looked into, so the walk's work is bounded by the limits too. [`PrewalkLayer`] runs it over every lea.notices.v1
//! request body, message by message (a client stream's each batch too), and
//! passes on only the messages that keep to their limits.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use tonic::Status;

use super::limits::{TextLimit, check_text, list_limit, text_limit};
use crate::app::ServiceError;
use crate::domain::FieldViolation;
use crate::proto::FILE_DESCRIPTOR_SET;

/// Violations reported one by one; more are summed up.
pub const MAX_VIOLATIONS: usize = 20;

/// Bytes of fields this server does not know that a message may carry
/// (prost skips them, but they are kept until the message is passed on).
pub const MAX_UNKNOWN_BYTES: u64 = 64 * 1024;

/// Nested messages deeper than this are refused (prost's own limit is 100).
const MAX_DEPTH: usize = 64;

/// A field on the way down from the request, and its index in a list.
type Step = (FieldDescriptor, Option<usize>);

/// A violation's place in the order the walk of a decoded message would find
/// it: field numbers (and list indices, a list's own length before its items)
/// from the request down, then the order met.
type Key = (Vec<(u32, Option<usize>)>, usize);

fn key_of(steps: &[Step], last: Option<(u32, Option<usize>)>, seq: usize) -> Key {
    let mut path: Vec<(u32, Option<usize>)> = steps.iter().map(|(f, i)| (f.number(), *i)).collect();
    path.extend(last);
    (path, seq)
}

/// The violation's field path, as `pupil.address.lines[1]`.
fn path_of(steps: &[Step], last: Option<&Step>) -> String {
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
enum Packed {
    Varints,
    Fixed(u64),
}

fn packed(kind: &Kind) -> Option<Packed> {
    match kind {
        Kind::String | Kind::Bytes | Kind::Message(_) => None,
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => Some(Packed::Fixed(8)),
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => Some(Packed::Fixed(4)),
        _ => Some(Packed::Varints),
    }
}

/// The wire type a single value of `kind` is sent with.
fn wire_type_of(kind: &Kind) -> u64 {
    match kind {
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
        _ => 0,
    }
}

/// How the walk treats a field, worked out once per message type.
#[derive(Clone)]
enum Shape {
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
struct FieldInfo {
    number: u32,
    field: FieldDescriptor,
    shape: Shape,
    /// Its slot in a level's list counts, for a list.
    slot: Option<usize>,
    /// How many items it may hold, for a list.
    limit: usize,
}

/// A message type's fields, by number.
struct TypeInfo {
    descriptor: MessageDescriptor,
    fields: Vec<FieldInfo>,
    /// The limit of the list in each slot.
    lists: Vec<usize>,
}

impl TypeInfo {
    fn new(descriptor: MessageDescriptor) -> Self {
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
struct Level {
    /// Its type, in the walk's `types`.
    ty: usize,
    /// Where it ends, in bytes from the start of the request.
    end: u64,
    counts: Vec<usize>,
}

/// A varint at the start of `bytes`, and its length; `None` when `bytes`
/// ends first, `Some(Err)` when it is longer than a varint may be.
fn varint(bytes: &[u8]) -> Option<Result<(u64, usize), ()>> {
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
struct Text {
    step: Step,
    limit: TextLimit,
    left: u64,
    /// The value so far, when it is short enough to be within its limit
    /// (empty until a value comes in more than one piece).
    short: Option<Vec<u8>>,
    /// Otherwise: its characters so far, and a character cut at the end of
    /// the last piece.
    chars: usize,
    partial: Vec<u8>,
    utf8: bool,
}

/// The problem with a whole text value, if any (never quoting it).
fn text_problem(bytes: &[u8], limit: TextLimit) -> Option<String> {
    match std::str::from_utf8(bytes) {
        Ok(text) => check_text(text, limit).err(),
        Err(_) => Some(String::from("must be UTF-8 text")),
    }
}

impl Text {
    fn take(&mut self, piece: &[u8]) {
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
    fn problem(&self) -> Option<String> {
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
enum State {
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
enum Then {
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
fn record(
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

/// One message's walk, pushed in pieces ([`Walker::feed`]) until its length.
pub struct Walker {
    types: Vec<TypeInfo>,
    /// The last key, when its values are skipped (and counted in a list's
    /// slot): the next value of the same key is skipped at once.
    skip_run: Option<(u64, Option<usize>)>,
    /// A list has passed its limit (counted when its message ends).
    over_a_list: bool,
    unknown_bytes: u64,
    stack: Vec<Level>,
    steps: Vec<Step>,
    state: State,
    pos: u64,
    /// The first violations in field order, each with its place.
    found: Vec<(Key, FieldViolation)>,
    total: usize,
    broken: Option<(String, String)>,
    request_id: Option<String>,
}

/// The outcome of a walk: nothing over its limits, or what is.
#[derive(Debug)]
pub struct Refusal {
    /// At most [`MAX_VIOLATIONS`], then one summing up the rest.
    pub violations: Vec<FieldViolation>,
    /// The message's own `request_id`, when it has one within its limits
    /// (a stream's refused batch is named by it).
    pub request_id: Option<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a message over its limits")
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// INVALID_ARGUMENT with every violation (BadRequest), carrying the
    /// refusal itself as its source so a stream can name the batch.
    pub fn into_status(self) -> Status {
        let mut status = Status::from(ServiceError::InvalidArgument(self.violations.clone()));
        status.set_source(Arc::new(self));
        status
    }
}

/// The refusal `status` stands for, when it is one of this module's.
pub fn refusal_of(status: &Status) -> Option<&Refusal> {
    std::error::Error::source(status)?.downcast_ref::<Refusal>()
}

impl Walker {
    /// The walk of a `len`-byte message of type `descriptor`.
    pub fn new(descriptor: MessageDescriptor, len: u64) -> Self {
        let top = TypeInfo::new(descriptor);
        let counts = vec![0; top.lists.len()];
        Walker {
            types: vec![top],
            skip_run: None,
            over_a_list: false,
            unknown_bytes: 0,
            stack: vec![Level {
                ty: 0,
                end: len,
                counts,
            }],
            steps: Vec::new(),
            state: State::Key { value: 0, shift: 0 },
            pos: 0,
            found: Vec::new(),
            total: 0,
            broken: None,
            request_id: None,
        }
    }

    /// Whether anything over the limits (or broken) has been found so far.
    pub fn refused(&self) -> bool {
        self.total > 0 || self.over_a_list || self.broken.is_some()
    }

    fn violation(
        &mut self,
        key: Key,
        path: impl FnOnce() -> String,
        problem: impl FnOnce() -> String,
    ) {
        record((&mut self.found, &mut self.total), key, path, problem);
    }

    fn break_off(&mut self, why: &str) {
        if self.broken.is_none() {
            let message = self.types[0].descriptor.full_name().to_string();
            self.broken = Some((
                path_of(&self.steps, None),
                format!("is not a valid encoding of {message}: {why}"),
            ));
        }
        self.state = State::Broken;
    }

    /// Reads the next piece of the message.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match std::mem::replace(&mut self.state, State::Broken) {
                State::Broken => {
                    self.pos += bytes.len() as u64;
                    return;
                }
                // A varint in one piece is read at once; one cut by the end
                // of a piece, a byte at a time.
                State::Key { value: 0, shift: 0 } if bytes.len() >= 10 || bytes[0] < 0x80 => {
                    match varint(bytes) {
                        Some(Ok((key, n))) => {
                            // Another item of a run that is only counted (a
                            // list past its limit): counted and skipped here.
                            if let Some(skipped) = self.skipped_item(key, bytes, n) {
                                bytes = &bytes[skipped..];
                                continue;
                            }
                            bytes = &bytes[n..];
                            self.pos += n as u64;
                            self.on_key(key);
                        }
                        Some(Err(())) => self.break_off("a key's varint is too long"),
                        // Not with the guard above: the first byte ends it,
                        // or ten bytes are there.
                        None => self.break_off("a key's varint is cut short"),
                    }
                }
                State::Length {
                    value: 0,
                    shift: 0,
                    then,
                } if bytes.len() >= 10 || bytes[0] < 0x80 => match varint(bytes) {
                    Some(Ok((len, n))) => {
                        bytes = &bytes[n..];
                        self.pos += n as u64;
                        self.on_length(len, then);
                    }
                    _ => self.break_off("a length's varint is too long"),
                },
                State::Varint { shift: 0 } if bytes.len() >= 10 || bytes[0] < 0x80 => {
                    match varint(bytes) {
                        Some(Ok((_, n))) => {
                            bytes = &bytes[n..];
                            self.pos += n as u64;
                            self.value_done();
                        }
                        _ => self.break_off("a varint is too long"),
                    }
                }
                State::Key { value, shift } => {
                    let (b, rest) = (bytes[0], &bytes[1..]);
                    bytes = rest;
                    self.pos += 1;
                    let value = value | u64::from(b & 0x7f) << shift;
                    if b >= 0x80 {
                        if shift >= 63 {
                            self.break_off("a key's varint is too long");
                        } else {
                            self.state = State::Key {
                                value,
                                shift: shift + 7,
                            };
                        }
                    } else {
                        self.on_key(value);
                    }
                }
                State::Varint { shift } => {
                    let (b, rest) = (bytes[0], &bytes[1..]);
                    bytes = rest;
                    self.pos += 1;
                    if b < 0x80 {
                        self.value_done();
                    } else if shift >= 63 {
                        self.break_off("a varint is too long");
                    } else {
                        self.state = State::Varint { shift: shift + 7 };
                    }
                }
                State::Length { value, shift, then } => {
                    let (b, rest) = (bytes[0], &bytes[1..]);
                    bytes = rest;
                    self.pos += 1;
                    let value = value | u64::from(b & 0x7f) << shift;
                    if b >= 0x80 {
                        if shift >= 63 {
                            self.break_off("a length's varint is too long");
                        } else {
                            self.state = State::Length {
                                value,
                                shift: shift + 7,
                                then,
                            };
                        }
                    } else {
                        self.on_length(value, then);
                    }
                }
                State::Skip { left } => {
                    let n = left.min(bytes.len() as u64);
                    bytes = &bytes[n as usize..];
                    self.pos += n;
                    if n == left {
                        self.value_done();
                    } else {
                        self.state = State::Skip { left: left - n };
                    }
                }
                State::Text(mut text) => {
                    let n = text.left.min(bytes.len() as u64) as usize;
                    let whole =
                        text.left == n as u64 && text.short.as_ref().is_some_and(Vec::is_empty);
                    let (piece, rest) = bytes.split_at(n);
                    bytes = rest;
                    self.pos += n as u64;
                    if whole {
                        // The whole value in this piece: read in place.
                        self.text_done(&text.step, text.limit, Some(piece), None);
                        continue;
                    }
                    text.take(piece);
                    if text.left == 0 {
                        let problem = text.problem();
                        let value = text.short.as_deref();
                        self.text_done(&text.step, text.limit, value, Some(problem));
                    } else {
                        self.state = State::Text(text);
                    }
                }
                State::Varints {
                    slot,
                    left,
                    mut items,
                    mut last,
                } => {
                    let n = left.min(bytes.len() as u64) as usize;
                    let run = &bytes[..n];
                    items += run.iter().filter(|b| **b < 0x80).count();
                    last = run.last().copied().unwrap_or(last);
                    bytes = &bytes[n..];
                    self.pos += n as u64;
                    if n as u64 == left {
                        if last >= 0x80 {
                            self.break_off("a packed varint is cut short");
                        } else {
                            self.count(slot, items);
                            self.value_done();
                        }
                    } else {
                        self.state = State::Varints {
                            slot,
                            left: left - n as u64,
                            items,
                            last,
                        };
                    }
                }
            }
        }
    }

    /// When `key` (its varint `n` bytes at the start of `bytes`) is the same
    /// skipped length-delimited field as the one before, and the whole value
    /// is in `bytes`: counts and skips it, and says how many bytes it took.
    fn skipped_item(&mut self, key: u64, bytes: &[u8], n: usize) -> Option<usize> {
        let (run, slot) = self.skip_run?;
        if run != key {
            return None;
        }
        let Some(Ok((len, m))) = varint(&bytes[n..]) else {
            return None;
        };
        let taken = (n + m) as u64 + len;
        let end = self.stack.last().map_or(0, |l| l.end);
        if taken > bytes.len() as u64 || self.pos + taken > end {
            return None;
        }
        self.pos += taken;
        if let Some(slot) = slot {
            self.count(slot, 1);
        }
        self.value_done();
        Some(taken as usize)
    }

    /// Counts `bytes` more of fields this server does not know (field
    /// `number` among them); past [`MAX_UNKNOWN_BYTES`] the message is refused.
    fn unknown(&mut self, number: u32, bytes: u64) {
        let before = self.unknown_bytes;
        self.unknown_bytes = before.saturating_add(bytes);
        if before <= MAX_UNKNOWN_BYTES && self.unknown_bytes > MAX_UNKNOWN_BYTES {
            let key = key_of(&self.steps, Some((number, None)), self.total);
            let path = path_of(&self.steps, None);
            self.violation(
                key,
                || path,
                || format!("at most {MAX_UNKNOWN_BYTES} bytes of fields this server does not know"),
            );
        }
    }

    /// Counts `items` more in the list in `slot` of the innermost message;
    /// the index of the first.
    fn count(&mut self, slot: usize, items: usize) -> usize {
        let level = self.stack.last_mut().expect("the request's level");
        let count = &mut level.counts[slot];
        let first = *count;
        *count = count.saturating_add(items);
        // Its violation is recorded when the message ends, with the whole
        // count; the message is refused from now on (and no longer kept).
        if *count > self.types[level.ty].lists[slot] {
            self.over_a_list = true;
        }
        first
    }

    fn on_key(&mut self, key: u64) {
        let (number, wire_type) = (key >> 3, key & 7);
        let Ok(number) = u32::try_from(number) else {
            return self.break_off("a field number is out of range");
        };
        if number == 0 {
            return self.break_off("field number 0");
        }
        if matches!(wire_type, 3 | 4) {
            return self.break_off("groups are not used");
        }
        if wire_type > 5 {
            return self.break_off("an unknown wire type");
        }
        self.skip_run = None;
        let ty = self.stack.last().map_or(0, |l| l.ty);
        let Some(at) = self.types[ty]
            .fields
            .iter()
            .position(|f| f.number == number)
        else {
            // A field this server does not know: skipped, as prost skips it,
            // and bounded (it would be kept and passed on otherwise).
            let (state, bytes) = match wire_type {
                0 => (State::Varint { shift: 0 }, 2),
                1 => (State::Skip { left: 8 }, 9),
                5 => (State::Skip { left: 4 }, 5),
                _ => {
                    let then = Then::Unknown(number);
                    (
                        State::Length {
                            value: 0,
                            shift: 0,
                            then,
                        },
                        2,
                    )
                }
            };
            self.state = state;
            self.unknown(number, bytes);
            return;
        };
        let info = &self.types[ty].fields[at];
        let fits = match &info.shape {
            Shape::Scalar { wire, packed } => {
                wire_type == *wire || (wire_type == 2 && packed.is_some() && info.slot.is_some())
            }
            _ => wire_type == 2,
        };
        if !fits {
            let why = format!("field {} has the wrong wire type", info.field.name());
            return self.break_off(&why);
        }
        let packed_run = match (&info.shape, wire_type) {
            (Shape::Scalar { packed, .. }, 2) => *packed,
            _ => None,
        };
        let (slot, limit) = (info.slot, info.limit);
        // The item's place in its list (a packed run counts its items later).
        let index = match (slot, packed_run) {
            (Some(slot), None) => Some(self.count(slot, 1)),
            _ => None,
        };
        let info = &self.types[ty].fields[at];
        self.state = match wire_type {
            0 => State::Varint { shift: 0 },
            1 => State::Skip { left: 8 },
            5 => State::Skip { left: 4 },
            _ => {
                let then = match (&info.shape, packed_run, slot) {
                    // Items past a list's limit are counted, not looked
                    // into: the walk costs what the limits allow.
                    _ if index.is_some_and(|i| i >= limit) => Then::Skip,
                    (_, Some(run), Some(slot)) => Then::Packed(slot, run),
                    (Shape::Text(text), _, _) => Then::Text((info.field.clone(), index), *text),
                    (Shape::Message(inner), _, _) => {
                        Then::Message((info.field.clone(), index), inner.clone())
                    }
                    _ => Then::Skip,
                };
                if matches!(then, Then::Skip) {
                    self.skip_run = Some((key, index.and(slot)));
                }
                State::Length {
                    value: 0,
                    shift: 0,
                    then,
                }
            }
        };
    }

    fn on_length(&mut self, len: u64, then: Then) {
        let end = self.stack.last().map_or(0, |l| l.end);
        if len > end.saturating_sub(self.pos) {
            return self.break_off("a value runs past the end of its message");
        }
        match then {
            Then::Skip => self.state = State::Skip { left: len },
            Then::Unknown(number) => {
                self.unknown(number, len);
                self.state = State::Skip { left: len };
            }
            Then::Text(step, limit) => {
                if len == 0 {
                    return self.text_done(&step, limit, Some(&[]), None);
                }
                // Longer than four bytes a character, it is over its limit
                // whatever it holds: count it, keep none of it.
                let short = len <= 4 * limit.max_chars as u64;
                self.state = State::Text(Box::new(Text {
                    step,
                    limit,
                    left: len,
                    short: short.then(Vec::new),
                    chars: 0,
                    partial: Vec::new(),
                    utf8: true,
                }));
            }
            // An empty message holds nothing to check.
            Then::Message(..) if len == 0 => self.state = State::Skip { left: 0 },
            Then::Message(step, descriptor) => {
                if self.stack.len() >= MAX_DEPTH {
                    return self.break_off("messages nested too deep");
                }
                let ty = match self.types.iter().position(|t| t.descriptor == descriptor) {
                    Some(ty) => ty,
                    None => {
                        self.types.push(TypeInfo::new(descriptor));
                        self.types.len() - 1
                    }
                };
                self.steps.push(step);
                self.stack.push(Level {
                    ty,
                    end: self.pos + len,
                    counts: vec![0; self.types[ty].lists.len()],
                });
                self.state = State::Key { value: 0, shift: 0 };
            }
            Then::Packed(slot, Packed::Fixed(size)) => {
                if !len.is_multiple_of(size) {
                    return self.break_off("a packed run is cut short");
                }
                self.count(slot, (len / size) as usize);
                self.state = State::Skip { left: len };
            }
            Then::Packed(slot, Packed::Varints) => {
                self.state = State::Varints {
                    slot,
                    left: len,
                    items: 0,
                    last: 0,
                };
            }
        }
        if len == 0 {
            self.value_done();
        }
    }

    /// A text value is read: `value` when it was kept whole, and its problem
    /// when already known.
    fn text_done(
        &mut self,
        step: &Step,
        limit: TextLimit,
        value: Option<&[u8]>,
        problem: Option<Option<String>>,
    ) {
        let problem = match problem {
            Some(known) => known,
            None => value.and_then(|v| text_problem(v, limit)),
        };
        match problem {
            None => {
                if self.stack.len() == 1 && step.0.name() == "request_id" {
                    self.request_id = value
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .map(str::to_owned);
                }
            }
            Some(problem) => {
                let key = key_of(&self.steps, Some((step.0.number(), step.1)), self.total);
                let path = path_of(&self.steps, Some(step));
                self.violation(key, || path, || problem);
            }
        }
        self.value_done();
    }

    /// A value is read: the messages it ends are checked and left.
    fn value_done(&mut self) {
        self.state = State::Key { value: 0, shift: 0 };
        while self.stack.len() > 1 {
            let end = self.stack.last().map_or(0, |l| l.end);
            if self.pos < end {
                break;
            }
            if self.pos > end {
                return self.break_off("a value runs past the end of its message");
            }
            self.leave_level();
        }
        if self.pos > self.stack[0].end {
            self.break_off("a value runs past the end of the message");
        }
    }

    /// Checks the lists of the innermost message and leaves it.
    fn leave_level(&mut self) {
        let Some(level) = self.stack.pop() else {
            return;
        };
        for info in &self.types[level.ty].fields {
            let Some(slot) = info.slot else {
                continue;
            };
            let (items, limit) = (level.counts[slot], info.limit);
            if items > limit {
                let key = key_of(&self.steps, Some((info.number, None)), self.total);
                let step = (info.field.clone(), None);
                let path = path_of(&self.steps, Some(&step));
                record(
                    (&mut self.found, &mut self.total),
                    key,
                    || path,
                    || format!("at most {limit} items, not {items}"),
                );
            }
        }
        self.steps.pop();
    }

    /// The outcome, once every byte of the message has been fed.
    pub fn finish(mut self) -> Result<(), Refusal> {
        let whole = matches!(self.state, State::Key { value: 0, shift: 0 })
            && self.stack.len() == 1
            && self.pos == self.stack[0].end;
        if !whole && self.broken.is_none() {
            self.break_off("the message ends early");
        }
        if self.broken.is_none() {
            // The request's own lists.
            self.steps.clear();
            self.leave_level();
        }
        let more = self.total.saturating_sub(self.found.len());
        let mut violations: Vec<FieldViolation> = self.found.into_iter().map(|(_, v)| v).collect();
        if let Some((field, problem)) = self.broken {
            violations.insert(0, FieldViolation::new(field, problem));
        } else if violations.is_empty() {
            return Ok(());
        }
        if more > 0 {
            violations.push(FieldViolation::new(
                "",
                format!("{more} more fields over their limits"),
            ));
        }
        Err(Refusal {
            violations,
            request_id: self.request_id,
        })
    }
}

/// A request method's input message, by path (`/lea.notices.v1.X/Y`).
static INPUTS: LazyLock<HashMap<String, MessageDescriptor>> = LazyLock::new(|| {
    let mut inputs = HashMap::new();
    if let Ok(pool) = DescriptorPool::decode(FILE_DESCRIPTOR_SET) {
        for service in pool.services() {
            for method in service.methods() {
                inputs.insert(
                    format!("/{}/{}", service.full_name(), method.name()),
                    method.input(),
                );
            }
        }
    }
    inputs
});

/// The message type `name` (`lea.notices.v1.RecordMarksRequest`).
pub fn descriptor(name: &str) -> Option<MessageDescriptor> {
    static POOL: LazyLock<Option<DescriptorPool>> =
        LazyLock::new(|| DescriptorPool::decode(FILE_DESCRIPTOR_SET).ok());
    POOL.as_ref()?.get_message_by_name(name)
}

/// Wraps the gRPC services (see `server::Application::serve`): each
/// lea.notices.v1 request body is walked message by message before tonic
/// decodes it.
#[derive(Clone, Copy)]
pub struct PrewalkLayer {
    max_message_bytes: usize,
}

impl PrewalkLayer {
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> tower::Layer<S> for PrewalkLayer {
    type Service = Prewalk<S>;

    fn layer(&self, inner: S) -> Prewalk<S> {
        Prewalk {
            inner,
            layer: *self,
        }
    }
}

#[derive(Clone)]
pub struct Prewalk<S> {
    inner: S,
    layer: PrewalkLayer,
}

impl<S, ReqBody> tower::Service<http::Request<ReqBody>> for Prewalk<S>
where
    S: tower::Service<http::Request<tonic::body::Body>>,
    ReqBody: Body<Data = Bytes> + Send + Unpin + 'static,
    ReqBody::Error: Into<tower::BoxError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> S::Future {
        let input = INPUTS.get(request.uri().path()).cloned();
        let max = self.layer.max_message_bytes;
        let request = request.map(|body| match input {
            Some(descriptor) => tonic::body::Body::new(PrewalkBody::new(body, descriptor, max)),
            None => tonic::body::Body::new(body),
        });
        self.inner.call(request)
    }
}

/// A message being read off the body.
struct Reading {
    walker: Walker,
    left: u64,
    /// The message as received (its 5-byte prefix first); dropped at the
    /// first violation, since it will not be passed on.
    kept: Option<BytesMut>,
}

/// A gRPC request body whose messages are passed on only once walked.
pub struct PrewalkBody<B> {
    inner: B,
    descriptor: MessageDescriptor,
    max_message_bytes: usize,
    prefix: Vec<u8>,
    reading: Option<Reading>,
    /// Walked messages ready to pass on.
    ready: BytesMut,
    /// What comes after them: a refusal, the trailers, the end.
    after: VecDeque<Result<Frame<Bytes>, tower::BoxError>>,
    /// Compressed or over the size limit: passed on unread (tonic refuses it).
    unread: bool,
    ended: bool,
}

impl<B> PrewalkBody<B> {
    fn new(inner: B, descriptor: MessageDescriptor, max_message_bytes: usize) -> Self {
        Self {
            inner,
            descriptor,
            max_message_bytes,
            prefix: Vec::with_capacity(5),
            reading: None,
            ready: BytesMut::new(),
            after: VecDeque::new(),
            unread: false,
            ended: false,
        }
    }

    /// Reads `data` into the messages it carries.
    fn read(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.ended {
            if self.unread {
                self.ready.extend_from_slice(data);
                return;
            }
            let Some(reading) = &mut self.reading else {
                let n = (5 - self.prefix.len()).min(data.len());
                self.prefix.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.prefix.len() < 5 {
                    return;
                }
                let prefix = std::mem::take(&mut self.prefix);
                let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
                if prefix[0] != 0 || len as usize > self.max_message_bytes {
                    self.unread = true;
                    self.ready.extend_from_slice(&prefix);
                    continue;
                }
                let mut kept = BytesMut::new();
                kept.extend_from_slice(&prefix);
                self.reading = Some(Reading {
                    walker: Walker::new(self.descriptor.clone(), u64::from(len)),
                    left: u64::from(len),
                    kept: Some(kept),
                });
                if len == 0 {
                    self.message_read();
                }
                continue;
            };
            let n = reading.left.min(data.len() as u64) as usize;
            let piece = &data[..n];
            data = &data[n..];
            reading.walker.feed(piece);
            reading.left -= n as u64;
            if reading.walker.refused() {
                reading.kept = None;
            } else if let Some(kept) = &mut reading.kept {
                kept.extend_from_slice(piece);
            }
            if reading.left == 0 {
                self.message_read();
            }
        }
    }

    fn message_read(&mut self) {
        let Some(reading) = self.reading.take() else {
            return;
        };
        match reading.walker.finish() {
            Ok(()) => {
                if let Some(kept) = reading.kept {
                    self.ready.extend_from_slice(&kept);
                }
            }
            Err(refusal) => {
                // The call ends here: nothing after a refused message is read.
                self.after.push_back(Err(Box::new(refusal.into_status())));
                self.ended = true;
            }
        }
    }
}

impl<B> Body for PrewalkBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<tower::BoxError>,
{
    type Data = Bytes;
    type Error = tower::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        loop {
            if !self.ready.is_empty() {
                let data = self.ready.split().freeze();
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            if let Some(next) = self.after.pop_front() {
                return Poll::Ready(Some(next));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.read(&data),
                    Err(frame) => self.after.push_back(Ok(frame)),
                },
                Some(Err(e)) => {
                    self.ended = true;
                    self.after.push_back(Err(e.into()));
                }
                None => {
                    self.ended = true;
                    // Cut in the middle of a message: pass on what there is
                    // (tonic says the stream ended early), or the refusal.
                    if let Some(reading) = self.reading.take() {
                        match reading.kept {
                            Some(kept) => self.ready.extend_from_slice(&kept),
                            None => {
                                if let Err(refusal) = reading.walker.finish() {
                                    self.after.push_back(Err(Box::new(refusal.into_status())));
                                }
                            }
                        }
                    } else if !self.prefix.is_empty() {
                        let prefix = std::mem::take(&mut self.prefix);
                        self.ready.extend_from_slice(&prefix);
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.ready.is_empty() && self.after.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use prost::{Message, Name};

    use super::*;
    use crate::proto::v1 as pb;

    /// The walk of `bytes` as a `M`, fed `piece` bytes at a time.
    fn walk<M: Name>(bytes: &[u8], piece: usize) -> Result<(), Refusal> {
        let mut walker = Walker::new(descriptor(&M::full_name()).unwrap(), bytes.len() as u64);
        for chunk in bytes.chunks(piece) {
            walker.feed(chunk);
        }
        walker.finish()
    }

    fn fields(refusal: &Refusal) -> Vec<&str> {
        refusal
            .violations
            .iter()
            .map(|v| v.field.as_str())
            .collect()
    }

    #[test]
    fn millions_of_empty_marks_are_counted_not_kept() {
        // 2 million empty marks: two bytes each on the wire.
        let mut bytes = pb::RecordMarksRequest {
            parent: "authorities/850".into(),
            request_id: "b-1".into(),
            marks: vec![],
        }
        .encode_to_vec();
        for _ in 0..2_000_000 {
            bytes.extend_from_slice(&[0x1a, 0x00]);
        }
        let refusal = walk::<pb::RecordMarksRequest>(&bytes, 16 * 1024).unwrap_err();
        assert_eq!(fields(&refusal), ["marks"]);
        assert_eq!(
            refusal.violations[0].description,
            "at most 10000 items, not 2000000"
        );
        assert_eq!(refusal.request_id.as_deref(), Some("b-1"));
    }

    #[test]
    fn text_split_anywhere_reads_the_same() {
        let request = pb::IssuePenaltyNoticeRequest {
            parent: "authorities/850".into(),
            request_id: "é".repeat(128),
            pupil: Some(pb::Pupil {
                given_name: "€".repeat(101),
                family_name: "Tay\u{85}lor".into(),
                ..Default::default()
            }),
            offence: Some(pb::Offence {
                description: "€".repeat(5_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let bytes = request.encode_to_vec();
        let expected = [
            "pupil.given_name",
            "pupil.family_name",
            "offence.description",
        ];
        for piece in [1, 2, 3, 5, 64, bytes.len()] {
            let refusal = walk::<pb::IssuePenaltyNoticeRequest>(&bytes, piece).unwrap_err();
            assert_eq!(fields(&refusal), expected, "pieces of {piece}");
            assert_eq!(
                refusal.violations[2].description,
                "at most 2000 characters, not 5000"
            );
            assert_eq!(refusal.request_id, Some("é".repeat(128)));
        }
    }

    #[test]
    fn broken_wire_format_is_an_invalid_argument() {
        let good = pb::GetNoticeRequest {
            name: "authorities/850/notices/850-2027-000001".into(),
        }
        .encode_to_vec();
        assert!(walk::<pb::GetNoticeRequest>(&good, 3).is_ok());
        let cases: [(&str, Vec<u8>); 5] = [
            ("ends early", good[..good.len() - 1].to_vec()),
            ("runs past", vec![0x0a, 0x05, b'a']),
            ("groups", vec![0x0b]),
            ("wire type", vec![0x08, 0x01]),
            ("utf-8", vec![0x0a, 0x02, 0xc3, 0x28]),
        ];
        for (what, bytes) in cases {
            let refusal = walk::<pb::GetNoticeRequest>(&bytes, 1).unwrap_err();
            assert_eq!(refusal.violations.len(), 1, "{what}: {refusal:?}");
        }
        // Unknown fields are skipped, as prost skips them, up to a bound.
        let mut unknown = good.clone();
        unknown.extend_from_slice(&[0x7a, 0x03, 1, 2, 3, 0x78, 0x05]);
        assert!(walk::<pb::GetNoticeRequest>(&unknown, 2).is_ok());
        let mut lots = good.clone();
        for _ in 0..40_000 {
            lots.extend_from_slice(&[0x7a, 0x00]);
        }
        let refusal = walk::<pb::GetNoticeRequest>(&lots, 1000).unwrap_err();
        assert_eq!(fields(&refusal), [""]);
    }

    #[test]
    fn a_refusal_names_its_batch_through_the_status() {
        let refusal = Refusal {
            violations: vec![FieldViolation::new(
                "marks",
                "at most 10000 items, not 10001",
            )],
            request_id: Some("b-7".into()),
        };
        let status = refusal.into_status();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let named = refusal_of(&status).and_then(|r| r.request_id.as_deref());
        assert_eq!(named, Some("b-7"));
        assert!(refusal_of(&Status::invalid_argument("x")).is_none());
    }
}
