//! Where arrays live: the device of an array, and moving it to another device.
//!
//! On a server with several workers every array lives on one device. Ops run where their
//! inputs live (an input on another worker is copied worker to worker, never through the
//! client); [`crate::Client::on_device`] scopes new arrays and ops to a device, and
//! [`Array::copy_to`] moves an array explicitly.

use ndserve_proto::{Attrs, Result};

use crate::array::Array;

impl Array {
    /// The device the array lives on (`worker/cpu:0`); waits until it is computed.
    ///
    /// # Errors
    ///
    /// The error of the op that computed it, or UNAVAILABLE when its worker is lost.
    pub async fn device(&self) -> Result<String> {
        self.sync().await?;
        let d = self.describe().await?;
        match d.error {
            Some(e) => Err(e),
            None => Ok(d.device),
        }
    }

    /// A copy of the array on `device` (`worker/cpu:0`, or a worker's name), made by the
    /// workers: the data never passes through the client.
    ///
    /// ```
    /// use ndserve_client::{Client, DType};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.arange_n(4)?;
    /// let here = a.device().await?;
    /// let b = a.copy_to(&here)?;
    /// assert_eq!(b.to_vec::<i64>().await?, vec![0, 1, 2, 3]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// An unknown device is INVALID_ARGUMENT when the copy runs (at the next sync).
    pub fn copy_to(&self, device: &str) -> Result<Array> {
        let mut out = self
            .client()
            .on_device(device)
            .call("copy", &[self.into()], Attrs::new())?;
        Ok(out.remove(0))
    }
}
