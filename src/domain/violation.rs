//! What is wrong with an input, in terms a caller can act on.

/// One problem with one field of a request. `field` is the request field's path
/// (proto field names, for example `threshold.qualifying_codes[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// The same violation, with its field placed under `parent` (`parent.field`).
    pub fn nested_under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// A rule of law or local policy a request would break: a PreconditionFailure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    /// The rule's stable name, for example `NOTICE_LIMIT`.
    pub rule: &'static str,
    /// What it applies to, for example a parent and pupil.
    pub subject: String,
    pub description: String,
}

impl RuleViolation {
    pub fn new(
        rule: &'static str,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            rule,
            subject: subject.into(),
            description: description.into(),
        }
    }
}
