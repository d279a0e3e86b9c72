//! Resource names (AIP-122): everything lives under `authorities/{la_code}`.

use chrono::NaiveDate;

use super::{FieldViolation, identifiers::LaCode};

const AUTHORITIES: &str = "authorities/";

/// `authorities/{la_code}`, the parent of every collection.
pub fn parse_authority(field: &str, name: &str) -> Result<LaCode, FieldViolation> {
    let code = name.strip_prefix(AUTHORITIES).ok_or_else(|| {
        FieldViolation::new(
            field,
            format!("'{name}' is not of the form authorities/{{la_code}}"),
        )
    })?;
    LaCode::parse(code).map_err(|e| FieldViolation::new(field, e))
}

pub fn authority_name(la: &LaCode) -> String {
    format!("{AUTHORITIES}{la}")
}

pub fn policy_version_name(la: &LaCode, effective_from: NaiveDate) -> String {
    format!("{AUTHORITIES}{la}/policyVersions/{effective_from}")
}

pub fn authority_settings_name(la: &LaCode, effective_from: NaiveDate) -> String {
    format!("{AUTHORITIES}{la}/settings/{effective_from}")
}

pub fn sharing_agreement_name(la: &LaCode, effective_from: NaiveDate) -> String {
    format!("{AUTHORITIES}{la}/sharingAgreementVersions/{effective_from}")
}

pub fn retention_policy_version_name(la: &LaCode, effective_from: NaiveDate) -> String {
    format!("{AUTHORITIES}{la}/retentionPolicyVersions/{effective_from}")
}

pub fn national_regime_name(effective_from: NaiveDate) -> String {
    format!("nationalRegimes/{effective_from}")
}

pub fn notice_name(la: &LaCode, notice_number: &str) -> String {
    format!("{AUTHORITIES}{la}/notices/{notice_number}")
}

/// The notice number of a notice's resource name, or `None` for another
/// resource (a breach, say); the name's authority is not checked.
pub fn notice_number_of(name: &str) -> Option<&str> {
    let (_, number) = name.strip_prefix(AUTHORITIES)?.split_once("/notices/")?;
    (!number.is_empty() && !number.contains('/')).then_some(number)
}

/// `authorities/{la_code}/notices/{notice_number}`.
pub fn parse_notice(field: &str, name: &str) -> Result<(LaCode, String), FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!(
                "'{name}' is not of the form authorities/{{la_code}}/notices/{{notice_number}}"
            ),
        )
    };
    let rest = name.strip_prefix(AUTHORITIES).ok_or_else(bad)?;
    let (la, number) = rest.split_once("/notices/").ok_or_else(bad)?;
    if number.is_empty() || number.contains('/') {
        return Err(bad());
    }
    let la = LaCode::parse(la).map_err(|e| FieldViolation::new(field, e))?;
    Ok((la, number.to_string()))
}

pub fn payment_name(la: &LaCode, payment_id: &str) -> String {
    format!("{AUTHORITIES}{la}/payments/{payment_id}")
}

/// `authorities/{la_code}/payments/{payment_id}`.
pub fn parse_payment(field: &str, name: &str) -> Result<(LaCode, String), FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!("'{name}' is not of the form authorities/{{la_code}}/payments/{{payment_id}}"),
        )
    };
    let rest = name.strip_prefix(AUTHORITIES).ok_or_else(bad)?;
    let (la, id) = rest.split_once("/payments/").ok_or_else(bad)?;
    if id.is_empty() || id.contains('/') {
        return Err(bad());
    }
    let la = LaCode::parse(la).map_err(|e| FieldViolation::new(field, e))?;
    Ok((la, id.to_string()))
}

/// The attendance registers of an authority (the resource marks batches are
/// audited against).
pub fn attendance_name(la: &LaCode) -> String {
    format!("{AUTHORITIES}{la}/attendance")
}

/// The school register of an authority (the resource imports are audited against).
pub fn schools_name(la: &LaCode) -> String {
    format!("{AUTHORITIES}{la}/schools")
}

pub fn school_name(la: &LaCode, urn: &str) -> String {
    format!("{AUTHORITIES}{la}/schools/{urn}")
}

/// `authorities/{la_code}/schools/{urn}`.
pub fn parse_school(
    field: &str,
    name: &str,
) -> Result<(LaCode, super::identifiers::Urn), FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!("'{name}' is not of the form authorities/{{la_code}}/schools/{{urn}}"),
        )
    };
    let rest = name.strip_prefix(AUTHORITIES).ok_or_else(bad)?;
    let (la, urn) = rest.split_once("/schools/").ok_or_else(bad)?;
    let la = LaCode::parse(la).map_err(|e| FieldViolation::new(field, e))?;
    let urn = super::identifiers::Urn::parse(urn).map_err(|e| FieldViolation::new(field, e))?;
    Ok((la, urn))
}

/// A decided threshold breach: `authorities/{la_code}/breaches/{breach_id}`.
pub fn breach_name(la: &LaCode, breach_id: i64) -> String {
    format!("{AUTHORITIES}{la}/breaches/{breach_id}")
}

/// A school's request for a penalty notice:
/// `authorities/{la_code}/penaltyNoticeRequests/{number}`.
pub fn penalty_notice_request_name(la: &LaCode, number: i64) -> String {
    format!("{AUTHORITIES}{la}/penaltyNoticeRequests/{number}")
}

/// `authorities/{la_code}/penaltyNoticeRequests/{number}`.
pub fn parse_penalty_notice_request(
    field: &str,
    name: &str,
) -> Result<(LaCode, i64), FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!(
                "'{name}' is not of the form authorities/{{la_code}}/penaltyNoticeRequests/{{number}}"
            ),
        )
    };
    let rest = name.strip_prefix(AUTHORITIES).ok_or_else(bad)?;
    let (la, number) = rest.split_once("/penaltyNoticeRequests/").ok_or_else(bad)?;
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let la = LaCode::parse(la).map_err(|e| FieldViolation::new(field, e))?;
    Ok((la, number))
}

/// `authorities/{la_code}/cases/{number}`: a measure case (docs/measures.md).
pub fn case_name(la: &LaCode, number: i64) -> String {
    format!("{AUTHORITIES}{la}/cases/{number}")
}

/// `authorities/{la_code}/cases/{number}`.
pub fn parse_case(field: &str, name: &str) -> Result<(LaCode, i64), FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!("'{name}' is not of the form authorities/{{la_code}}/cases/{{number}}"),
        )
    };
    let rest = name.strip_prefix(AUTHORITIES).ok_or_else(bad)?;
    let (la, number) = rest.split_once("/cases/").ok_or_else(bad)?;
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let la = LaCode::parse(la).map_err(|e| FieldViolation::new(field, e))?;
    Ok((la, number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_names() {
        assert_eq!(
            parse_authority("parent", "authorities/850")
                .unwrap()
                .as_str(),
            "850"
        );
        for bad in [
            "850",
            "authorities/",
            "authorities/85",
            "authority/850",
            "authorities/850/x",
        ] {
            assert_eq!(
                parse_authority("parent", bad).unwrap_err().field,
                "parent",
                "{bad}"
            );
        }
    }
}
