//! The benchmark suite runs end to end with tiny sizes against an embedded server: every
//! workload produces its rows, with finite figures. Timings are not checked.

use ndserve_client::Client;
use ndserve_tests::bench::{Recorder, Row, ServerKind, Sizes, Unit, run_suite};

/// The rows [`Sizes::tiny`] must produce against an embedded server, in order.
fn expected_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "server_live_bytes_ratio",
        "rss_overhead_ratio",
        "live_bytes_after_release",
        "live_bytes_after_close",
        "rss_retained_after_close",
        "loopback_tcp",
        "grpc_unary_roundtrip_p50",
        "execute_stream_roundtrip_p50",
        "sync_roundtrip_p50",
        "fetch_roundtrip_p50",
        "grpc_unary_roundtrip_p99",
        "execute_stream_roundtrip_p99",
        "sync_roundtrip_p99",
        "fetch_roundtrip_p99",
        "grpc_unary_roundtrip_in_task_p50",
        "execute_stream_roundtrip_in_task_p50",
        "sync_roundtrip_in_task_p50",
        "fetch_roundtrip_in_task_p50",
        "grpc_unary_roundtrip_in_task_p99",
        "execute_stream_roundtrip_in_task_p99",
        "sync_roundtrip_in_task_p99",
        "fetch_roundtrip_in_task_p99",
        "pipelined_dependent_ops",
        "small_array_loop",
        "upload_64KiB",
        "fetch_64KiB",
        "host_memcpy_bandwidth",
    ]
    .map(String::from)
    .to_vec();
    let kernels = [
        ("add", true),
        ("muladd", true),
        ("exp", false),
        ("log", false),
        ("sin", false),
        ("sqrt", true),
        ("sum", true),
        ("mean_axis0", true),
        ("argmax", true),
        ("sort", false),
        ("cumsum", false),
        ("where", true),
    ];
    for dtype in ["f32", "f64"] {
        for (k, memory_bound) in kernels {
            names.push(format!("{k}_{dtype}"));
            if memory_bound {
                names.push(format!("{k}_{dtype}_bandwidth"));
            }
        }
        names.push(format!("muladd_unfused_{dtype}"));
        names.push(format!("muladd_fusion_speedup_{dtype}"));
    }
    names.push("memcpy_bandwidth".into());
    names.extend(["matmul_f32_32", "matmul_f64_32"].map(String::from));
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_suite_produces_every_row() {
    let client = Client::embedded().await.expect("embedded server");
    let mut printed = 0;
    let mut rec = Recorder::new(Vec::new(), |_: &Row| printed += 1);
    run_suite(&client, &Sizes::tiny(), ServerKind::Embedded, &mut rec)
        .await
        .expect("suite runs");
    let rows = rec.into_rows();
    assert_eq!(printed, rows.len());
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, expected_names());
    for r in &rows {
        assert!(r.value.is_finite(), "{r:?}");
        // Bytes left behind are 0 when all is well; every other figure is positive.
        if r.unit == Unit::Bytes {
            assert!(r.value >= 0.0, "{r:?}");
        } else {
            assert!(r.value > 0.0, "{r:?}");
        }
        if r.name.starts_with("live_bytes_after_") {
            assert_eq!(r.value, 0.0, "the server keeps arrays it freed: {r:?}");
        }
        if let Some(ratio) = r.ratio() {
            assert!(ratio.is_finite() && ratio > 0.0, "{r:?}");
        }
    }
    let with_ref = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .unwrap()
            .reference
            .clone()
    };
    assert_eq!(with_ref("upload_64KiB").unwrap().name, "loopback_tcp");
    for row in [
        "execute_stream_roundtrip_p99",
        "sync_roundtrip_p99",
        "fetch_roundtrip_p99",
    ] {
        assert_eq!(
            with_ref(row).unwrap().name,
            "grpc_unary_roundtrip_p99",
            "{row}"
        );
    }
    assert_eq!(
        with_ref("add_f64_bandwidth").unwrap().name,
        "host_memcpy_bandwidth"
    );
    client.close().await.expect("close");
}
