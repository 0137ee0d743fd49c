//! Result rows, their references and ratios, and the two ways they are printed: one JSON
//! object per line (for machines) and a table (for people).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

/// The unit of a figure, which also says which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds (lower is better).
    Micros,
    /// Milliseconds (lower is better).
    Millis,
    /// Operations per second (higher is better).
    OpsPerSec,
    /// Gigabytes (1e9 bytes) per second (higher is better).
    GBps,
    /// Billions of floating-point operations per second (higher is better).
    GFlops,
    /// A dimensionless ratio (no direction: these rows never have a reference).
    Ratio,
    /// Bytes (no direction: these rows never have a reference).
    Bytes,
}

impl Unit {
    /// The unit as printed (`us`, `ms`, `ops/s`, `GB/s`, `GFLOP/s`, `x`, `bytes`).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Micros => "us",
            Unit::Millis => "ms",
            Unit::OpsPerSec => "ops/s",
            Unit::GBps => "GB/s",
            Unit::GFlops => "GFLOP/s",
            Unit::Ratio => "x",
            Unit::Bytes => "bytes",
        }
    }

    /// Parses [`Unit::as_str`]'s form.
    pub fn parse(s: &str) -> Option<Unit> {
        [
            Unit::Micros,
            Unit::Millis,
            Unit::OpsPerSec,
            Unit::GBps,
            Unit::GFlops,
            Unit::Ratio,
            Unit::Bytes,
        ]
        .into_iter()
        .find(|u| u.as_str() == s)
    }

    /// Whether the unit is a time, where lower is better.
    pub fn is_time(self) -> bool {
        matches!(self, Unit::Micros | Unit::Millis)
    }
}

/// A figure measured elsewhere that a row is compared with.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// What was measured: `numpy.add_f64`, `loopback_tcp`, `grpc_unary_roundtrip_p50`.
    pub name: String,
    /// Its value, in the row's unit.
    pub value: f64,
}

/// One measured figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The workload's name, stable across runs (`sync_roundtrip_p50`, `add_f32`).
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
    /// What it is compared with, where a measured reference exists.
    pub reference: Option<Reference>,
}

impl Row {
    /// A row without a reference.
    pub fn new(name: impl Into<String>, value: f64, unit: Unit) -> Row {
        Row {
            name: name.into(),
            value,
            unit,
            reference: None,
        }
    }

    /// The same row compared with `value` of `name`.
    pub fn against(mut self, name: impl Into<String>, value: f64) -> Row {
        self.reference = Some(Reference {
            name: name.into(),
            value,
        });
        self
    }

    /// How much better than the reference this row is: above 1.0 ndserve wins. For times
    /// it is `reference / ours`, for throughputs `ours / reference`.
    pub fn ratio(&self) -> Option<f64> {
        let r = self.reference.as_ref()?;
        Some(if self.unit.is_time() {
            r.value / self.value
        } else {
            self.value / r.value
        })
    }

    /// The row as one JSON object: `name`, `value`, `unit`, and `ref_name`, `ref_value`
    /// and `ratio` where it has a reference.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"name": self.name, "value": self.value, "unit": self.unit.as_str()});
        if let (Some(r), Some(ratio)) = (&self.reference, self.ratio()) {
            v["ref_name"] = json!(r.name);
            v["ref_value"] = json!(r.value);
            v["ratio"] = json!(ratio);
        }
        v
    }
}

/// Collects rows as workloads produce them: attaches NumPy's figure to a row of the same
/// name that has no reference yet, and hands each finished row to a sink (which prints it
/// at once, so a long run shows progress).
pub struct Recorder<'a> {
    rows: Vec<Row>,
    numpy: HashMap<String, Row>,
    sink: Box<dyn FnMut(&Row) + Send + 'a>,
}

impl<'a> Recorder<'a> {
    /// A recorder with NumPy's rows (from `bench/numpy_ref.py`; empty without NumPy).
    pub fn new(numpy: Vec<Row>, sink: impl FnMut(&Row) + Send + 'a) -> Recorder<'a> {
        Recorder {
            rows: Vec::new(),
            numpy: numpy.into_iter().map(|r| (r.name.clone(), r)).collect(),
            sink: Box::new(sink),
        }
    }

    /// Records a row (with NumPy's figure of the same name and unit when it has no other).
    pub fn record(&mut self, mut row: Row) {
        if row.reference.is_none()
            && let Some(np) = self.numpy.get(&row.name)
            && np.unit == row.unit
        {
            row = row.against(format!("numpy.{}", np.name), np.value);
        }
        (self.sink)(&row);
        self.rows.push(row);
    }

    /// Records a row compared with a row recorded earlier in this run (`loopback_tcp`);
    /// without that row it is recorded alone.
    pub fn record_against(&mut self, row: Row, earlier: &str) {
        match self.value(earlier) {
            Some(v) => self.record(row.against(earlier, v)),
            None => self.record(row),
        }
    }

    /// The value of a row recorded earlier in this run.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.name == name).map(|r| r.value)
    }

    /// The rows recorded so far.
    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }
}

/// Formats a figure with about four significant digits.
fn fmt_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

/// The rows as an aligned text table: name, value, unit, reference, its value, ratio.
pub fn table(rows: &[Row]) -> String {
    let header = ["name", "value", "unit", "reference", "ref value", "ratio"].map(String::from);
    let lines: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let (rn, rv) = r
                .reference
                .as_ref()
                .map_or((String::new(), String::new()), |x| {
                    (x.name.clone(), fmt_value(x.value))
                });
            let ratio = r.ratio().map_or(String::new(), |x| format!("{x:.2}"));
            [
                r.name.clone(),
                fmt_value(r.value),
                r.unit.as_str().to_string(),
                rn,
                rv,
                ratio,
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for l in std::iter::once(&header).chain(&lines) {
        let [name, value, unit, rn, rv, ratio] = l;
        let _ = writeln!(
            out,
            "{name:<w0$}  {value:>w1$}  {unit:<w2$}  {rn:<w3$}  {rv:>w4$}  {ratio:>w5$}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
            w5 = widths[5],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_favours_ndserve_above_one() {
        let t = Row::new("t", 2.0, Unit::Millis).against("numpy.t", 4.0);
        assert_eq!(t.ratio(), Some(2.0));
        let g = Row::new("g", 2.0, Unit::GBps).against("loopback_tcp", 4.0);
        assert_eq!(g.ratio(), Some(0.5));
        assert_eq!(Row::new("m", 1.0, Unit::Ratio).ratio(), None);
    }

    #[test]
    fn json_has_ref_fields_only_with_a_reference() {
        let plain = Row::new("a", 1.0, Unit::Micros).to_json();
        assert!(plain.get("ref_name").is_none());
        let with = Row::new("a", 1.0, Unit::Micros).against("b", 3.0).to_json();
        assert_eq!(with["ref_name"], "b");
        assert_eq!(with["ratio"], 3.0);
        assert_eq!(with["unit"], "us");
    }

    #[test]
    fn recorder_attaches_numpy_by_name_and_unit() {
        let numpy = vec![
            Row::new("add_f32", 4.0, Unit::Millis),
            Row::new("sum_f32", 4.0, Unit::GBps),
        ];
        let mut seen = 0;
        let mut rec = Recorder::new(numpy, |_| seen += 1);
        rec.record(Row::new("add_f32", 2.0, Unit::Millis));
        rec.record(Row::new("sum_f32", 2.0, Unit::Millis));
        let rows = rec.into_rows();
        assert_eq!(seen, 2);
        assert_eq!(rows[0].reference.as_ref().unwrap().name, "numpy.add_f32");
        assert!(rows[1].reference.is_none());
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[Row::new("x", 1234.5678, Unit::OpsPerSec)]);
        assert_eq!(t.lines().count(), 2);
        assert!(t.contains("1235"));
        assert_eq!(Unit::parse("GB/s"), Some(Unit::GBps));
    }
}
