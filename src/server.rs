//! The gRPC server: the five lea.notices.v1 services, health and reflection.

use std::{future::Future, sync::Arc};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::api::{
    auth::Verifier,
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
/// Every lea.notices.v1 call needs a bearer token `verifier` accepts; health and
/// reflection need none.
pub async fn serve(
    store: Arc<dyn Store>,
    verifier: Arc<Verifier>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let auth = verifier.interceptor();
    let policy = PolicyServiceServer::with_interceptor(PolicyApi::new(store.clone()), auth.clone());
    let attendance = AttendanceServiceServer::with_interceptor(AttendanceApi, auth.clone());
    let notices =
        NoticeServiceServer::with_interceptor(NoticeApi::new(store.clone()), auth.clone());
    let payments =
        PaymentServiceServer::with_interceptor(PaymentApi::new(store.clone()), auth.clone());
    let reports = ReportServiceServer::with_interceptor(ReportApi, auth);

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
