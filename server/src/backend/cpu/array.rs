//! The host array: one dtype-tagged, reference-counted n-d array.
//!
//! `ArcArray` makes views (transpose, broadcast, basic slicing) free and clones cheap;
//! arrays are immutable, so sharing is safe.

use bytes::Bytes;
use half::{bf16, f16};
use ndarray::{ArcArray, IxDyn};
use ndserve_proto::{DType, Error, Meta, Result};
use num_complex::{Complex32, Complex64};

/// An n-d array of element type `T`, shared.
pub type Nd<T> = ArcArray<T, IxDyn>;

/// A host array of any supported dtype.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum HostArray {
    Bool(Nd<bool>),
    I8(Nd<i8>),
    I16(Nd<i16>),
    I32(Nd<i32>),
    I64(Nd<i64>),
    U8(Nd<u8>),
    U16(Nd<u16>),
    U32(Nd<u32>),
    U64(Nd<u64>),
    F16(Nd<f16>),
    BF16(Nd<bf16>),
    F32(Nd<f32>),
    F64(Nd<f64>),
    C64(Nd<Complex32>),
    C128(Nd<Complex64>),
}

/// Runs `$body` with `$a` bound to the typed array inside a [`HostArray`], and `$T` to its
/// element type.
#[macro_export]
macro_rules! with_array {
    ($arr:expr, $a:ident, $T:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use half::{bf16, f16};
        #[allow(unused_imports)]
        use num_complex::{Complex32, Complex64};
        use $crate::backend::cpu::array::HostArray as __H;
        match $arr {
            __H::Bool($a) => {
                type $T = bool;
                $body
            }
            __H::I8($a) => {
                type $T = i8;
                $body
            }
            __H::I16($a) => {
                type $T = i16;
                $body
            }
            __H::I32($a) => {
                type $T = i32;
                $body
            }
            __H::I64($a) => {
                type $T = i64;
                $body
            }
            __H::U8($a) => {
                type $T = u8;
                $body
            }
            __H::U16($a) => {
                type $T = u16;
                $body
            }
            __H::U32($a) => {
                type $T = u32;
                $body
            }
            __H::U64($a) => {
                type $T = u64;
                $body
            }
            __H::F16($a) => {
                type $T = f16;
                $body
            }
            __H::BF16($a) => {
                type $T = bf16;
                $body
            }
            __H::F32($a) => {
                type $T = f32;
                $body
            }
            __H::F64($a) => {
                type $T = f64;
                $body
            }
            __H::C64($a) => {
                type $T = Complex32;
                $body
            }
            __H::C128($a) => {
                type $T = Complex64;
                $body
            }
        }
    }};
}

/// Runs `$body` with `$T` bound to the element type of a [`DType`].
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use half::{bf16, f16};
        use ndserve_proto::DType as __D;
        #[allow(unused_imports)]
        use num_complex::{Complex32, Complex64};
        match $dtype {
            __D::Bool => {
                type $T = bool;
                $body
            }
            __D::Int8 => {
                type $T = i8;
                $body
            }
            __D::Int16 => {
                type $T = i16;
                $body
            }
            __D::Int32 => {
                type $T = i32;
                $body
            }
            __D::Int64 => {
                type $T = i64;
                $body
            }
            __D::UInt8 => {
                type $T = u8;
                $body
            }
            __D::UInt16 => {
                type $T = u16;
                $body
            }
            __D::UInt32 => {
                type $T = u32;
                $body
            }
            __D::UInt64 => {
                type $T = u64;
                $body
            }
            __D::Float16 => {
                type $T = f16;
                $body
            }
            __D::BFloat16 => {
                type $T = bf16;
                $body
            }
            __D::Float32 => {
                type $T = f32;
                $body
            }
            __D::Float64 => {
                type $T = f64;
                $body
            }
            __D::Complex64 => {
                type $T = Complex32;
                $body
            }
            __D::Complex128 => {
                type $T = Complex64;
                $body
            }
        }
    }};
}

/// An element type of a [`HostArray`].
pub trait Element: Copy + Send + Sync + Default + std::fmt::Debug + PartialEq + 'static {
    /// Its dtype.
    const DTYPE: DType;
    /// Wraps a typed array.
    fn wrap(a: Nd<Self>) -> HostArray;
    /// The typed array inside `h`, if `h` has this element type.
    fn unwrap(h: &HostArray) -> Option<&Nd<Self>>;
    /// The element's little-endian bytes appended to `out`.
    fn extend_le(slice: &[Self], out: &mut Vec<u8>);
    /// An empty array of `n` elements to fill from little-endian bytes ([`LeFill`]).
    fn le_fill(n: usize) -> Box<dyn LeFill>;
    /// The array's little-endian bytes sharing its buffer (no copy), when it is laid out
    /// in C order and its elements are their own wire format.
    fn shared_le(_a: &Nd<Self>) -> Option<Bytes> {
        None
    }
}

/// A C-order array of plain-data elements seen as its bytes (the owner of a shared
/// [`Bytes`]).
struct PodBytes<T>(Nd<T>);

impl<T: bytemuck::Pod> AsRef<[u8]> for PodBytes<T> {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(self.0.as_slice().expect("checked to be in C order"))
    }
}

macro_rules! pod_element {
    ($($T:ty => $D:ident, $V:ident;)*) => {$(
        impl Element for $T {
            const DTYPE: DType = DType::$D;
            fn wrap(a: Nd<Self>) -> HostArray {
                HostArray::$V(a)
            }
            fn unwrap(h: &HostArray) -> Option<&Nd<Self>> {
                match h {
                    HostArray::$V(a) => Some(a),
                    _ => None,
                }
            }
            fn extend_le(slice: &[Self], out: &mut Vec<u8>) {
                out.extend_from_slice(bytemuck::cast_slice(slice));
            }
            fn le_fill(n: usize) -> Box<dyn LeFill> {
                Box::new(PodFill::<Self>::new(n))
            }
            fn shared_le(a: &Nd<Self>) -> Option<Bytes> {
                (cfg!(target_endian = "little") && a.as_slice().is_some())
                    .then(|| Bytes::from_owner(PodBytes(a.clone())))
            }
        }
    )*};
}

pod_element! {
    i8 => Int8, I8;
    i16 => Int16, I16;
    i32 => Int32, I32;
    i64 => Int64, I64;
    u8 => UInt8, U8;
    u16 => UInt16, U16;
    u32 => UInt32, U32;
    u64 => UInt64, U64;
    f16 => Float16, F16;
    bf16 => BFloat16, BF16;
    f32 => Float32, F32;
    f64 => Float64, F64;
    Complex32 => Complex64, C64;
    Complex64 => Complex128, C128;
}

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn wrap(a: Nd<Self>) -> HostArray {
        HostArray::Bool(a)
    }
    fn unwrap(h: &HostArray) -> Option<&Nd<Self>> {
        match h {
            HostArray::Bool(a) => Some(a),
            _ => None,
        }
    }
    fn extend_le(slice: &[Self], out: &mut Vec<u8>) {
        out.extend(slice.iter().map(|&b| b as u8));
    }
    fn le_fill(n: usize) -> Box<dyn LeFill> {
        Box::new(BoolFill {
            v: Vec::with_capacity(n),
            n,
        })
    }
}

/// An array being built from its little-endian C-order bytes as they arrive in pieces
/// (an upload's chunks, cut anywhere, even inside an element): each byte is copied once,
/// into the array's own buffer.
pub trait LeFill: Send {
    /// Appends the next bytes; `false` (and nothing appended) when they would overflow
    /// the array.
    fn push(&mut self, bytes: &[u8]) -> bool;
    /// How many bytes have been appended.
    fn filled(&self) -> usize;
    /// The array of `shape`, once every byte has come (`None` before, or for a shape of
    /// another size).
    fn finish(self: Box<Self>, shape: &[usize]) -> Option<HostArray>;
}

/// [`LeFill`] of a plain-data element type, whose bytes are its wire format.
struct PodFill<T> {
    /// Capacity for `n` elements; length 0 until every byte has come.
    v: Vec<T>,
    n: usize,
    /// Bytes written into `v`'s spare capacity.
    filled: usize,
}

impl<T> PodFill<T> {
    fn new(n: usize) -> Self {
        PodFill {
            v: Vec::with_capacity(n),
            n,
            filled: 0,
        }
    }
}

impl<T: Element + bytemuck::Pod> LeFill for PodFill<T> {
    fn push(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > self.n * std::mem::size_of::<T>() - self.filled {
            return false;
        }
        // SAFETY: the destination is `bytes.len()` bytes of `v`'s allocation starting at
        // `filled`, within the `n` elements of its capacity (checked above), and cannot
        // overlap `bytes` (which `v` does not own). `v`'s length stays 0 until every byte
        // has been written.
        unsafe {
            let dst = self.v.as_mut_ptr().cast::<u8>().add(self.filled);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        }
        self.filled += bytes.len();
        true
    }

    fn filled(&self) -> usize {
        self.filled
    }

    fn finish(mut self: Box<Self>, shape: &[usize]) -> Option<HostArray> {
        if self.filled != self.n * std::mem::size_of::<T>() {
            return None;
        }
        // SAFETY: every byte of the first `n` elements was written, and any bytes are a
        // valid `T` (`Pod`).
        unsafe { self.v.set_len(self.n) };
        let v = std::mem::take(&mut self.v);
        let a = ndarray::Array::from_shape_vec(IxDyn(shape), v).ok()?;
        Some(T::wrap(a.into_shared()))
    }
}

/// [`LeFill`] of bools: one byte each, nonzero is `true`.
struct BoolFill {
    v: Vec<bool>,
    n: usize,
}

impl LeFill for BoolFill {
    fn push(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > self.n - self.v.len() {
            return false;
        }
        self.v.extend(bytes.iter().map(|&b| b != 0));
        true
    }

    fn filled(&self) -> usize {
        self.v.len()
    }

    fn finish(self: Box<Self>, shape: &[usize]) -> Option<HostArray> {
        if self.v.len() != self.n {
            return None;
        }
        let a = ndarray::Array::from_shape_vec(IxDyn(shape), self.v).ok()?;
        Some(bool::wrap(a.into_shared()))
    }
}

impl HostArray {
    /// The dtype.
    pub fn dtype(&self) -> DType {
        with_array!(self, _a, T => <T as Element>::DTYPE)
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        with_array!(self, a, _T => a.shape())
    }

    /// The meta.
    pub fn meta(&self) -> Meta {
        Meta::new(self.dtype(), self.shape().to_vec())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array!(self, a, _T => a.len())
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of element data.
    pub fn nbytes(&self) -> u64 {
        self.len() as u64 * self.dtype().itemsize() as u64
    }

    /// A typed view, when the dtype matches.
    pub fn typed<T: Element>(&self) -> Option<&Nd<T>> {
        T::unwrap(self)
    }

    /// A 0-d array holding `v`.
    pub fn scalar<T: Element>(v: T) -> HostArray {
        T::wrap(ArcArray::from_elem(IxDyn(&[]), v))
    }

    /// An empty array of `meta` to fill from its little-endian C-order bytes.
    pub fn le_fill(meta: &Meta) -> Box<dyn LeFill> {
        with_dtype!(meta.dtype, T => <T as Element>::le_fill(meta.numel()))
    }

    /// Builds an array from little-endian C-order bytes; the length must match exactly.
    pub fn from_le_bytes(meta: &Meta, bytes: &[u8]) -> Result<HostArray> {
        let want = meta.numel() as u64 * meta.dtype.itemsize() as u64;
        if bytes.len() as u64 != want {
            return Err(Error::invalid(
                "upload",
                "data",
                format!(
                    "got {} bytes, but shape {} of {} needs {want}",
                    bytes.len(),
                    ndserve_proto::shape::fmt_shape(&meta.shape),
                    meta.dtype
                ),
            ));
        }
        let mut fill = Self::le_fill(meta);
        if !fill.push(bytes) {
            return Err(Error::internal("upload", "the bytes overflow the array"));
        }
        fill.finish(&meta.shape)
            .ok_or_else(|| Error::internal("upload", "the bytes do not make the array"))
    }

    /// The data as little-endian C-order bytes sharing the array's buffer, when it can
    /// ([`Element::shared_le`]).
    pub fn shared_le_bytes(&self) -> Option<Bytes> {
        with_array!(self, a, T => <T as Element>::shared_le(a))
    }

    /// The data as little-endian bytes in C order (bools one byte each): the array's own
    /// buffer when it can be ([`Element::shared_le`]), else a copy.
    pub fn to_le_bytes(&self) -> Bytes {
        if let Some(b) = self.shared_le_bytes() {
            return b;
        }
        with_array!(self, a, T => {
            let mut out = Vec::with_capacity(a.len() * std::mem::size_of::<T>());
            match a.as_slice() {
                Some(s) => <T as Element>::extend_le(s, &mut out),
                None => {
                    let std = a.as_standard_layout();
                    <T as Element>::extend_le(std.as_slice().expect("standard layout"), &mut out);
                }
            }
            Bytes::from(out)
        })
    }
}
