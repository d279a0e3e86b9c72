//! Services whose methods answer UNIMPLEMENTED until their issues land: the
//! generated traits' default methods do exactly that.

use crate::proto::v1::{
    attendance_service_server::AttendanceService, report_service_server::ReportService,
};

pub struct AttendanceApi;
impl AttendanceService for AttendanceApi {}

pub struct ReportApi;
impl ReportService for ReportApi {}
