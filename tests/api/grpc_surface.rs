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

const V1_SERVICES: [(&str, &[&str]); 11] = [
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
    (
        "lea.notices.v1.DataProtectionService",
        &[
            "ExportSubjectData",
            "ListAccessEvents",
            "RectifyPersonalDetails",
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
            "CreateRetentionPolicyVersion",
            "CreateSharingAgreementVersion",
            "GetAuthoritySettings",
            "GetPolicy",
            "GetRetentionPolicy",
            "GetSharingAgreement",
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

/// The error details every error carries, as a tool asks reflection for them
/// when it meets one in a status: the file defining each, and every file it
/// imports by name, so grpcurl prints a `BadRequest`'s field violations rather
/// than "google.rpc.BadRequest is not recognized". Asked of both versions.
const ERROR_DETAILS: [&str; 6] = [
    "google.rpc.BadRequest",
    "google.rpc.BadRequest.FieldViolation",
    "google.rpc.ErrorInfo",
    "google.rpc.PreconditionFailure",
    "google.rpc.ResourceInfo",
    "google.rpc.Status",
];

/// The messages of `files` (full names) and the files they import.
fn messages_and_imports(files: &[Vec<u8>]) -> (Vec<String>, Vec<String>) {
    fn walk(prefix: &str, messages: &[prost_types::DescriptorProto], out: &mut Vec<String>) {
        for m in messages {
            let name = format!("{prefix}.{}", m.name());
            walk(&name, &m.nested_type, out);
            out.push(name);
        }
    }
    let (mut messages, mut imports) = (Vec::new(), Vec::new());
    for bytes in files {
        let file = prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("descriptor");
        walk(file.package(), &file.message_type, &mut messages);
        imports.extend(file.dependency);
    }
    (messages, imports)
}

#[tokio::test]
async fn reflection_describes_the_error_details_on_v1_and_v1alpha() {
    use tonic_reflection::pb::v1alpha as alpha;
    let app = TestApp::spawn(lea_notices::store::Backend::Sqlite).await;
    // The same question of v1alpha, answered as v1's messages.
    let reflect_alpha = |request: MessageRequest| {
        let channel = app.channel.clone();
        async move {
            let request = match request {
                MessageRequest::FileContainingSymbol(s) => {
                    alpha::server_reflection_request::MessageRequest::FileContainingSymbol(s)
                }
                MessageRequest::FileByFilename(f) => {
                    alpha::server_reflection_request::MessageRequest::FileByFilename(f)
                }
                other => panic!("not asked here: {other:?}"),
            };
            let mut client = alpha::server_reflection_client::ServerReflectionClient::new(channel);
            let response = client
                .server_reflection_info(tokio_stream::once(alpha::ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(request),
                }))
                .await
                .expect("v1alpha reflection")
                .into_inner()
                .next()
                .await
                .expect("a response")
                .expect("ok")
                .message_response
                .expect("message");
            match response {
                alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(f) => {
                    MessageResponse::FileDescriptorResponse(
                        tonic_reflection::pb::v1::FileDescriptorResponse {
                            file_descriptor_proto: f.file_descriptor_proto,
                        },
                    )
                }
                other => panic!("v1alpha answered {other:?}"),
            }
        }
    };
    for version in ["v1", "v1alpha"] {
        for symbol in ERROR_DETAILS {
            let request = MessageRequest::FileContainingSymbol(symbol.into());
            let response = match version {
                "v1" => reflect(app.channel.clone(), request).await,
                _ => reflect_alpha(request).await,
            };
            let MessageResponse::FileDescriptorResponse(files) = response else {
                panic!("{version}: no file for {symbol}: {response:?}");
            };
            let (messages, mut imports) = messages_and_imports(&files.file_descriptor_proto);
            assert!(
                messages.iter().any(|m| m == symbol),
                "{version}: {symbol} not in {messages:?}"
            );
            // Every import a tool then asks for by name is served too.
            let mut seen = std::collections::BTreeSet::new();
            while let Some(import) = imports.pop() {
                if !seen.insert(import.clone()) {
                    continue;
                }
                let request = MessageRequest::FileByFilename(import.clone());
                let response = match version {
                    "v1" => reflect(app.channel.clone(), request).await,
                    _ => reflect_alpha(request).await,
                };
                let MessageResponse::FileDescriptorResponse(files) = response else {
                    panic!("{version}: {symbol} imports {import}, not served: {response:?}");
                };
                imports.extend(messages_and_imports(&files.file_descriptor_proto).1);
            }
            if symbol == "google.rpc.Status" {
                assert!(seen.contains("google/protobuf/any.proto"), "{seen:?}");
            }
        }
    }
    // No service is listed for them: the list is still exactly the v1 services.
    assert_serves_v1(app.channel.clone()).await;
}
