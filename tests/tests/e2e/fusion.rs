//! Elementwise fusion through the real client and server: chains whose intermediates the
//! client drops run as one fused op, with exactly the bits of the same chain run op by op
//! (intermediates kept alive, which keeps the server from fusing).

use ndarray::{ArrayD, IxDyn};
use ndserve_client::{Array, Attrs, Client, DType, Operand};

fn op(c: &Client, name: &str, inputs: &[Operand]) -> Array {
    c.call(name, inputs, Attrs::new())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .remove(0)
}

/// A chain: `x`, `y`, `z` are the inputs; each step is (op, operands) where `#k` names
/// step k's result.
type Chain = &'static [(&'static str, &'static [&'static str])];

const CHAINS: &[(&str, Chain)] = &[
    ("a*b+c", &[("multiply", &["x", "y"]), ("add", &["#0", "z"])]),
    (
        "exp(x - 1.5) / (y*y + 1)",
        &[
            ("subtract", &["x", "1.5"]),
            ("exp", &["#0"]),
            ("multiply", &["y", "y"]),
            ("add", &["#2", "1"]),
            ("divide", &["#1", "#3"]),
        ],
    ),
    (
        "maximum(x, 0) * 3 - z > 2",
        &[
            ("maximum", &["x", "0"]),
            ("multiply", &["#0", "3"]),
            ("subtract", &["#1", "z"]),
            ("greater", &["#2", "2"]),
        ],
    ),
];

fn operand(s: &str, xyz: &[Array; 3], results: &[Array]) -> Operand {
    match s {
        "x" => (&xyz[0]).into(),
        "y" => (&xyz[1]).into(),
        "z" => (&xyz[2]).into(),
        r if r.starts_with('#') => (&results[r[1..].parse::<usize>().unwrap()]).into(),
        "1.5" => 1.5f64.into(),
        n => n.parse::<i64>().unwrap().into(),
    }
}

/// Runs a chain keeping every result alive (op by op), or dropping the intermediates once
/// the chain is queued (fusable).
fn run(c: &Client, chain: Chain, xyz: &[Array; 3], keep: bool) -> (Array, Vec<Array>) {
    let mut results: Vec<Array> = Vec::new();
    for (name, args) in chain.iter() {
        let ins: Vec<Operand> = args.iter().map(|a| operand(a, xyz, &results)).collect();
        results.push(op(c, name, &ins));
    }
    let last = results.pop().expect("a chain has steps");
    if !keep {
        results.clear();
    }
    (last, results)
}

async fn sample(c: &Client, dtype: DType, n: usize, seed: u64) -> Array {
    let v: Vec<f64> = (0..n)
        .map(|i| {
            (((i as u64).wrapping_mul(2654435761).wrapping_add(seed * 97)) % 2001) as f64 / 100.0
                - 10.0
        })
        .collect();
    let a = c
        .upload(&ArrayD::from_shape_vec(IxDyn(&[n]), v).unwrap())
        .await
        .unwrap();
    let a = if dtype.is_inexact() {
        a
    } else {
        op(c, "trunc", &[(&a).into()])
    };
    a.astype(dtype).unwrap()
}

#[tokio::test]
async fn dropped_intermediates_run_fused_with_the_bits_of_the_unfused_chain() {
    let srv = super::server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    // Not a multiple of the kernel's chunk; over the fusion threshold.
    let n = 100_003;
    let mut fused_total = 0;
    for dtype in [
        DType::Float32,
        DType::Float64,
        DType::Float16,
        DType::Int8,
        DType::UInt16,
        DType::Complex64,
    ] {
        let xyz = [
            sample(&c, dtype, n, 1).await,
            sample(&c, dtype, n, 2).await,
            sample(&c, dtype, n, 3).await,
        ];
        for x in &xyz {
            x.sync().await.unwrap();
        }
        for (what, chain) in CHAINS {
            let (unfused, kept) = run(&c, chain, &xyz, true);
            let (ufm, ufb) = match unfused.fetch_bytes().await {
                Ok(r) => r,
                Err(_) => continue, // NumPy has no loop for this dtype (complex maximum > ...)
            };
            drop(kept);
            let before = c.stats().await.unwrap().ops_fused;
            let (fused, _) = run(&c, chain, &xyz, false);
            let (fm, fb) = fused.fetch_bytes().await.unwrap();
            let after = c.stats().await.unwrap().ops_fused;
            assert_eq!(fm, ufm, "{what} {dtype}: meta");
            assert!(fb == ufb, "{what} {dtype}: fused bits differ from unfused");
            assert_eq!(
                after - before,
                chain.len() as u64,
                "{what} {dtype}: the whole chain should run fused"
            );
            fused_total += after - before;
        }
    }
    assert!(fused_total > 0);
}

#[tokio::test]
async fn kept_intermediates_small_arrays_and_broadcasts_run_unfused() {
    let srv = super::server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let big = sample(&c, DType::Float32, 100_000, 1).await;
    let small = sample(&c, DType::Float32, 1000, 2).await;
    big.sync().await.unwrap();
    small.sync().await.unwrap();
    let fused = || async { c.stats().await.unwrap().ops_fused };
    let before = fused().await;
    // Kept intermediate: t is still held.
    let t = op(&c, "multiply", &[(&big).into(), (&big).into()]);
    let d = op(&c, "add", &[(&t).into(), 1.0f64.into()]);
    d.sync().await.unwrap();
    // Small arrays.
    let s = op(
        &c,
        "add",
        &[
            (&op(&c, "multiply", &[(&small).into(), 2.0f64.into()])).into(),
            1.0f64.into(),
        ],
    );
    s.sync().await.unwrap();
    // Operands that broadcast: (100, 1) + (1000,) gives (100, 1000).
    let col = sample(&c, DType::Float32, 100, 3)
        .await
        .reshape(&[100, 1])
        .unwrap();
    let row = sample(&c, DType::Float32, 1000, 4).await;
    let g = op(
        &c,
        "multiply",
        &[
            (&op(&c, "add", &[(&col).into(), (&row).into()])).into(),
            2.0f64.into(),
        ],
    );
    assert_eq!(g.shape(), &[100, 1000]);
    g.sync().await.unwrap();
    assert_eq!(fused().await, before, "nothing above may run fused");
    // The results are right: t + 1 from the kept t.
    let tv = t.to_vec::<f32>().await.unwrap();
    let dv = d.to_vec::<f32>().await.unwrap();
    assert!(tv.iter().zip(&dv).all(|(t, d)| *d == *t + 1.0));
}
