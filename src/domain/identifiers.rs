//! Identifiers of authorities, schools and pupils, validated on the way in so an
//! invalid one cannot exist past the API boundary.

use std::fmt;

/// A DfE local authority code: 3 digits (Hampshire = 850, Southampton = 852).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LaCode(String);

impl LaCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "'{s}' is not a local authority code (3 digits, e.g. 850)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A school's unique reference number: 6 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Urn(String);

impl Urn {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("'{s}' is not a school URN (6 digits)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The alphabet of UPN check letters and of a temporary UPN's final letter:
/// A–Z without I, O and S, so index 0..=22.
const UPN_ALPHABET: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// A Unique Pupil Number: check letter, 3-digit LA code, 4-digit establishment
/// number, 2-digit year of allocation, 3-digit serial. A temporary UPN ends in a
/// letter instead of the last digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Upn(String);

impl Upn {
    pub fn parse(s: &str) -> Result<Self, String> {
        // A UPN names a child: what is wrong is said without quoting it.
        if s.len() != 13 || !s.is_ascii() {
            return Err("a UPN is 13 characters".into());
        }
        let expected = Self::check_letter(&s[1..]).map_err(|e| format!("not a UPN: {e}"))?;
        if s.as_bytes()[0] as char != expected {
            return Err(
                "not a UPN: its check letter does not match the other 12 characters".into(),
            );
        }
        Ok(Self(s.to_string()))
    }

    /// The check letter for the 12 characters after it: each character's value
    /// (a digit's value; a final letter's index in the alphabet) times its
    /// position (2..=13), summed, mod 23, mapped onto the alphabet.
    pub fn check_letter(body: &str) -> Result<char, String> {
        let b = body.as_bytes();
        if b.len() != 12 || !b[..11].iter().all(u8::is_ascii_digit) {
            return Err("characters 2 to 12 must be digits".into());
        }
        let last_value = match b[11] {
            d if d.is_ascii_digit() => u32::from(d - b'0'),
            l => UPN_ALPHABET
                .iter()
                .position(|&c| c == l)
                .map(|i| i as u32)
                .ok_or("the last character must be a digit or a letter other than I, O, S")?,
        };
        let sum: u32 = b[..11]
            .iter()
            .zip(2u32..)
            .map(|(&d, position)| u32::from(d - b'0') * position)
            .sum::<u32>()
            + last_value * 13;
        Ok(UPN_ALPHABET[(sum % 23) as usize] as char)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A temporary UPN ends in a letter.
    pub fn is_temporary(&self) -> bool {
        self.0.as_bytes()[12].is_ascii_alphabetic()
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn la_codes() {
        assert!(LaCode::parse("850").is_ok());
        assert!(LaCode::parse("85").is_err());
        assert!(LaCode::parse("85a").is_err());
        assert!(LaCode::parse("8500").is_err());
    }

    #[test]
    fn urns() {
        assert!(Urn::parse("116439").is_ok());
        assert!(Urn::parse("11643").is_err());
        assert!(Urn::parse("11643x").is_err());
    }

    #[test]
    fn domain_md_example_upn_is_valid() {
        assert!(Upn::parse("B801200005001").is_ok());
    }

    #[test]
    fn wrong_check_letter_is_refused() {
        let err = Upn::parse("C801200005001").unwrap_err();
        assert!(err.contains("check letter does not match"), "{err}");
        // A UPN names a child: the refusal quotes no part of it.
        for refused in ["C801200005001", "B80120000500", "B8012000050I1"] {
            let err = Upn::parse(refused).unwrap_err();
            assert!(!err.contains("8012"), "{err}");
        }
    }

    #[test]
    fn malformed_upns_are_refused() {
        assert!(Upn::parse("B80120000500").is_err());
        assert!(Upn::parse("B8012000050011").is_err());
        assert!(Upn::parse("B80120000X001").is_err());
        assert!(Upn::parse("B80120000500I").is_err());
    }

    fn with_check_letter(body: &str) -> String {
        format!("{}{body}", Upn::check_letter(body).unwrap())
    }

    #[test]
    fn temporary_upn_with_final_letter() {
        let upn = with_check_letter("85020012400A");
        assert!(Upn::parse(&upn).unwrap().is_temporary());
    }

    proptest! {
        #[test]
        fn every_body_has_exactly_one_valid_check_letter(body in "[0-9]{12}") {
            let valid = with_check_letter(&body);
            prop_assert!(Upn::parse(&valid).is_ok());
            for &c in UPN_ALPHABET.iter().filter(|&&c| c != valid.as_bytes()[0]) {
                let other = format!("{}{body}", c as char);
                prop_assert!(Upn::parse(&other).is_err());
            }
        }
    }
}
