//! The README's quickstart: the examples of tnp's module documentation through the SDK.
//!
//! `cargo run --example quickstart -p ndserve-client`

use ndserve_client::{Client, DType};

#[tokio::main]
async fn main() -> ndserve_client::Result<()> {
    let client = Client::embedded().await?;

    // print(tnp.ones([2, 1]) + np.ones([1, 2]))
    let a = (client.ones(&[2, 1], DType::Float64)? + client.ones(&[1, 2], DType::Float64)?)?;
    println!("{} {:?}", a.dtype(), a.shape());
    println!("{}", a.to_ndarray::<f64>().await?);

    // print(tnp.ones([1, 2], dtype=tnp.int16) + tnp.ones([2, 1], dtype=tnp.uint8))
    let b = (client.ones(&[1, 2], DType::Int16)? + client.ones(&[2, 1], DType::UInt8)?)?;
    println!("{} {:?}", b.dtype(), b.shape()); // int16: NumPy's promotion of int16 and uint8
    println!("{}", b.to_ndarray::<i16>().await?);

    // tnp.sum(tnp.ones([1, 2]) + tnp.ones([2, 1]))
    let c = (client.ones(&[1, 2], DType::Float64)? + client.ones(&[2, 1], DType::Float64)?)?;
    let total = c.sum(None, false)?;
    println!("{} {}", total.dtype(), total.item::<f64>().await?);

    client.close().await?;
    Ok(())
}
