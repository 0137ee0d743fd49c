//! Bad requests over raw gRPC (no SDK checks in the way): the right codes, and the server
//! keeps serving.

use ndserve_proto::pb::array_service_client::ArrayServiceClient;
use ndserve_proto::{Attr, Attrs, DType, Error, ErrorCode, Meta, pb};
use tonic::transport::Channel;

use crate::server;

async fn raw(url: &str) -> ArrayServiceClient<Channel> {
    ArrayServiceClient::connect(url.to_string())
        .await
        .expect("connect")
}

async fn open(c: &mut ArrayServiceClient<Channel>, lease_ms: u64) -> String {
    open_response(c, lease_ms).await.session_id
}

async fn open_response(
    c: &mut ArrayServiceClient<Channel>,
    lease_ms: u64,
) -> pb::OpenSessionResponse {
    c.open_session(pb::OpenSessionRequest {
        protocol_major: ndserve_proto::PROTOCOL_MAJOR,
        protocol_minor: ndserve_proto::PROTOCOL_MINOR,
        client_version: "raw-test".into(),
        lease_ms,
    })
    .await
    .expect("open")
    .into_inner()
}

fn call(op: &str, inputs: Vec<pb::Operand>, outputs: Vec<u64>, attrs: Attrs) -> pb::OpCall {
    pb::OpCall {
        op: op.into(),
        inputs,
        outputs,
        attrs: attrs.to_wire(),
        device: String::new(),
    }
}

fn handle(h: u64) -> pb::Operand {
    pb::Operand {
        kind: Some(pb::operand::Kind::Handle(h)),
    }
}

async fn run(
    c: &mut ArrayServiceClient<Channel>,
    session: &str,
    calls: Vec<pb::OpCall>,
) -> Result<Vec<Meta>, Error> {
    let r = c
        .run(pb::RunRequest {
            session_id: session.into(),
            calls,
            after_seq: 0,
        })
        .await
        .map_err(Error::from)?;
    Ok(r.into_inner()
        .outputs
        .iter()
        .map(|m| Meta::from_wire(m).expect("meta"))
        .collect())
}

async fn upload(
    c: &mut ArrayServiceClient<Channel>,
    session: &str,
    h: u64,
    meta: &Meta,
    data: Vec<u8>,
) -> Result<(), Error> {
    let chunks = vec![pb::UploadChunk {
        header: Some(pb::UploadHeader {
            session_id: session.into(),
            handle: h,
            meta: Some(meta.to_wire()),
            device: String::new(),
        }),
        data: data.into(),
    }];
    c.upload(futures::stream::iter(chunks))
        .await
        .map(|_| ())
        .map_err(Error::from)
}

/// A plain fetch of handle `h`, streamed through the server.
fn fetch_request(session: &str, h: u64) -> pb::FetchRequest {
    pb::FetchRequest {
        session_id: session.into(),
        handle: h,
        after_seq: 0,
        chunk_bytes: 0,
        direct: false,
    }
}

async fn fetch_err(c: &mut ArrayServiceClient<Channel>, session: &str, h: u64) -> Error {
    match c.fetch(fetch_request(session, h)).await {
        Err(s) => Error::from(s),
        Ok(resp) => {
            let mut s = resp.into_inner();
            loop {
                match s.message().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("fetch of handle {h} succeeded"),
                    Err(e) => return Error::from(e),
                }
            }
        }
    }
}

#[tokio::test]
async fn bad_requests_get_the_right_codes_and_the_server_keeps_serving() {
    let srv = server().await;
    let mut c = raw(&srv.url()).await;
    let s = open(&mut c, 0).await;

    // Unknown handle: as an input and as a fetch.
    let e = run(
        &mut c,
        &s,
        vec![call("negative", vec![handle(999)], vec![1], Attrs::new())],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert_eq!(
        fetch_err(&mut c, &s, 12345).await.code(),
        ErrorCode::NotFound
    );

    // Data length not matching shape x dtype.
    let e = upload(
        &mut c,
        &s,
        2,
        &Meta::new(DType::Float32, vec![4]),
        vec![0; 15],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.to_string().contains("16"), "{e}");

    // Negative dims.
    let e = run(
        &mut c,
        &s,
        vec![call(
            "zeros",
            vec![],
            vec![3],
            Attrs::new().with("shape", Attr::Ints(vec![2, -1])),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.to_string().contains("negative dimensions"), "{e}");

    // Absurd sizes.
    let e = run(
        &mut c,
        &s,
        vec![call(
            "zeros",
            vec![],
            vec![4],
            Attrs::new().with("shape", Attr::Ints(vec![1 << 40])),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceExhausted, "{e}");
    let e = run(
        &mut c,
        &s,
        vec![call(
            "zeros",
            vec![],
            vec![5],
            Attrs::new().with("shape", Attr::Ints(vec![1 << 40, 1 << 40])),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceExhausted, "{e}");
    let e = upload(
        &mut c,
        &s,
        6,
        &Meta::new(DType::Float64, vec![1 << 45]),
        vec![],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceExhausted, "{e}");

    // Unknown op.
    let e = run(
        &mut c,
        &s,
        vec![call("frobnicate", vec![], vec![7], Attrs::new())],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unimplemented, "{e}");
    assert!(e.to_string().contains("frobnicate"));

    // Wrong attribute type.
    let e = run(
        &mut c,
        &s,
        vec![call(
            "zeros",
            vec![],
            vec![8],
            Attrs::new().with("shape", Attr::Str("big".into())),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(
        e.to_string().contains("zeros") && e.to_string().contains("shape"),
        "{e}"
    );

    // A wrong number of outputs.
    let e = run(
        &mut c,
        &s,
        vec![call(
            "zeros",
            vec![],
            vec![9, 10],
            Attrs::new().with("shape", Attr::Ints(vec![2])),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");

    // Unknown session.
    let e = run(&mut c, "nope", vec![]).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);

    // Missing dtype in an upload header.
    let e = upload(
        &mut c,
        &s,
        11,
        &Meta {
            dtype: DType::Bool,
            shape: vec![],
        },
        vec![1],
    )
    .await
    .map(|_| ());
    assert!(e.is_ok());
    let bad = pb::UploadChunk {
        header: Some(pb::UploadHeader {
            session_id: s.clone(),
            handle: 12,
            meta: Some(pb::ArrayMeta {
                dtype: 0,
                shape: vec![1],
            }),
            device: String::new(),
        }),
        data: vec![0u8].into(),
    };
    let e = Error::from(
        c.upload(futures::stream::iter(vec![bad]))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");

    // Still serving: a normal op works.
    let metas = run(
        &mut c,
        &s,
        vec![call(
            "ones",
            vec![],
            vec![20],
            Attrs::new().with("shape", Attr::Ints(vec![3])),
        )],
    )
    .await
    .unwrap();
    assert_eq!(metas, vec![Meta::new(DType::Float64, vec![3])]);
}

/// An upload in chunks: the first carries the header, the rest only data.
fn chunked(session: &str, h: u64, meta: &Meta, parts: Vec<Vec<u8>>) -> Vec<pb::UploadChunk> {
    parts
        .into_iter()
        .enumerate()
        .map(|(i, data)| pb::UploadChunk {
            header: (i == 0).then(|| pb::UploadHeader {
                session_id: session.into(),
                handle: h,
                meta: Some(meta.to_wire()),
                device: String::new(),
            }),
            data: data.into(),
        })
        .collect()
}

async fn fetch_bytes(c: &mut ArrayServiceClient<Channel>, session: &str, h: u64) -> Vec<u8> {
    let mut s = c
        .fetch(fetch_request(session, h))
        .await
        .expect("fetch")
        .into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = s.message().await.expect("chunk") {
        out.extend_from_slice(&chunk.data);
    }
    out
}

/// Chunks arrive one by one and go on to the worker as they come: their bytes make the
/// array in order; too many, too few or a second header is INVALID_ARGUMENT, and the
/// handle then holds nothing.
#[tokio::test]
async fn chunked_uploads_arrive_whole_or_not_at_all() {
    let srv = server().await;
    let mut c = raw(&srv.url()).await;
    let s = open(&mut c, 60_000).await;
    let meta = Meta::new(DType::Int32, vec![3, 1000]);
    let bytes: Vec<u8> = (0..3000i32).flat_map(|v| (v * 7).to_le_bytes()).collect();
    // Uneven pieces, one of them empty.
    let parts = vec![
        bytes[..5].to_vec(),
        bytes[5..4001].to_vec(),
        vec![],
        bytes[4001..].to_vec(),
    ];
    c.upload(futures::stream::iter(chunked(&s, 1, &meta, parts)))
        .await
        .expect("upload");
    assert_eq!(fetch_bytes(&mut c, &s, 1).await, bytes);

    let too_many = vec![bytes.clone(), vec![0; 4]];
    let too_few = vec![bytes[..100].to_vec(), bytes[100..11_000].to_vec()];
    for (h, parts, says) in [(2, too_many, "more than"), (3, too_few, "11000 bytes")] {
        let e = Error::from(
            c.upload(futures::stream::iter(chunked(&s, h, &meta, parts)))
                .await
                .unwrap_err(),
        );
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
        assert!(
            e.to_string().contains("upload") && e.to_string().contains(says),
            "{e}"
        );
        assert_eq!(fetch_err(&mut c, &s, h).await.code(), ErrorCode::NotFound);
    }
    let mut twice = chunked(&s, 4, &meta, vec![bytes[..8].to_vec(), bytes[8..].to_vec()]);
    twice[1].header = twice[0].header.clone();
    let e = Error::from(c.upload(futures::stream::iter(twice)).await.unwrap_err());
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.to_string().contains("header"), "{e}");
    // The first upload is untouched.
    assert_eq!(fetch_bytes(&mut c, &s, 1).await, bytes);
}

#[tokio::test]
async fn an_incompatible_protocol_is_refused() {
    let srv = server().await;
    let mut c = raw(&srv.url()).await;
    let e = c
        .open_session(pb::OpenSessionRequest {
            protocol_major: ndserve_proto::PROTOCOL_MAJOR + 1,
            protocol_minor: 0,
            client_version: "future".into(),
            lease_ms: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(Error::from(e).code(), ErrorCode::FailedPrecondition);
}

#[tokio::test]
async fn a_lapsed_lease_frees_the_session() {
    let srv = server().await;
    let mut c = raw(&srv.url()).await;
    let s = open(&mut c, 1000).await;
    upload(
        &mut c,
        &s,
        1,
        &Meta::new(DType::UInt8, vec![1024]),
        vec![7; 1024],
    )
    .await
    .unwrap();
    let stats = c
        .get_stats(pb::GetStatsRequest {
            session_id: s.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.sessions.len(), 1);
    assert_eq!(stats.sessions[0].live_bytes, 1024);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let stats = c
        .get_stats(pb::GetStatsRequest {
            session_id: s.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(stats.sessions.is_empty(), "{stats:?}");
    assert_eq!(stats.live_bytes, 0);
    let e = run(&mut c, &s, vec![]).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[tokio::test]
async fn sessions_cannot_touch_each_others_arrays() {
    let srv = server().await;
    let mut c = raw(&srv.url()).await;
    let a = open(&mut c, 0).await;
    let b = open(&mut c, 0).await;
    upload(
        &mut c,
        &a,
        1,
        &Meta::new(DType::Int32, vec![2]),
        vec![1, 0, 0, 0, 2, 0, 0, 0],
    )
    .await
    .unwrap();
    assert_eq!(fetch_err(&mut c, &b, 1).await.code(), ErrorCode::NotFound);
    let e = run(
        &mut c,
        &b,
        vec![call("negative", vec![handle(1)], vec![2], Attrs::new())],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[tokio::test]
async fn a_coordinator_without_workers_answers_unavailable() {
    let srv = ndserve_server::start(ndserve_server::ServerConfig {
        workers: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut c = raw(&srv.url()).await;
    let s = open(&mut c, 0).await;
    let e = run(
        &mut c,
        &s,
        vec![call(
            "ones",
            vec![],
            vec![1],
            Attrs::new().with("shape", Attr::Ints(vec![3])),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn health_and_reflection_are_served() {
    let srv = server().await;
    let ch = Channel::from_shared(srv.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut h = tonic_health::pb::health_client::HealthClient::new(ch);
    let r = h
        .check(tonic_health::pb::HealthCheckRequest {
            service: "ndserve.v1.ArrayService".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        r.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

/// The next barrier reply on an Execute stream (progress events skipped).
async fn next_barrier(events: &mut tonic::Streaming<pb::ExecuteEvent>) -> pb::BarrierReply {
    loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), events.message())
            .await
            .expect("a reply within 10 s")
            .expect("the stream stays up")
            .expect("the stream does not end");
        if let Some(b) = ev.barrier {
            return b;
        }
    }
}

fn barrier(id: u64, handles: Vec<u64>, fetch: bool) -> pb::Command {
    pb::Command {
        command: Some(pb::command::Command::Barrier(pb::Barrier {
            id,
            handles,
            fetch,
        })),
    }
}

fn op(c: pb::OpCall) -> pb::Command {
    pb::Command {
        command: Some(pb::command::Command::Call(c)),
    }
}

fn reply_error(r: &pb::BarrierReply) -> Error {
    Error::from_detail(r.error.as_ref().expect("an error"))
}

#[tokio::test]
async fn barriers_answer_on_the_execute_stream() {
    let srv = server().await;
    let mut c = raw(&srv.url()).await;
    let opened = open_response(&mut c, 0).await;
    assert_eq!(opened.protocol_minor, ndserve_proto::PROTOCOL_MINOR);
    let s = opened.session_id;
    let meta = Meta::new(DType::Float64, vec![3]);
    let data: Vec<u8> = [1.5f64, -2.0, 0.25]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    upload(&mut c, &s, 1, &meta, data).await.expect("upload");
    let big = Meta::new(DType::Float64, vec![8193]); // one element over 64 KiB
    upload(&mut c, &s, 4, &big, vec![0; 8193 * 8])
        .await
        .expect("upload");

    let (tx, rx) = futures::channel::mpsc::unbounded::<pb::ExecuteRequest>();
    let send = |commands: Vec<pb::Command>| {
        tx.unbounded_send(pb::ExecuteRequest {
            session_id: s.clone(),
            commands,
        })
        .expect("stream open")
    };
    send(vec![]);
    let mut events = c.execute(rx).await.expect("execute").into_inner();

    // An op, then a barrier that fetches its result.
    send(vec![
        op(call(
            "add",
            vec![handle(1), handle(1)],
            vec![2],
            Attrs::new(),
        )),
        barrier(7, vec![2], true),
    ]);
    let r = next_barrier(&mut events).await;
    assert_eq!(r.id, 7);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.arrays.len(), 1);
    assert_eq!(
        Meta::from_wire(r.arrays[0].meta.as_ref().unwrap()).unwrap(),
        meta
    );
    let want: Vec<u8> = [3.0f64, -4.0, 0.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(&r.arrays[0].data[..], &want[..]);

    // A sync: no data; an empty barrier waits for everything before it.
    send(vec![
        barrier(8, vec![1, 2], false),
        barrier(9, vec![], false),
    ]);
    let r = next_barrier(&mut events).await;
    assert_eq!((r.id, r.error.is_none(), r.arrays.len()), (8, true, 0));
    let r = next_barrier(&mut events).await;
    assert_eq!((r.id, r.error.is_none()), (9, true));

    // An unknown handle; a failed op's output carries the op's error.
    send(vec![
        barrier(10, vec![999], false),
        op(call("negative", vec![handle(998)], vec![3], Attrs::new())),
        barrier(11, vec![3], true),
    ]);
    let r = next_barrier(&mut events).await;
    assert_eq!((r.id, reply_error(&r).code()), (10, ErrorCode::NotFound));
    let r = next_barrier(&mut events).await;
    assert_eq!((r.id, reply_error(&r).code()), (11, ErrorCode::NotFound));
    assert!(r.arrays.is_empty());

    // A handle whose op comes after the barrier is refused rather than waited for (which
    // would stall the session); once the op has run, it is there.
    send(vec![
        barrier(12, vec![5], false),
        op(call("negative", vec![handle(1)], vec![5], Attrs::new())),
        barrier(13, vec![5], false),
    ]);
    let r = next_barrier(&mut events).await;
    let e = reply_error(&r);
    assert_eq!((r.id, e.code()), (12, ErrorCode::InvalidArgument), "{e}");
    assert!(e.to_string().contains("before the op"), "{e}");
    let r = next_barrier(&mut events).await;
    assert_eq!((r.id, r.error.is_none()), (13, true));

    // More than 64 KiB does not come inline; a sync of it does.
    send(vec![
        barrier(14, vec![4], true),
        barrier(15, vec![4], false),
    ]);
    let r = next_barrier(&mut events).await;
    let e = reply_error(&r);
    assert_eq!((r.id, e.code()), (14, ErrorCode::InvalidArgument), "{e}");
    assert!(e.to_string().contains("65536"), "{e}");
    let r = next_barrier(&mut events).await;
    assert_eq!((r.id, r.error.is_none()), (15, true));

    // The unary calls still work beside it.
    c.sync(pb::SyncRequest {
        session_id: s.clone(),
        handles: vec![5],
        after_seq: 0,
    })
    .await
    .expect("sync");
    assert_eq!(fetch_bytes(&mut c, &s, 2).await, want);
}
