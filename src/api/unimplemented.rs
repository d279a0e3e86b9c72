//! Services whose methods answer UNIMPLEMENTED until their issues land: the
//! generated traits' default methods do exactly that.

use crate::proto::v1::{
    attendance_service_server::AttendanceService, payment_service_server::PaymentService,
    report_service_server::ReportService,
};

pub struct AttendanceApi;
impl AttendanceService for AttendanceApi {}

pub struct PaymentApi;
impl PaymentService for PaymentApi {}

pub struct ReportApi;
impl ReportService for ReportApi {}
