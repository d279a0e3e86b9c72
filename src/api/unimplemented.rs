//! Services whose methods answer UNIMPLEMENTED until their issues land: the
//! generated traits' default methods do exactly that.

use crate::proto::v1::report_service_server::ReportService;

pub struct ReportApi;
impl ReportService for ReportApi {}
