//! Which claims of a verified token say who the caller is: its authority, its
//! role and, for school staff, its schools. Configuration, because identity
//! providers put them in their own places: Microsoft Entra ID puts app roles
//! in `roles` (an array), Keycloak in `realm_access.roles` or
//! `resource_access.<client>.roles`, and a council serving one authority may
//! not put the authority in the token at all. The defaults are this service's
//! own names: `la`, `role`, `schools`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::app::Caller;
use crate::domain::{
    actor::{Actor, Role},
    identifiers::{LaCode, Urn},
};

/// Where a token's claims name the caller's authority, role and schools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// The claim holding the caller's authority (an LA code, as a string or
    /// a number), unless `authority` is set.
    pub authority_claim: String,
    /// Every caller's authority, for a deployment serving one council: the
    /// token's claims are then not asked for one.
    pub authority: Option<LaCode>,
    /// The claim holding the caller's role: a string or an array of strings.
    pub role_claim: String,
    /// The provider's role (or group) values and the role each means here.
    /// Empty: the values are this service's role names (`la_officer`, ...).
    /// Set: values not in it are ignored (a group that means nothing here).
    pub roles: BTreeMap<String, Role>,
    /// The claim holding school staff's schools' URNs: a string or an array.
    pub schools_claim: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            authority_claim: "la".into(),
            authority: None,
            role_claim: "role".into(),
            roles: BTreeMap::new(),
            schools_claim: "schools".into(),
        }
    }
}

impl ClaimMapping {
    /// The mapping the configuration describes: role names checked, the fixed
    /// authority parsed.
    pub fn new(
        authority_claim: &str,
        authority: Option<&str>,
        role_claim: &str,
        role_map: &BTreeMap<String, String>,
        schools_claim: &str,
    ) -> Result<Self, String> {
        let authority = authority
            .filter(|a| !a.is_empty())
            .map(|a| LaCode::parse(a).map_err(|e| format!("jwt_authority: {e}")))
            .transpose()?;
        let roles = role_map
            .iter()
            .map(|(theirs, ours)| {
                Role::parse(ours)
                    .map(|role| (theirs.clone(), role))
                    .ok_or_else(|| format!("jwt_role_map: '{theirs}' maps to '{ours}', not a role"))
            })
            .collect::<Result<_, _>>()?;
        for (name, claim) in [
            ("jwt_authority_claim", authority_claim),
            ("jwt_role_claim", role_claim),
            ("jwt_schools_claim", schools_claim),
        ] {
            if claim.is_empty() {
                return Err(format!("{name} is empty"));
            }
        }
        Ok(Self {
            authority_claim: authority_claim.into(),
            authority,
            role_claim: role_claim.into(),
            roles,
            schools_claim: schools_claim.into(),
        })
    }

    /// The caller a verified token's claims describe, or why they do not
    /// describe one (for the server log; the caller learns nothing).
    pub fn caller(&self, claims: &Map<String, Value>) -> Result<Caller, String> {
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err("no subject (sub)".into()),
        };
        let authority = match &self.authority {
            Some(fixed) => fixed.clone(),
            None => {
                let value = claim(claims, &self.authority_claim)
                    .ok_or_else(|| format!("no authority claim '{}'", self.authority_claim))?;
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => {
                        return Err(format!(
                            "claim '{}' is not an LA code",
                            self.authority_claim
                        ));
                    }
                };
                LaCode::parse(&text)?
            }
        };
        let role = self.role(claims)?;
        let schools = match claim(claims, &self.schools_claim) {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => strings(value, &self.schools_claim)?
                .into_iter()
                .map(Urn::parse)
                .collect::<Result<_, _>>()?,
        };
        Ok(Caller {
            actor: Actor {
                subject,
                role: Some(role),
            },
            authority,
            role,
            schools,
            purpose: Default::default(),
        })
    }

    /// The one role the token's role claim gives: none, or two different
    /// ones, is refused (a caller acts in one role).
    fn role(&self, claims: &Map<String, Value>) -> Result<Role, String> {
        let values = match claim(claims, &self.role_claim) {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => strings(value, &self.role_claim)?,
        };
        let mut roles: Vec<Role> = Vec::new();
        for value in values {
            let role = if self.roles.is_empty() {
                Role::parse(value).ok_or_else(|| format!("unknown role '{value}'"))?
            } else {
                match self.roles.get(value) {
                    Some(role) => *role,
                    None => continue,
                }
            };
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        let mut roles = roles.into_iter();
        match (roles.next(), roles.next()) {
            (Some(role), None) => Ok(role),
            (None, _) => Err(format!("no role in claim '{}'", self.role_claim)),
            (Some(a), Some(b)) => Err(format!(
                "claim '{}' gives more than one role ({}, {}, ...)",
                self.role_claim,
                a.as_str(),
                b.as_str()
            )),
        }
    }
}

/// The claim `path` names: a top-level claim of that exact name if there is
/// one (`https://example.org/la` is one claim), else the dotted path into
/// nested objects (`realm_access.roles`).
fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// A string claim as one value, an array of strings as its values.
fn strings<'a>(value: &'a Value, name: &str) -> Result<Vec<&'a str>, String> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| format!("claim '{name}' holds something other than strings"))
            })
            .collect(),
        _ => Err(format!(
            "claim '{name}' is not a string or an array of strings"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_defaults_read_this_services_own_claims() {
        let caller = ClaimMapping::default()
            .caller(&map(
                json!({"sub": "s", "la": "850", "role": "school_staff", "schools": ["116439"]}),
            ))
            .unwrap();
        assert_eq!(caller.authority.as_str(), "850");
        assert_eq!(caller.role, Role::SchoolStaff);
        assert_eq!(caller.schools.len(), 1);
        let err = ClaimMapping::default()
            .caller(&map(json!({"sub": "s", "la": "850", "role": "owner"})))
            .unwrap_err();
        assert!(err.contains("unknown role"), "{err}");
    }

    #[test]
    fn entra_app_roles_and_a_custom_authority_claim() {
        let roles = BTreeMap::from([
            ("Attendance.Officer".to_string(), "la_officer".to_string()),
            ("Attendance.Audit".to_string(), "auditor".to_string()),
        ]);
        let mapping =
            ClaimMapping::new("extension_laCode", None, "roles", &roles, "schools").unwrap();
        let claims = json!({"sub": "AAAA", "oid": "x", "extension_laCode": 852,
                            "roles": ["Attendance.Officer", "Some.Other.App.Role"]});
        let caller = mapping.caller(&map(claims)).unwrap();
        assert_eq!(
            (caller.authority.as_str(), caller.role),
            ("852", Role::LaOfficer)
        );
        // Two roles that mean different things here are ambiguous.
        let both = json!({"sub": "A", "extension_laCode": "852",
                          "roles": ["Attendance.Officer", "Attendance.Audit"]});
        assert!(mapping.caller(&map(both)).is_err());
        // No role that means anything here.
        let none = json!({"sub": "A", "extension_laCode": "852", "roles": ["Other"]});
        assert!(mapping.caller(&map(none)).is_err());
        // A claim named like a URL is one claim, not a path.
        let url =
            ClaimMapping::new("https://lea.example/la", None, "roles", &roles, "schools").unwrap();
        let claims =
            json!({"sub": "A", "https://lea.example/la": "850", "roles": "Attendance.Audit"});
        assert_eq!(url.caller(&map(claims)).unwrap().role, Role::Auditor);
    }

    #[test]
    fn keycloak_client_roles_and_a_fixed_authority() {
        let roles = BTreeMap::from([("ewo".to_string(), "la_officer".to_string())]);
        let mapping = ClaimMapping::new(
            "la",
            Some("850"),
            "resource_access.lea-notices.roles",
            &roles,
            "schools",
        )
        .unwrap();
        let claims = json!({"sub": "f:1", "realm_access": {"roles": ["offline_access"]},
                            "resource_access": {"lea-notices": {"roles": ["ewo"]},
                                                "account": {"roles": ["view-profile"]}}});
        let caller = mapping.caller(&map(claims)).unwrap();
        assert_eq!(
            (caller.authority.as_str(), caller.role),
            ("850", Role::LaOfficer)
        );
        assert!(
            ClaimMapping::new(
                "la",
                None,
                "roles",
                &BTreeMap::from([("a".into(), "king".into())]),
                "s"
            )
            .is_err(),
            "a map to a role that does not exist"
        );
        assert!(ClaimMapping::new("la", Some("85"), "roles", &BTreeMap::new(), "s").is_err());
    }
}
