//! The walk of one message over its encoded bytes, pushed in pieces as they
//! arrive: every limit checked, nothing decoded.

use super::wire::*;
use super::*;

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
            self.broken = Some((
                path_of(&self.steps, None),
                format!("the request message is not valid protobuf: {why}"),
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
