//! Unit tests of what the client puts on the wire, without a server: the test client's
//! command queue is read directly.

use ndserve_proto::{Attr, Attrs, DType, Error, Scalar, pb};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{Axis, Client, Idx, Operand};

/// The next queued op call, skipping releases and barriers.
fn next_call(rx: &mut UnboundedReceiver<pb::Command>) -> pb::OpCall {
    loop {
        match rx.try_recv().expect("a queued command").command {
            Some(pb::command::Command::Call(c)) => return c,
            Some(pb::command::Command::Release(_) | pb::command::Command::Barrier(_)) => {}
            None => panic!("empty command"),
        }
    }
}

fn attrs_of(c: &pb::OpCall) -> Attrs {
    Attrs::from_wire(&c.attrs).expect("valid attrs")
}

fn handle(h: u64) -> pb::Operand {
    pb::Operand {
        kind: Some(pb::operand::Kind::Handle(h)),
    }
}

fn scalar(s: Scalar) -> pb::Operand {
    pb::Operand {
        kind: Some(pb::operand::Kind::Scalar(s.to_wire())),
    }
}

#[tokio::test]
async fn ops_are_queued_with_client_allocated_handles() {
    let (client, mut rx) = Client::detached();
    let a = client.fake_array(DType::Float32, &[2, 3]);
    let b = client.fake_array(DType::Float32, &[3]);
    let c = a.add(&b).unwrap();
    assert_eq!((c.dtype(), c.shape()), (DType::Float32, &[2usize, 3][..]));
    assert_eq!(client.sent_seq(), 1);
    let call = next_call(&mut rx);
    assert_eq!(call.op, "add");
    assert_eq!(call.inputs, vec![handle(a.handle()), handle(b.handle())]);
    assert_eq!(call.outputs, vec![c.handle()]);
    assert!(call.attrs.is_empty());
    assert_eq!(call.device, "");
    assert!(c.handle() > b.handle());
}

#[tokio::test]
async fn errors_come_before_anything_is_sent() {
    let (client, mut rx) = Client::detached();
    let a = client.fake_array(DType::Float32, &[2, 3]);
    let b = client.fake_array(DType::Float32, &[4]);
    let e = a.add(&b).unwrap_err();
    assert!(
        matches!(e, Error::ShapeMismatch { ref op, .. } if op == "add"),
        "{e:?}"
    );
    let e = a.sum(2, false).unwrap_err();
    assert!(
        matches!(
            e,
            Error::AxisOutOfRange {
                axis: 2,
                ndim: 2,
                ..
            }
        ),
        "{e:?}"
    );
    let e = a.reshape(&[4, -1]).unwrap_err();
    assert_eq!(e.op(), Some("reshape"));
    let e = client.call("no_such_op", &[], Attrs::new()).unwrap_err();
    assert!(matches!(e, Error::UnknownOp { .. }));
    let b = client.fake_array(DType::Bool, &[2]);
    let e = b.subtract(true).unwrap_err();
    assert!(matches!(e, Error::UnsupportedDType { .. }), "{e:?}");
    assert_eq!(client.sent_seq(), 0);
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn arrays_of_another_client_are_rejected() {
    let (c1, _rx1) = Client::detached();
    let (c2, _rx2) = Client::detached();
    let a = c1.fake_array(DType::Int64, &[2]);
    let b = c2.fake_array(DType::Int64, &[2]);
    let e = a.add(&b).unwrap_err();
    assert_eq!(e.argument(), Some("inputs[1]"));
}

#[tokio::test]
async fn dropping_the_last_clone_releases() {
    let (client, mut rx) = Client::detached();
    let a = client.fake_array(DType::Int8, &[1]);
    let h = a.handle();
    let a2 = a.clone();
    drop(a);
    assert!(rx.try_recv().is_err());
    drop(a2);
    let cmd = rx.try_recv().unwrap().command;
    assert_eq!(
        cmd,
        Some(pb::command::Command::Release(pb::Release {
            handles: vec![h]
        }))
    );
    assert_eq!(client.sent_seq(), 1);
}

#[tokio::test]
async fn reductions_use_numpy_attribute_names() {
    let (client, mut rx) = Client::detached();
    let a = client.fake_array(DType::Int8, &[2, 3, 4]);
    let s = a.sum(None, false).unwrap();
    assert_eq!((s.dtype(), s.ndim()), (DType::Int64, 0));
    assert_eq!(attrs_of(&next_call(&mut rx)), Attrs::new());
    let s = a.sum([0, -1], true).unwrap();
    assert_eq!(s.shape(), &[1, 3, 1]);
    let call = next_call(&mut rx);
    assert_eq!(call.op, "sum");
    assert_eq!(
        attrs_of(&call),
        Attrs::new()
            .with("axis", Attr::Ints(vec![0, -1]))
            .with("keepdims", Attr::Bool(true))
    );
    let m = a.mean_as(Axis::One(1), false, DType::Float32).unwrap();
    assert_eq!((m.dtype(), m.shape()), (DType::Float32, &[2usize, 4][..]));
    assert_eq!(
        attrs_of(&next_call(&mut rx)),
        Attrs::new()
            .with("axis", Attr::Int(1))
            .with("dtype", Attr::DType(DType::Float32))
    );
    let i = a.argmax(Some(-1)).unwrap();
    assert_eq!((i.dtype(), i.shape()), (DType::Int64, &[2usize, 3][..]));
    assert_eq!(a.argmin(None).unwrap().ndim(), 0);
    assert_eq!(a.all(None, true).unwrap().shape(), &[1, 1, 1]);
    assert_eq!(a.max(0, false).unwrap().dtype(), DType::Int8);
}

#[tokio::test]
async fn shape_ops_and_indexing() {
    let (client, mut rx) = Client::detached();
    let a = client.fake_array(DType::Float64, &[2, 3, 4]);
    assert_eq!(a.reshape(&[4, -1]).unwrap().shape(), &[4, 6]);
    assert_eq!(
        attrs_of(&next_call(&mut rx)),
        Attrs::new().with("shape", Attr::Ints(vec![4, -1]))
    );
    assert_eq!(a.t().unwrap().shape(), &[4, 3, 2]);
    assert_eq!(a.transpose(Some(&[1, 0, 2])).unwrap().shape(), &[3, 2, 4]);
    assert_eq!(a.ravel().unwrap().shape(), &[24]);
    assert_eq!(a.expand_dims(0).unwrap().shape(), &[1, 2, 3, 4]);
    let one = client.fake_array(DType::Float64, &[1, 3, 1]);
    assert_eq!(one.squeeze(None).unwrap().shape(), &[3]);
    assert_eq!(one.squeeze(-1).unwrap().shape(), &[1, 3]);
    assert_eq!(one.broadcast_to(&[2, 3, 5]).unwrap().shape(), &[2, 3, 5]);
    let g = a
        .getitem(&[Idx::from(-1), (0..2).into(), Idx::NewAxis, Idx::step(-2)])
        .unwrap();
    assert_eq!(g.shape(), &[2, 1, 2]);
    assert_eq!(
        a.getitem(&[Idx::Ellipsis, 0.into()]).unwrap().shape(),
        &[2, 3]
    );
    assert!(a.getitem(&[5.into()]).is_err());
    assert_eq!(a.astype(DType::Int32).unwrap().dtype(), DType::Int32);
    let m = client.fake_array(DType::Float32, &[4, 5]);
    assert_eq!(a.matmul(&m).unwrap().shape(), &[2, 3, 5]);
    assert_eq!(a.matmul(&m).unwrap().dtype(), DType::Float64);
    assert!(m.matmul(&a).is_err());
    assert_eq!(a.dot(&m).unwrap().shape(), &[2, 3, 5]);
}

#[tokio::test]
async fn creation_ops() {
    let (client, mut rx) = Client::detached();
    let z = client.zeros(&[2, 3], DType::Int16).unwrap();
    assert_eq!((z.dtype(), z.shape()), (DType::Int16, &[2usize, 3][..]));
    let call = next_call(&mut rx);
    assert_eq!(call.op, "zeros");
    assert!(call.inputs.is_empty());
    assert_eq!(
        attrs_of(&call),
        Attrs::new()
            .with("shape", Attr::Ints(vec![2, 3]))
            .with("dtype", Attr::DType(DType::Int16))
    );
    let f = client.full(&[2], 1.5, None).unwrap();
    assert_eq!(f.dtype(), DType::Float64);
    assert_eq!(next_call(&mut rx).inputs, vec![scalar(Scalar::Float(1.5))]);
    assert_eq!(
        client.full(&[2], 7, Some(DType::UInt8)).unwrap().dtype(),
        DType::UInt8
    );
    assert_eq!(client.full_like(&z, 2.5).unwrap().dtype(), DType::Int16);
    assert_eq!(client.ones_like(&z).unwrap().shape(), &[2, 3]);
    let r = client.arange(0, 10, 3, None).unwrap();
    assert_eq!((r.dtype(), r.shape()), (DType::Int64, &[4usize][..]));
    assert_eq!(client.arange(0.0, 1.0, 0.25, None).unwrap().shape(), &[4]);
    assert_eq!(client.arange_n(5).unwrap().shape(), &[5]);
    assert!(client.arange(0, 1, 0, None).is_err());
    let l = client.linspace(0.0, 1.0, 5).unwrap();
    assert_eq!((l.dtype(), l.shape()), (DType::Float64, &[5usize][..]));
    assert_eq!(
        client.eye(3, Some(4), 1, DType::Bool).unwrap().shape(),
        &[3, 4]
    );
    assert_eq!(client.identity(2, DType::Float32).unwrap().shape(), &[2, 2]);
    let a = client.fake_array(DType::Int8, &[2, 3]);
    let b = client.fake_array(DType::Float32, &[1, 3]);
    let c = client.concatenate(&[&a, &b], Some(0)).unwrap();
    assert_eq!((c.dtype(), c.shape()), (DType::Float32, &[3usize, 3][..]));
    let flat = client.concatenate(&[&a, &b], None).unwrap();
    assert_eq!(flat.shape(), &[9]);
    while let Ok(cmd) = rx.try_recv() {
        if let Some(pb::command::Command::Call(c)) = cmd.command
            && c.op == "concatenate"
            && c.outputs == vec![flat.handle()]
        {
            assert_eq!(attrs_of(&c).0.get("axis"), Some(&Attr::None));
        }
    }
    assert!(client.concatenate(&[&a, &b], Some(1)).is_err());
    let s = client.stack(&[&a, &a], -1).unwrap();
    assert_eq!(s.shape(), &[2, 3, 2]);
    assert!(client.stack(&[&a, &b], 0).is_err());
}

#[tokio::test]
async fn operators_follow_numpy_2_promotion() {
    let (client, mut rx) = Client::detached();
    let i8s = client.fake_array(DType::Int8, &[3]);
    let f32s = client.fake_array(DType::Float32, &[2, 1]);
    assert_eq!((&i8s + 1).unwrap().dtype(), DType::Int8);
    assert_eq!((&i8s * 1.5).unwrap().dtype(), DType::Float64);
    assert_eq!((&i8s / 2).unwrap().dtype(), DType::Float64);
    assert_eq!((&f32s * 2.0).unwrap().dtype(), DType::Float32);
    assert_eq!((&i8s + &f32s).unwrap().shape(), &[2, 3]);
    assert_eq!((&i8s + &f32s).unwrap().dtype(), DType::Float32);
    assert_eq!((-&i8s).unwrap().dtype(), DType::Int8);
    assert!((&i8s + 1000).is_err()); // NumPy 2: Python int out of bounds for int8
    while rx.try_recv().is_ok() {}
    // A scalar on the left keeps its place.
    let r = (2.0 - &f32s).unwrap();
    let call = next_call(&mut rx);
    assert_eq!(call.op, "subtract");
    assert_eq!(
        call.inputs,
        vec![scalar(Scalar::Float(2.0)), handle(f32s.handle())]
    );
    assert_eq!(call.outputs, vec![r.handle()]);
    // Result<Array> on either side, owned or borrowed.
    let x = ((&i8s + &i8s) * &i8s).unwrap();
    let y = (&x % (x.clone() - 1)).unwrap();
    let z = ((y + 1.0).unwrap() / x).unwrap();
    assert_eq!(z.dtype(), DType::Float64);
    // Bool operators.
    let b = client.fake_array(DType::Bool, &[3]);
    assert_eq!((&b & true).unwrap().dtype(), DType::Bool);
    assert_eq!((&b | &b).unwrap().dtype(), DType::Bool);
    assert_eq!((!&b).unwrap().dtype(), DType::Bool);
    while rx.try_recv().is_ok() {}
    let _ = (&b ^ &b).unwrap();
    assert_eq!(next_call(&mut rx).op, "logical_xor");
    assert!((&i8s & &i8s).is_err());
    assert!((!&i8s).is_err());
    assert!((-&b).is_err());
}

#[tokio::test]
async fn operator_literals_need_no_annotation() -> crate::Result<()> {
    let (client, _rx) = Client::detached();
    let a = client.fake_array(DType::Float32, &[2]);
    let b = ((&a + &a)? * 2.0)?;
    let c = (1 - (&b + 1)?)?;
    let d = (-(c / 2)?)?;
    assert_eq!(d.dtype(), DType::Float32);
    let e = (&a * num_complex::Complex::new(0.0, 1.0))?;
    assert_eq!(e.dtype(), DType::Complex64);
    Ok(())
}

#[tokio::test]
async fn generic_call_and_typed_methods_agree() {
    let (client, mut rx) = Client::detached();
    let a = client.fake_array(DType::Int32, &[4]);
    let via_call = client
        .call("sqrt", &[Operand::from(&a)], Attrs::new())
        .unwrap();
    let typed = a.sqrt().unwrap();
    assert_eq!(via_call[0].meta(), typed.meta());
    assert_eq!(typed.dtype(), DType::Float64);
    assert_eq!(a.abs().unwrap().dtype(), DType::Int32);
    assert_eq!(a.isnan().unwrap().dtype(), DType::Bool);
    assert_eq!(a.greater(2.5).unwrap().dtype(), DType::Bool);
    assert_eq!(a.r#mod(3).unwrap().dtype(), DType::Int32);
    assert_eq!(a.power(2).unwrap().dtype(), DType::Int32);
    assert_eq!(next_call(&mut rx).op, "sqrt");
    assert_eq!(next_call(&mut rx).op, "sqrt");
    assert_eq!(next_call(&mut rx).op, "abs");
    assert_eq!(next_call(&mut rx).op, "isnan");
    assert_eq!(next_call(&mut rx).op, "greater");
    assert_eq!(next_call(&mut rx).op, "mod");
}

#[tokio::test]
async fn local_metadata() {
    let (client, _rx) = Client::detached();
    let a = client.fake_array(DType::Complex64, &[3, 5]);
    assert_eq!(a.ndim(), 2);
    assert_eq!(a.size(), 15);
    assert_eq!(a.nbytes(), 120);
    assert!(a.to_string().contains("shape=(3,5), dtype=complex64"));
    assert!(a.client().session_id() == "test");
}
