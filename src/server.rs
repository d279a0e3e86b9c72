//! The gRPC server: the five lea.notices.v1 services, health and reflection.

use std::{future::Future, sync::Arc};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::api::{
    notice::NoticeApi,
    payment::PaymentApi,
    policy::PolicyApi,
    unimplemented::{AttendanceApi, ReportApi},
};
use crate::proto::{
    FILE_DESCRIPTOR_SET,
    v1::{
        attendance_service_server::AttendanceServiceServer,
        notice_service_server::NoticeServiceServer, payment_service_server::PaymentServiceServer,
        policy_service_server::PolicyServiceServer, report_service_server::ReportServiceServer,
    },
};
use crate::store::Store;

/// Serves on `listener` until `shutdown` completes, then lets in-flight calls finish.
pub async fn serve(
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let policy = PolicyServiceServer::new(PolicyApi::new(store.clone()));
    let attendance = AttendanceServiceServer::new(AttendanceApi);
    let notices = NoticeServiceServer::new(NoticeApi::new(store.clone()));
    let payments = PaymentServiceServer::new(PaymentApi::new(store.clone()));
    let reports = ReportServiceServer::new(ReportApi);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    health_reporter
        .set_serving::<PolicyServiceServer<PolicyApi>>()
        .await;
    health_reporter
        .set_serving::<AttendanceServiceServer<AttendanceApi>>()
        .await;
    health_reporter
        .set_serving::<NoticeServiceServer<NoticeApi>>()
        .await;
    health_reporter
        .set_serving::<PaymentServiceServer<PaymentApi>>()
        .await;
    health_reporter
        .set_serving::<ReportServiceServer<ReportApi>>()
        .await;

    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    tracing::info!(addr = %listener.local_addr()?, "serving lea.notices.v1");
    Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(policy)
        .add_service(attendance)
        .add_service(notices)
        .add_service(payments)
        .add_service(reports)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}
