//! `import-payments` against a real server (issue 27, payment-provider
//! files): a provider's daily export recorded once however often it is
//! imported, a line quoting two notices settling both, references that name no
//! notice kept in suspense, bad lines named by line and column while the rest
//! are recorded, amounts and dates as providers write them, and GOV.UK Pay's
//! own download (byte-order mark, CRLF, quoted fields, declined payments and
//! refunds among the lines).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use lea_notices::cli::import_payments::format::{Format, Layout};
use lea_notices::cli::import_payments::{
    PaymentImportOptions, PaymentImportReport, import_payments,
};
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::v1::{self as pb};

use crate::helpers::notices::{d, proto_date};
use crate::helpers::payments::{all_payments, assert_money_invariants, get, notices, status};
use crate::helpers::worklist::worklist;
use crate::helpers::{TestApp, date, on_both_backends};

/// Runs the command as a council would, with a finance officer's token: whether
/// it succeeded, its output and its messages.
async fn command(app: &TestApp, file: &Path, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
        .arg("import-payments")
        .arg(file)
        .args([
            "--server",
            &format!("http://{}", app.addr),
            "--authority",
            "850",
        ])
        .args(args)
        .env("LEA_NOTICES_TOKEN", app.token("850", Role::Finance))
        .output()
        .await
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The command's library entry point, as `run` calls it.
async fn import(app: &TestApp, file: &Path, layout: Layout, provider: &str) -> PaymentImportReport {
    import_payments(PaymentImportOptions {
        file: file.to_path_buf(),
        server: format!("http://{}", app.addr),
        authority: "850".into(),
        token: app.token("850", Role::Finance),
        ca_file: None,
        progress: false,
        layout,
        provider: provider.into(),
        channel: pb::PaymentChannel::Online,
    })
    .await
    .expect("the import runs")
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, contents).unwrap();
    file
}

fn mapped(columns: &str) -> Layout {
    Layout::new(Format::Generic, Some(columns), None, None).unwrap()
}

/// What is due on a notice on a day.
async fn due(app: &TestApp, notice: &str, on: NaiveDate) -> pb::GetAmountDueResponse {
    app.as_role("850", Role::Finance)
        .payments()
        .get_amount_due(pb::GetAmountDueRequest {
            name: notice.into(),
            date: proto_date(on),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn suspense(app: &TestApp) -> Vec<pb::Payment> {
    app.as_role("850", Role::Finance)
        .payments()
        .list_payments(pb::ListPaymentsRequest {
            parent: "authorities/850".into(),
            unallocated_only: true,
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .payments
}

fn by_id<'a>(payments: &'a [pb::Payment], id: &str) -> &'a pb::Payment {
    payments
        .iter()
        .find(|p| p.provider_payment_id == id)
        .unwrap_or_else(|| panic!("{id} recorded"))
}

fn time(p: &pb::Payment) -> String {
    let t = p.receive_time.as_ref().unwrap();
    chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32)
        .unwrap()
        .to_rfc3339()
}

on_both_backends! {
    async fn the_same_export_imported_twice_records_each_payment_once(app) {
        // Notices received 2025-02-03: £80 at the lower rate up to 2025-02-23.
        let n = notices(&app, "850", 1..4).await;
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "civica-20250212.csv", format!(
            "transaction_id,paid_date,amount,reference,payer_name\n\
             T-1,2025-02-10,80.00,{},A Parent\n\
             T-2,2025-02-11,£80.00,PN {} holiday,B Parent\n\
             T-3,2025-02-12,50.00,{},C Parent\n\
             T-4,2025-02-12,25.00,school fine for Sam,\n",
            n[0].notice_number, n[1].notice_number, n[2].notice_number
        ));
        let (ok, out, err) = command(&app, &file, &["--provider", "civica"]).await;
        assert!(ok, "{out} {err}");
        assert_eq!(
            out.trim(),
            "4 lines: 3 matched, 0 part-matched, 1 to suspense, 0 already recorded, \
             0 skipped (not completed payments), 0 refused; £235.00 recorded"
        );
        assert!(err.contains("line 5: £25.00 to suspense (authorities/850/payments/"), "{err}");
        assert!(err.contains("the reference in column 'reference' quotes no notice number of authority 850"), "{err}");
        assert!(!err.contains("Sam"), "the payer's words stay out of messages: {err}");
        let first = all_payments(&app, "850").await;
        assert_eq!(first.len(), 4);
        let t1 = by_id(&first, "T-1");
        assert_eq!((t1.provider.as_str(), t1.payer_name.as_str(), t1.channel()), ("civica", "A Parent", pb::PaymentChannel::Online));
        assert_eq!((t1.paid_date, time(t1).as_str()), (date(2025, 2, 10), "2025-02-10T00:00:00+00:00"));
        assert_eq!(status(&get(&app, &n[0].name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        assert_eq!(status(&get(&app, &n[1].name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        // A short payment is still money on the notice it quotes.
        assert_eq!(by_id(&first, "T-3").allocations[0].notice, n[2].name);

        // The same file again: every payment is already recorded; nothing changes.
        let (ok, out, err) = command(&app, &file, &["--provider", "civica"]).await;
        assert!(ok, "{out} {err}");
        assert_eq!(
            out.trim(),
            "4 lines: 0 matched, 0 part-matched, 0 to suspense, 4 already recorded, \
             0 skipped (not completed payments), 0 refused; £0.00 recorded"
        );
        assert_eq!(all_payments(&app, "850").await, first);
        let events = app.audit_events(&LaCode::parse("850").unwrap(), None, 0, 1000).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "payment.recorded").count(), 4);
        // A line repeated within a file is one payment too.
        let twice = write(dir.path(), "twice.csv", "transaction_id,paid_date,amount,reference\nT-9,2025-02-12,5.00,x\nT-9,2025-02-12,5.00,x\n");
        let report = import(&app, &twice, Layout::default(), "civica").await;
        assert_eq!((report.to_suspense, report.already_recorded, report.refused.len()), (1, 1, 0), "{report:?}");
        assert_eq!(all_payments(&app, "850").await.len(), 5);
        assert_money_invariants(&app, "850").await;
    }

    async fn a_line_quoting_two_notices_settles_both(app) {
        let n = notices(&app, "850", 1..5).await;
        let dir = tempfile::tempdir().unwrap();
        // References in two columns, and two notice numbers in one.
        let file = write(dir.path(), "export.csv", format!(
            "TxnRef,Amount,Date,Ref1,Ref2\n\
             G-1,160.00,14/02/2025,{},{}\n\
             G-2,160.00,14/02/2025,\"{} and {}\",\n",
            n[0].notice_number, n[1].name, n[2].notice_number, n[3].notice_number
        ));
        let layout = mapped("transaction_id=TxnRef,amount=Amount,paid_date=Date,reference=Ref1,reference=Ref2");
        let report = import(&app, &file, layout, "pay360").await;
        assert_eq!((report.lines, report.matched, report.recorded_pence), (2, 2, 32_000), "{report:?}");
        assert!(report.refused.is_empty() && report.notes.is_empty(), "{report:?}");
        for notice in &n {
            let now = due(&app, &notice.name, d(2025, 2, 14)).await;
            assert_eq!((now.amount_due_pence, now.payable), (0, false), "{}", notice.name);
            assert_eq!(status(&get(&app, &notice.name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        }
        let payments = all_payments(&app, "850").await;
        let g1 = by_id(&payments, "G-1");
        let split: Vec<(&str, i64)> = g1.allocations.iter().map(|a| (a.notice.as_str(), a.amount_pence)).collect();
        assert_eq!(split, [(n[0].name.as_str(), 8_000), (n[1].name.as_str(), 8_000)]);
        assert_eq!(g1.payer_reference, format!("{} / {}", n[0].notice_number, n[1].name));
        assert_money_invariants(&app, "850").await;
    }

    async fn references_that_name_no_notice_go_to_suspense_and_money_beyond_what_is_due_stays_unallocated(app) {
        // S-4 pays a notice S-3 has paid, S-7 pays another after its period:
        // the money stays with the notice named, as refund due.
        let n = notices(&app, "850", 1..3).await;
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "export.csv", format!(
            "transaction_id,paid_date,amount,reference\n\
             S-1,2025-02-10,80.00,850-2025-999999\n\
             S-2,2025-02-10,80.00,Sam holiday\n\
             S-3,2025-02-10,100.00,{0}\n\
             S-4,2025-02-11,80.00,{0}\n\
             S-5,2025-02-11,80.00,852-2025-000001\n\
             S-6,2025-02-11,1.00,\n\
             S-7,2025-03-10,80.00,{1}\n",
            n[0].notice_number, n[1].notice_number
        ));
        let report = import(&app, &file, Layout::default(), "cheque").await;
        assert_eq!(
            (report.matched, report.part_matched, report.to_suspense, report.refused.len()),
            (2, 1, 4, 0),
            "{report:?}"
        );
        let notes = report.notes.join("\n");
        for expected in [
            "line 2: £80.00 to suspense (authorities/850/payments/850-PAY-000001): notice 850-2025-999999 does not exist",
            "line 3: £80.00 to suspense (authorities/850/payments/850-PAY-000002): the reference in column 'reference' quotes no notice number of authority 850",
            "line 4: part-matched, £20.00 of £100.00 unallocated (authorities/850/payments/850-PAY-000003): more than was due on the notices quoted",
            "line 5: matched (authorities/850/payments/850-PAY-000004): £80.00 to authorities/850/notices/850-2025-000001, \
             not payable on 2025-02-11 (the notice is paid): there for the finance team to refund or review",
            "line 6: £80.00 to suspense (authorities/850/payments/850-PAY-000005): the reference in column 'reference' quotes no notice number of authority 850",
            "line 7: £1.00 to suspense (authorities/850/payments/850-PAY-000006): the line quotes no reference",
            "line 8: matched (authorities/850/payments/850-PAY-000007): £80.00 to authorities/850/notices/850-2025-000002, \
             not payable on 2025-03-10 (the higher period has ended",
        ] {
            assert!(notes.contains(expected), "{expected}\n in\n{notes}");
        }
        // Every pound is kept: the suspense list shows what is unallocated.
        let waiting = suspense(&app).await;
        let unallocated: Vec<(&str, i64)> = waiting.iter().map(|p| (p.provider_payment_id.as_str(), p.unallocated_pence)).collect();
        assert_eq!(unallocated, [("S-1", 8_000), ("S-2", 8_000), ("S-3", 2_000), ("S-5", 8_000), ("S-6", 100)]);
        // And on finance's worklist: each payment in suspense to match, the
        // part-matched one for its rest.
        let actions = worklist(&app, Role::Finance).await;
        let mut money: Vec<(pb::ActionKind, String, i64)> = actions
            .iter()
            .filter(|a| matches!(a.kind(), pb::ActionKind::PaymentUnallocated | pb::ActionKind::PaymentPartMatched))
            .map(|a| (a.kind(), a.resource.clone(), a.amount_pence))
            .collect();
        money.sort();
        let payment = |n: u32| format!("authorities/850/payments/850-PAY-{n:06}");
        assert_eq!(money, [
            (pb::ActionKind::PaymentUnallocated, payment(1), 8_000),
            (pb::ActionKind::PaymentUnallocated, payment(2), 8_000),
            (pb::ActionKind::PaymentUnallocated, payment(5), 8_000),
            (pb::ActionKind::PaymentUnallocated, payment(6), 100),
            (pb::ActionKind::PaymentPartMatched, payment(3), 2_000),
        ]);
        let paid = get(&app, &n[0].name).await;
        assert_eq!(status(&paid), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        let balance = paid.balance.unwrap();
        assert_eq!((balance.applied_pence, balance.refund_due_pence), (8_000, 8_000));
        let late = get(&app, &n[1].name).await;
        assert_eq!(status(&late), (pb::NoticeStatus::Unpaid, pb::PaidRate::Unspecified));
        assert_eq!(late.balance.unwrap().refund_due_pence, 8_000);
        assert_money_invariants(&app, "850").await;
    }

    async fn a_bad_line_is_named_by_line_and_column_and_the_rest_are_recorded(app) {
        let n = notices(&app, "850", 1..3).await;
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "export.csv", format!(
            "transaction_id,paid_date,amount,reference\n\
             B-1,2025-02-10,80.00,{0}\n\
             B-2,2025-02-10,\"12,5O\",{1}\n\
             B-3,31/02/2025,80.00,{1}\n\
             B-4,2025-02-10,80.00,{1}\n\
             ,2025-02-10,5.00,x\n",
            n[0].notice_number, n[1].notice_number
        ));
        let (ok, out, err) = command(&app, &file, &["--provider", "civica"]).await;
        assert!(!ok, "a refused line is a failure: {out} {err}");
        assert_eq!(
            out.trim(),
            "5 lines: 2 matched, 0 part-matched, 0 to suspense, 0 already recorded, \
             0 skipped (not completed payments), 3 refused; £160.00 recorded"
        );
        for expected in [
            "line 3, column 'amount': '12,5O' is not an amount (pounds and pence, for example 12.50, £1,250.00)",
            "line 4, column 'paid_date': '31/02/2025' is not a date (2025-06-02, 02/06/2025 or 2 Jun 2025)",
            "line 6, column 'transaction_id': no transaction id",
            "3 lines refused (listed above)",
        ] {
            assert!(err.contains(expected), "{expected}\n in\n{err}");
        }
        let payments = all_payments(&app, "850").await;
        let ids: Vec<&str> = payments.iter().map(|p| p.provider_payment_id.as_str()).collect();
        assert_eq!(ids, ["B-1", "B-4"]);
        assert_eq!(status(&get(&app, &n[1].name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));

        // The provider's id again with another amount, or another day: refused,
        // naming the payment recorded; nothing is recorded twice.
        let changed = write(dir.path(), "changed.csv",
            "transaction_id,paid_date,amount,reference\nB-1,2025-02-10,90.00,x\nB-4,2025-02-11,80.00,x\n");
        let report = import(&app, &changed, Layout::default(), "civica").await;
        assert_eq!(report.refused, [
            "line 2, column 'transaction_id': transaction 'B-1' is already recorded as \
             authorities/850/payments/850-PAY-000001 with £80.00 paid on 2025-02-10, not £90.00 on 2025-02-10",
            "line 3, column 'transaction_id': transaction 'B-4' is already recorded as \
             authorities/850/payments/850-PAY-000002 with other details",
        ], "{report:?}");
        assert_eq!(all_payments(&app, "850").await, payments);

        // A file whose header lacks a column the layout needs stops before any call.
        let headless = write(dir.path(), "headless.csv", "TxnRef,Amount\nX,1.00\n");
        let (ok, _, err) = command(&app, &headless, &["--provider", "civica", "--columns", "transaction_id=TxnRef"]).await;
        assert!(!ok);
        assert!(err.contains("has no column 'amount' (pounds) or 'amount_pence'") || err.contains("has no column 'paid_date'"), "{err}");
    }

    async fn amounts_and_dates_are_read_as_providers_write_them(app) {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "pounds.csv",
            "transaction_id,paid_date,amount,reference\n\
             D-1,2025-02-10,£12.50,x\n\
             D-2,10/02/2025,\"1,250.00\",x\n\
             D-3,10 Feb 2025,12.5,x\n\
             D-4,2025-02-10 14:03:11,80,x\n\
             D-5,2025-06-02 14:03:11,GBP 80.00,x\n\
             D-6,2025-06-01T23:30:00Z,80.00,x\n\
             D-7,2 Jun 2025 00:15,80.00,x\n\
             D-8,2025-06-02T14:03:11+01:00,0.99,x\n");
        let report = import(&app, &file, Layout::default(), "civica").await;
        assert_eq!((report.to_suspense, report.refused.len()), (8, 0), "{report:?}");
        let pence = write(dir.path(), "pence.csv",
            "Id,When,Pence,Ref\nP-1,02/06/2025 23:30,\"1,250\",x\nP-2,2025-06-01 23:30:00,8000,x\n");
        let layout = Layout::new(
            Format::Generic,
            Some("transaction_id=Id,paid_date=When,amount_pence=Pence,reference=Ref"),
            Some(lea_notices::cli::import_payments::format::Times::Utc),
            None,
        ).unwrap();
        let report = import(&app, &pence, layout, "civica").await;
        assert_eq!((report.to_suspense, report.refused.len()), (2, 0), "{report:?}");

        let payments = all_payments(&app, "850").await;
        let read = |id: &str| {
            let p = by_id(&payments, id);
            let day = p.paid_date.unwrap();
            (p.amount_pence, (day.year, day.month, day.day), time(p))
        };
        assert_eq!(read("D-1"), (1_250, (2025, 2, 10), "2025-02-10T00:00:00+00:00".into()));
        assert_eq!(read("D-2"), (125_000, (2025, 2, 10), "2025-02-10T00:00:00+00:00".into()));
        assert_eq!(read("D-3"), (1_250, (2025, 2, 10), "2025-02-10T00:00:00+00:00".into()));
        // UK time: GMT in February, BST in June.
        assert_eq!(read("D-4"), (8_000, (2025, 2, 10), "2025-02-10T14:03:11+00:00".into()));
        assert_eq!(read("D-5"), (8_000, (2025, 6, 2), "2025-06-02T13:03:11+00:00".into()));
        // 23:30 UTC on 1 June is 00:30 on 2 June in the UK: paid on the 2nd.
        assert_eq!(read("D-6"), (8_000, (2025, 6, 2), "2025-06-01T23:30:00+00:00".into()));
        assert_eq!(read("D-7"), (8_000, (2025, 6, 2), "2025-06-01T23:15:00+00:00".into()));
        assert_eq!(read("D-8"), (99, (2025, 6, 2), "2025-06-02T13:03:11+00:00".into()));
        // Pence, with times in UTC.
        assert_eq!(read("P-1"), (1_250, (2025, 6, 3), "2025-06-02T23:30:00+00:00".into()));
        assert_eq!(read("P-2"), (8_000, (2025, 6, 2), "2025-06-01T23:30:00+00:00".into()));
        assert_money_invariants(&app, "850").await;
    }

    async fn a_govuk_pay_download_with_a_byte_order_mark_and_crlf_is_read_as_written(app) {
        let n = notices(&app, "850", 1..3).await;
        let dir = tempfile::tempdir().unwrap();
        // GOV.UK Pay's transactions download: its columns, UTF-8 with a BOM,
        // CRLF, fields quoted where they hold commas; a declined payment and a
        // refund among the payments.
        let header = "Reference,Description,Email,Amount,Card Brand,Cardholder Name,Card Expiry Date,\
                      Card Number,State,Finished,Error Code,Error Message,Provider ID,GOV.UK Payment ID,\
                      Issued By,Date Created,Time Created,Corporate Card Surcharge,Total Amount,Wallet Type,Card Type";
        let rows = [
            format!("{},\"Penalty notice, term-time holiday\",a@example.org,80.00,Visa,J Taylor,10/27,4242,Success,true,,,pi_1,govuk-pay-1,,10 Feb 2025,10:15:00,0.00,80.00,,debit", n[0].notice_number),
            format!("{},\"Penalty notice, term-time holiday\",b@example.org,80.00,Visa,K Smith,10/27,1111,Declined,true,P0010,Payment method rejected,pi_2,govuk-pay-2,,10 Feb 2025,11:00:00,0.00,80.00,,credit", n[1].notice_number),
            format!("\"{}\",\"Penalty notice, £80\",b@example.org,80.00,Mastercard,K Smith,11/27,2222,Success,true,,,pi_3,govuk-pay-3,,11 Feb 2025,09:00:00,0.00,80.00,Apple Pay,debit", n[1].notice_number),
            format!("{},\"Penalty notice, term-time holiday\",a@example.org,-80.00,Visa,J Taylor,10/27,4242,Refund success,true,,,pi_1,govuk-pay-1,refunds@example.org,12 Feb 2025,12:00:00,0.00,-80.00,,debit", n[0].notice_number),
        ];
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(format!("{header}\r\n{}\r\n", rows.join("\r\n")).into_bytes());
        let file = write(dir.path(), "govuk-pay-transactions.csv", bytes);
        let (ok, out, err) = command(&app, &file, &["--format", "govuk-pay"]).await;
        assert!(ok, "{out} {err}");
        assert_eq!(
            out.trim(),
            "4 lines: 2 matched, 0 part-matched, 0 to suspense, 0 already recorded, \
             2 skipped (not completed payments), 0 refused; £160.00 recorded"
        );
        assert!(err.contains("line 3: skipped: status 'Declined' is not a completed payment"), "{err}");
        assert!(err.contains("line 5: skipped: status 'Refund success' is not a completed payment"), "{err}");
        let payments = all_payments(&app, "850").await;
        assert_eq!(payments.len(), 2);
        let first = by_id(&payments, "govuk-pay-1");
        assert_eq!((first.provider.as_str(), first.payer_name.as_str()), ("govuk-pay", "J Taylor"));
        assert_eq!(time(first), "2025-02-10T10:15:00+00:00");
        for notice in &n {
            assert_eq!(status(&get(&app, &notice.name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        }
        // Imported again: already recorded, and the skipped lines still skipped.
        let (ok, out, _) = command(&app, &file, &["--format", "govuk-pay"]).await;
        assert!(ok);
        assert!(out.starts_with("4 lines: 0 matched, 0 part-matched, 0 to suspense, 2 already recorded, 2 skipped"), "{out}");
        assert_money_invariants(&app, "850").await;
    }
}
