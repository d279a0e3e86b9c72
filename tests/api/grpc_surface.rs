//! What any gRPC tool sees: the README's first command (the real binary on its
//! embedded default), health per service, reflection listing exactly the v1
//! services and methods.

use std::{collections::BTreeMap, process::Stdio, time::Duration};

use prost::Message;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::helpers::TestApp;

const V1_SERVICES: [(&str, &[&str]); 10] = [
    (
        "lea.notices.v1.AttendanceService",
        &[
            "GetAttendanceSummary",
            "GetMarkHistory",
            "ListThresholdBreaches",
            "RecordBreachDecision",
            "RecordMarks",
            "RecordMarksStream",
        ],
    ),
    (
        "lea.notices.v1.AuditService",
        &[
            "CreateAuditCheckpoint",
            "ListAuditEvents",
            "VerifyAuditTrail",
        ],
    ),
    ("lea.notices.v1.EventService", &["WatchEvents"]),
    (
        "lea.notices.v1.MeasureService",
        &[
            "GetCase",
            "ListCaseEvents",
            "ListCases",
            "OpenCase",
            "RecordCaseEvent",
            "RenderProsecutionFile",
        ],
    ),
    (
        "lea.notices.v1.NoticeService",
        &[
            "DeclinePenaltyNoticeRequest",
            "GetNotice",
            "IssueNoticeToImprove",
            "IssuePenaltyNotice",
            "ListNoticeEvents",
            "ListNotices",
            "ListPenaltyNoticeRequests",
            "RecordProsecutionOutcome",
            "RenderNotice",
            "RequestPenaltyNotice",
            "WithdrawNotice",
        ],
    ),
    (
        "lea.notices.v1.PaymentService",
        &[
            "AllocatePayment",
            "GetAmountDue",
            "ListPayments",
            "RecordPayment",
            "RecordRefund",
        ],
    ),
    (
        "lea.notices.v1.PolicyService",
        &[
            "CreateAuthoritySettings",
            "CreatePolicyVersion",
            "GetAuthoritySettings",
            "GetPolicy",
            "ListPolicyVersions",
        ],
    ),
    ("lea.notices.v1.ReportService", &["GetStatutoryReturn"]),
    (
        "lea.notices.v1.SchoolService",
        &["GetSchool", "ImportSchools", "ListSchools"],
    ),
    ("lea.notices.v1.WorklistService", &["ListActions"]),
];

async fn reflect(channel: Channel, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(channel);
    let outbound = tokio_stream::once(ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    });
    let mut inbound = client
        .server_reflection_info(outbound)
        .await
        .expect("reflection")
        .into_inner();
    inbound
        .next()
        .await
        .expect("a response")
        .expect("ok")
        .message_response
        .expect("message")
}

/// The lea.notices.v1 services reflection lists, with their methods (sorted).
async fn reflected_v1_services(channel: Channel) -> BTreeMap<String, Vec<String>> {
    let MessageResponse::ListServicesResponse(list) =
        reflect(channel.clone(), MessageRequest::ListServices(String::new())).await
    else {
        panic!("expected a service list");
    };
    let mut services = BTreeMap::new();
    for service in list
        .service
        .into_iter()
        .filter(|s| s.name.starts_with("lea.notices.v1."))
    {
        let MessageResponse::FileDescriptorResponse(files) = reflect(
            channel.clone(),
            MessageRequest::FileContainingSymbol(service.name.clone()),
        )
        .await
        else {
            panic!("expected the file of {}", service.name);
        };
        let short = service.name.rsplit('.').next().unwrap().to_string();
        let mut methods: Vec<String> = files
            .file_descriptor_proto
            .iter()
            .map(|bytes| {
                prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("descriptor")
            })
            .flat_map(|file| file.service)
            .filter(|s| s.name() == short)
            .flat_map(|s| s.method.into_iter().map(|m| m.name().to_string()))
            .collect();
        methods.sort();
        services.insert(service.name, methods);
    }
    services
}

async fn assert_serves_v1(channel: Channel) {
    let mut health = HealthClient::new(channel.clone());
    for service in [""].into_iter().chain(V1_SERVICES.iter().map(|(s, _)| *s)) {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner()
            .status;
        assert_eq!(
            status,
            ServingStatus::Serving as i32,
            "health of '{service}'"
        );
    }
    let expected: BTreeMap<String, Vec<String>> = V1_SERVICES
        .iter()
        .map(|(s, methods)| {
            (
                s.to_string(),
                methods.iter().map(|m| m.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(reflected_v1_services(channel).await, expected);
}

#[tokio::test]
async fn reflection_and_health_describe_exactly_the_v1_services() {
    let app = TestApp::spawn(lea_notices::store::Backend::Sqlite).await;
    assert_serves_v1(app.channel.clone()).await;
}

/// README's first command: `lea-notices serve` with no database configured
/// creates its SQLite file and answers health and reflection; SIGTERM stops it.
#[tokio::test]
async fn the_binary_serves_on_its_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
        .arg("serve")
        .arg("--listen-addr")
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("LEA_NOTICES_DATABASE_URL")
        .env_remove("LEA_NOTICES_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start lea-notices");

    let endpoint = Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
    let mut channel = None;
    for _ in 0..100 {
        if let Ok(c) = endpoint.connect().await {
            channel = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_serves_v1(channel.expect("the server came up within 10 s")).await;
    assert!(
        dir.path().join("data/lea-notices.sqlite3").exists(),
        "the SQLite file is created in ./data"
    );

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits on SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// Older tools (grpcurl before 1.8.8, Postman, Kreya, BloomRPC) ask the
/// v1alpha reflection service only: it lists the same services.
#[tokio::test]
async fn reflection_v1alpha_lists_the_same_services() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::spawn(lea_notices::store::Backend::Sqlite).await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let outbound = tokio_stream::once(ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    });
    let response = client
        .server_reflection_info(outbound)
        .await
        .expect("v1alpha reflection")
        .into_inner()
        .next()
        .await
        .expect("a response")
        .expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list");
    };
    let listed: std::collections::BTreeSet<String> = list
        .service
        .into_iter()
        .map(|s| s.name)
        .filter(|n| n.starts_with("lea.notices.v1."))
        .collect();
    let expected: std::collections::BTreeSet<String> =
        V1_SERVICES.iter().map(|(s, _)| s.to_string()).collect();
    assert_eq!(listed, expected);
}
