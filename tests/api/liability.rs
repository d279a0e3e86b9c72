//! The basis of each parent's liability on a penalty notice (#28): section 576
//! of the Education Act 1996 makes a parent anyone with parental
//! responsibility for the child or who has care of the child. Required at
//! issue, kept with the notice and read back (the letter's line is checked in
//! letters.rs).

use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::notices::{Penalty, d, issue, liability, parent};
use crate::helpers::{on_both_backends, violated_fields};

on_both_backends! {
    async fn a_penalty_notice_needs_each_parents_liability_and_keeps_it(app) {
        app.clock.set_day(d(2025, 3, 17));
        let penalty = Penalty::holiday(1, &["mum", "step"], d(2025, 3, 3), d(2025, 3, 17));

        // Missing on the second parent: refused, naming it, and nothing issued.
        let mut missing = penalty.request("pn-missing");
        missing.parents[1].liability = None;
        let refused = issue(&app, missing).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&refused), ["parents[1].liability"]);
        // Also when issuing from a school's request.
        let mut from_request = penalty.request("pn-from-request");
        from_request.parents[0].liability = None;
        from_request.penalty_notice_request = "authorities/850/penaltyNoticeRequests/1".into();
        assert_eq!(violated_fields(&issue(&app, from_request).await.unwrap_err()), ["parents[0].liability"]);
        // Given but empty: the basis and the relationship are each required.
        let mut empty = penalty.request("pn-empty");
        empty.parents[0].liability = Some(pb::Liability::default());
        assert_eq!(
            violated_fields(&issue(&app, empty).await.unwrap_err()),
            ["parents[0].liability.basis", "parents[0].liability.relationship"]
        );
        // A relationship is a short line.
        let mut long = penalty.request("pn-long");
        long.parents[0].liability = Some(liability(pb::LiabilityBasis::CareOfChild, &"x".repeat(61)));
        assert_eq!(violated_fields(&issue(&app, long).await.unwrap_err()), ["parents[0].liability.relationship"]);

        // Given on both: each notice keeps its parent's.
        let mut request = penalty.request("pn-1");
        request.parents[1].liability = Some(liability(pb::LiabilityBasis::CareOfChild, "step-father"));
        let notices = issue(&app, request).await.unwrap();
        let kept: Vec<Option<pb::Liability>> = notices
            .iter()
            .map(|n| n.parent.as_ref().unwrap().liability.clone())
            .collect();
        assert_eq!(
            kept,
            [
                Some(liability(pb::LiabilityBasis::ParentalResponsibility, "mother")),
                Some(liability(pb::LiabilityBasis::CareOfChild, "step-father")),
            ]
        );
        for (n, want) in notices.iter().zip(&kept) {
            let read = app
                .notices()
                .get_notice(pb::GetNoticeRequest { name: n.name.clone() })
                .await
                .unwrap()
                .into_inner()
                .notice
                .unwrap();
            assert_eq!(&read.parent.unwrap().liability, want);
        }
    }

    async fn a_notice_to_improve_may_leave_liability_out(app) {
        app.clock.set_day(d(2025, 3, 17));
        let mut dad = parent("dad");
        dad.liability = None;
        let notice = app
            .notices()
            .issue_notice_to_improve(pb::IssueNoticeToImproveRequest {
                parent: "authorities/850".into(),
                request_id: "nti-1".into(),
                pupil: crate::helpers::notices::pupil(1),
                parents: vec![dad],
                issue_date: crate::helpers::notices::proto_date(d(2025, 3, 17)),
                issuer: crate::helpers::notices::issuer(pb::IssuerRole::LaOfficer),
                improvement_period: Some(pb::ImprovementPeriod {
                    start_date: crate::helpers::notices::proto_date(d(2025, 3, 17)),
                    school_weeks: 4,
                    end_date: None,
                    reason: "Attends every session.".into(),
                }),
                delivery: crate::helpers::notices::by_hand(),
                breach: None,
            })
            .await
            .unwrap()
            .into_inner()
            .notices
            .remove(0);
        assert_eq!(notice.parent.unwrap().liability, None);
    }
}
