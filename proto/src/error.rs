//! One error type for the whole system, with stable codes that survive the wire.
//!
//! Every variant names the op (and the argument) at fault. [`Error`] converts to a
//! `tonic::Status` whose details carry a [`crate::pb::ErrorDetail`], from which the client
//! rebuilds the same [`Error`].

use prost::Message;

/// Stable error codes, one per gRPC status code that ndserve uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Bad shapes, dtypes, axes or attributes (NumPy's ValueError/TypeError/IndexError).
    InvalidArgument,
    /// Unknown session or handle.
    NotFound,
    /// Over a memory limit or an absurd size.
    ResourceExhausted,
    /// Incompatible protocol or a state that forbids the call.
    FailedPrecondition,
    /// A worker or the server is gone; the call may succeed later.
    Unavailable,
    /// An op the server does not know.
    Unimplemented,
    /// The call was cancelled.
    Cancelled,
    /// A bug in ndserve.
    Internal,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::InvalidArgument,
        ErrorCode::NotFound,
        ErrorCode::ResourceExhausted,
        ErrorCode::FailedPrecondition,
        ErrorCode::Unavailable,
        ErrorCode::Unimplemented,
        ErrorCode::Cancelled,
        ErrorCode::Internal,
    ];

    /// The gRPC status code name (`"INVALID_ARGUMENT"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Unimplemented => "UNIMPLEMENTED",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// Parses [`ErrorCode::as_str`].
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The gRPC status code.
    pub fn grpc(self) -> tonic::Code {
        match self {
            ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::ResourceExhausted => tonic::Code::ResourceExhausted,
            ErrorCode::FailedPrecondition => tonic::Code::FailedPrecondition,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Unimplemented => tonic::Code::Unimplemented,
            ErrorCode::Cancelled => tonic::Code::Cancelled,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorCode::Unavailable)
    }
}

/// The error of every ndserve call.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument NumPy would reject (ValueError, TypeError, IndexError, AxisError).
    #[error("{op}: argument '{arg}': {message}")]
    InvalidArgument {
        /// The op.
        op: String,
        /// The argument at fault.
        arg: String,
        /// What is wrong, in NumPy's words where NumPy has them.
        message: String,
    },
    /// Operands whose shapes do not broadcast.
    #[error(
        "{op}: operands could not be broadcast together with shapes {} {}",
        crate::shape::fmt_shape(lhs),
        crate::shape::fmt_shape(rhs)
    )]
    ShapeMismatch {
        /// The op.
        op: String,
        /// First shape.
        lhs: Vec<usize>,
        /// Second shape.
        rhs: Vec<usize>,
    },
    /// An axis outside `-ndim..ndim`.
    #[error("{op}: argument 'axis': axis {axis} is out of bounds for array of dimension {ndim}")]
    AxisOutOfRange {
        /// The op.
        op: String,
        /// The axis given.
        axis: i64,
        /// The array's rank.
        ndim: usize,
    },
    /// A dtype the op does not accept.
    #[error("{op}: argument '{arg}': {message}")]
    UnsupportedDType {
        /// The op.
        op: String,
        /// The argument.
        arg: String,
        /// NumPy's message.
        message: String,
    },
    /// An unknown session or handle.
    #[error("{what} not found{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    NotFound {
        /// What was looked up ("handle 7", "session ab12...").
        what: String,
        /// Detail.
        message: String,
    },
    /// A memory limit or an absurd size.
    #[error("{op}: {message}")]
    ResourceExhausted {
        /// The op or request.
        op: String,
        /// Detail: the size asked for and the limit.
        message: String,
    },
    /// The server cannot serve this call in its state (protocol version, closed session).
    #[error("failed precondition: {message}")]
    FailedPrecondition {
        /// Detail.
        message: String,
    },
    /// A worker or the server is not reachable.
    #[error("unavailable: {message}")]
    Unavailable {
        /// Detail.
        message: String,
    },
    /// An op the server does not know.
    #[error("unknown op '{op}'")]
    UnknownOp {
        /// The name asked for.
        op: String,
    },
    /// The call was cancelled.
    #[error("cancelled: {message}")]
    Cancelled {
        /// Detail.
        message: String,
    },
    /// A bug in ndserve.
    #[error("internal error in {op}: {message}")]
    Internal {
        /// Where.
        op: String,
        /// Detail.
        message: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An invalid argument of `op`.
    pub fn invalid(op: &str, arg: &str, message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            op: op.to_string(),
            arg: arg.to_string(),
            message: message.into(),
        }
    }

    /// A dtype `op` does not accept.
    pub fn dtype(op: &str, arg: &str, message: impl Into<String>) -> Error {
        Error::UnsupportedDType {
            op: op.to_string(),
            arg: arg.to_string(),
            message: message.into(),
        }
    }

    /// NumPy's "ufunc 'x' not supported for the input types".
    pub fn no_loop(op: &str, dtypes: &[crate::DType]) -> Error {
        let names: Vec<&str> = dtypes.iter().map(|d| d.name()).collect();
        Error::dtype(
            op,
            "dtype",
            format!(
                "ufunc '{op}' not supported for the input types ({})",
                names.join(", ")
            ),
        )
    }

    /// A bug.
    pub fn internal(op: &str, message: impl Into<String>) -> Error {
        Error::Internal {
            op: op.to_string(),
            message: message.into(),
        }
    }

    /// Over a limit.
    pub fn exhausted(op: &str, message: impl Into<String>) -> Error {
        Error::ResourceExhausted {
            op: op.to_string(),
            message: message.into(),
        }
    }

    /// An unknown handle.
    pub fn handle_not_found(handle: u64) -> Error {
        Error::NotFound {
            what: format!("handle {handle}"),
            message: "it was never created in this session, or it was released".into(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument { .. }
            | Error::ShapeMismatch { .. }
            | Error::AxisOutOfRange { .. }
            | Error::UnsupportedDType { .. } => ErrorCode::InvalidArgument,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::ResourceExhausted { .. } => ErrorCode::ResourceExhausted,
            Error::FailedPrecondition { .. } => ErrorCode::FailedPrecondition,
            Error::Unavailable { .. } => ErrorCode::Unavailable,
            Error::UnknownOp { .. } => ErrorCode::Unimplemented,
            Error::Cancelled { .. } => ErrorCode::Cancelled,
            Error::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.code().is_retryable()
    }

    /// The op the error names, if any.
    pub fn op(&self) -> Option<&str> {
        match self {
            Error::InvalidArgument { op, .. }
            | Error::ShapeMismatch { op, .. }
            | Error::AxisOutOfRange { op, .. }
            | Error::UnsupportedDType { op, .. }
            | Error::ResourceExhausted { op, .. }
            | Error::UnknownOp { op }
            | Error::Internal { op, .. } => Some(op),
            _ => None,
        }
    }

    /// The argument the error names, if any.
    pub fn argument(&self) -> Option<&str> {
        match self {
            Error::InvalidArgument { arg, .. } | Error::UnsupportedDType { arg, .. } => Some(arg),
            Error::AxisOutOfRange { .. } => Some("axis"),
            Error::ShapeMismatch { .. } => Some("shape"),
            _ => None,
        }
    }

    /// The same error, attributed to `op` (used when an op fails inside another one).
    pub fn with_op(self, new_op: &str) -> Error {
        match self {
            Error::InvalidArgument { arg, message, .. } => Error::InvalidArgument {
                op: new_op.into(),
                arg,
                message,
            },
            Error::ShapeMismatch { lhs, rhs, .. } => Error::ShapeMismatch {
                op: new_op.into(),
                lhs,
                rhs,
            },
            Error::AxisOutOfRange { axis, ndim, .. } => Error::AxisOutOfRange {
                op: new_op.into(),
                axis,
                ndim,
            },
            Error::UnsupportedDType { arg, message, .. } => Error::UnsupportedDType {
                op: new_op.into(),
                arg,
                message,
            },
            e => e,
        }
    }

    /// The wire detail.
    pub fn to_detail(&self) -> crate::pb::ErrorDetail {
        crate::pb::ErrorDetail {
            code: self.code().as_str().to_string(),
            op: self.op().unwrap_or_default().to_string(),
            argument: self.argument().unwrap_or_default().to_string(),
            message: self.to_string(),
        }
    }

    /// Rebuilds an error from its wire detail.
    pub fn from_detail(d: &crate::pb::ErrorDetail) -> Error {
        let code = ErrorCode::parse(&d.code).unwrap_or(ErrorCode::Internal);
        Error::from_parts(code, &d.op, &d.argument, &d.message)
    }

    fn from_parts(code: ErrorCode, op: &str, arg: &str, message: &str) -> Error {
        let m = message.to_string();
        match code {
            ErrorCode::InvalidArgument => Error::InvalidArgument {
                op: op.into(),
                arg: arg.into(),
                message: strip_prefix(message, op, arg),
            },
            ErrorCode::NotFound => Error::NotFound {
                what: m,
                message: String::new(),
            },
            ErrorCode::ResourceExhausted => Error::ResourceExhausted {
                op: op.into(),
                message: message
                    .strip_prefix(&format!("{op}: "))
                    .unwrap_or(message)
                    .into(),
            },
            ErrorCode::FailedPrecondition => Error::FailedPrecondition { message: m },
            ErrorCode::Unavailable => Error::Unavailable { message: m },
            ErrorCode::Unimplemented => Error::UnknownOp { op: op.into() },
            ErrorCode::Cancelled => Error::Cancelled { message: m },
            ErrorCode::Internal => Error::Internal {
                op: op.into(),
                message: m,
            },
        }
    }

    /// The error of a failed gRPC call: the remote side's typed error from the status
    /// details, or [`Error::Unavailable`] for a transport failure on this side (connection
    /// refused or lost, a channel not ready).
    pub fn from_call(s: tonic::Status) -> Error {
        let local_transport = s.details().is_empty()
            && s.code() == tonic::Code::Unknown
            && (std::error::Error::source(&s).is_some()
                || s.message().starts_with("Service was not ready"));
        if local_transport {
            return Error::Unavailable {
                message: s.message().to_string(),
            };
        }
        Error::from_status(&s)
    }

    /// Rebuilds an error from a status: from its details when it carries them, otherwise
    /// from its code and message (a transport error, a proxy).
    pub fn from_status(status: &tonic::Status) -> Error {
        if let Ok(d) = crate::pb::ErrorDetail::decode(status.details())
            && !d.code.is_empty()
        {
            return Error::from_detail(&d);
        }
        let code = match status.code() {
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => ErrorCode::InvalidArgument,
            tonic::Code::NotFound => ErrorCode::NotFound,
            tonic::Code::ResourceExhausted => ErrorCode::ResourceExhausted,
            tonic::Code::FailedPrecondition | tonic::Code::AlreadyExists => {
                ErrorCode::FailedPrecondition
            }
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Aborted => {
                ErrorCode::Unavailable
            }
            tonic::Code::Unimplemented => ErrorCode::Unimplemented,
            tonic::Code::Cancelled => ErrorCode::Cancelled,
            _ => ErrorCode::Internal,
        };
        Error::from_parts(code, "", "", status.message())
    }
}

fn strip_prefix(message: &str, op: &str, arg: &str) -> String {
    let p = format!("{op}: argument '{arg}': ");
    message.strip_prefix(&p).unwrap_or(message).to_string()
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> tonic::Status {
        let detail = e.to_detail().encode_to_vec();
        tonic::Status::with_details(e.code().grpc(), e.to_string(), detail.into())
    }
}

impl From<tonic::Status> for Error {
    fn from(s: tonic::Status) -> Error {
        Error::from_status(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<Error> {
        vec![
            Error::invalid("add", "x2", "bad"),
            Error::ShapeMismatch {
                op: "add".into(),
                lhs: vec![2, 3],
                rhs: vec![4],
            },
            Error::AxisOutOfRange {
                op: "sum".into(),
                axis: 3,
                ndim: 2,
            },
            Error::dtype("floor_divide", "x1", "no loop"),
            Error::handle_not_found(7),
            Error::exhausted("zeros", "too big"),
            Error::FailedPrecondition {
                message: "old client".into(),
            },
            Error::Unavailable {
                message: "worker gone".into(),
            },
            Error::UnknownOp {
                op: "frobnicate".into(),
            },
            Error::Cancelled {
                message: "stop".into(),
            },
            Error::internal("matmul", "bug"),
        ]
    }

    #[test]
    fn every_code_survives_a_status() {
        let mut seen = std::collections::HashSet::new();
        for e in one_of_each() {
            let status = tonic::Status::from(e.clone());
            assert_eq!(status.code(), e.code().grpc());
            let back = Error::from(status);
            assert_eq!(back.code(), e.code(), "{e}");
            if let Some(op) = e.op() {
                assert_eq!(back.op(), Some(op), "{e}");
            }
            seen.insert(e.code());
        }
        assert_eq!(seen.len(), ErrorCode::ALL.len(), "every code is exercised");
    }

    #[test]
    fn invalid_argument_keeps_op_argument_and_message() {
        let e = Error::invalid(
            "reshape",
            "shape",
            "cannot reshape array of size 6 into shape (4,)",
        );
        let back = Error::from(tonic::Status::from(e.clone()));
        assert_eq!(back, e);
    }

    #[test]
    fn a_plain_status_maps_by_code() {
        let e = Error::from(tonic::Status::unavailable("connection refused"));
        assert_eq!(e.code(), ErrorCode::Unavailable);
        assert!(e.is_retryable());
    }
}
