//! GGUF: the llama.cpp model file. A small reader over bytes (so a browser can hand over a file
//! the user picked): header, metadata, tensor table, and dequantization of the common types to
//! f32. No maintained crate covers both the container and the k-quants, hence our own; every
//! read is bounds-checked, so a truncated or hostile file is an error, never a panic.
//!
//! Block layouts follow ggml (`ggml-quants.c`): a block stores one or two f16 scales and packed
//! integers; `x = d·q (+ m)` per weight, with 6-bit sub-block scales in the k-quants.

use std::collections::BTreeMap;

use half::{bf16, f16};

/// Why a GGUF file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GgufError {
    #[error("not a GGUF file (the magic bytes are {0:?}, expected \"GGUF\")")]
    BadMagic([u8; 4]),
    #[error("GGUF version {0} is not supported (2 and 3 are)")]
    UnsupportedVersion(u32),
    #[error("the file is truncated: {what} at byte {offset} needs {needed} bytes, {available} remain")]
    Truncated {
        what: String,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("malformed GGUF: {0}")]
    Malformed(String),
    #[error("tensor `{tensor}` has type {kind}, which codeblock cannot dequantize")]
    UnsupportedType { tensor: String, kind: String },
    #[error("no tensor named `{0}`")]
    MissingTensor(String),
    #[error("metadata `{key}`: {problem}")]
    Metadata { key: String, problem: String },
}

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U64(v) => Some(v),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F64(v) => Some(v),
            Value::U64(v) => Some(v as f64),
            Value::I64(v) => Some(v as f64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(values) => Some(values),
            _ => None,
        }
    }
}

/// ggml tensor types codeblock reads (ids from ggml.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
    BF16,
    /// Any other id, kept so the error can name it.
    Other(u32),
}

impl TensorType {
    fn from_id(id: u32) -> TensorType {
        match id {
            0 => TensorType::F32,
            1 => TensorType::F16,
            2 => TensorType::Q4_0,
            3 => TensorType::Q4_1,
            6 => TensorType::Q5_0,
            7 => TensorType::Q5_1,
            8 => TensorType::Q8_0,
            12 => TensorType::Q4K,
            13 => TensorType::Q5K,
            14 => TensorType::Q6K,
            30 => TensorType::BF16,
            other => TensorType::Other(other),
        }
    }

    /// (weights per block, bytes per block).
    fn block(self) -> Option<(usize, usize)> {
        Some(match self {
            TensorType::F32 => (1, 4),
            TensorType::F16 | TensorType::BF16 => (1, 2),
            TensorType::Q4_0 => (32, 18),
            TensorType::Q4_1 => (32, 20),
            TensorType::Q5_0 => (32, 22),
            TensorType::Q5_1 => (32, 24),
            TensorType::Q8_0 => (32, 34),
            TensorType::Q4K => (256, 144),
            TensorType::Q5K => (256, 176),
            TensorType::Q6K => (256, 210),
            TensorType::Other(_) => return None,
        })
    }
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: the fastest-varying dimension first (a PyTorch `[rows, cols]` is `[cols, rows]`).
    pub dims: Vec<u64>,
    pub kind: TensorType,
    /// From the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// The shape in PyTorch (row-major) order.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    /// Number of weights, if it fits in a u64.
    pub fn elements(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }
}

/// A parsed GGUF file: metadata and tensor table over the file's bytes.
#[derive(Debug)]
pub struct Gguf<'a> {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    data: &'a [u8],
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], GgufError> {
        let available = self.bytes.len() - self.at;
        if n > available {
            return Err(GgufError::Truncated {
                what: what.into(),
                offset: self.at,
                needed: n,
                available,
            });
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        Ok(self.take(N, what)?.try_into().expect("take returns exactly N bytes"))
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count that must fit in what is left, at `min_size` bytes an element at least.
    fn count(&mut self, what: &str, min_size: usize) -> Result<usize, GgufError> {
        let n = self.u64(what)?;
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(min_size as u64) > left {
            return Err(GgufError::Malformed(format!(
                "{what} is {n}, more than the file can hold"
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let n = self.count(what, 1)?;
        let bytes = self.take(n, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::Malformed(format!("{what} is not UTF-8")))
    }

    fn value(&mut self, kind: u32, key: &str, depth: usize) -> Result<Value, GgufError> {
        Ok(match kind {
            0 => Value::U64(u64::from(self.array::<1>(key)?[0])),
            1 => Value::I64(i64::from(i8::from_le_bytes(self.array(key)?))),
            2 => Value::U64(u64::from(u16::from_le_bytes(self.array(key)?))),
            3 => Value::I64(i64::from(i16::from_le_bytes(self.array(key)?))),
            4 => Value::U64(u64::from(self.u32(key)?)),
            5 => Value::I64(i64::from(i32::from_le_bytes(self.array(key)?))),
            6 => Value::F64(f64::from(f32::from_le_bytes(self.array(key)?))),
            7 => Value::Bool(self.array::<1>(key)?[0] != 0),
            8 => Value::String(self.string(key)?),
            9 if depth == 0 => {
                let inner = self.u32(key)?;
                let n = self.count(key, 1)?;
                let mut values = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    values.push(self.value(inner, key, depth + 1)?);
                }
                Value::Array(values)
            }
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(i64::from_le_bytes(self.array(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(key)?)),
            other => {
                return Err(GgufError::Malformed(format!(
                    "metadata `{key}` has unknown type {other}"
                )));
            }
        })
    }
}

impl<'a> Gguf<'a> {
    /// Parses the header, metadata and tensor table; tensor data stays in `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, GgufError> {
        let mut reader = Reader { bytes, at: 0 };
        let magic: [u8; 4] = reader.array("magic")?;
        if &magic != b"GGUF" {
            return Err(GgufError::BadMagic(magic));
        }
        let version = reader.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let tensor_count = reader.count("tensor count", 8)?;
        let kv_count = reader.count("metadata count", 12)?;
        let mut metadata = BTreeMap::new();
        for _ in 0..kv_count {
            let key = reader.string("metadata key")?;
            let kind = reader.u32(&key)?;
            let value = reader.value(kind, &key, 0)?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::with_capacity(tensor_count);
        for _ in 0..tensor_count {
            let name = reader.string("tensor name")?;
            let n_dims = reader.u32(&name)? as usize;
            if n_dims > 4 {
                return Err(GgufError::Malformed(format!("tensor `{name}` has {n_dims} dimensions")));
            }
            let dims = (0..n_dims).map(|_| reader.u64(&name)).collect::<Result<Vec<_>, _>>()?;
            let kind = TensorType::from_id(reader.u32(&name)?);
            let offset = reader.u64(&name)?;
            tensors.push(TensorInfo {
                name,
                dims,
                kind,
                offset,
            });
        }
        let alignment = match metadata.get("general.alignment") {
            Some(value) => value
                .as_u64()
                .filter(|a| a.is_power_of_two())
                .ok_or_else(|| GgufError::Malformed("general.alignment is not a power of two".into()))?
                as usize,
            None => 32,
        };
        let start = reader.at.div_ceil(alignment) * alignment;
        let data = bytes.get(start..).unwrap_or(&[]);
        Ok(Gguf {
            version,
            metadata,
            tensors,
            data,
        })
    }

    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| GgufError::MissingTensor(name.into()))
    }

    /// The metadata value under `key`, or an error naming the key.
    pub fn get(&self, key: &str) -> Result<&Value, GgufError> {
        self.metadata.get(key).ok_or_else(|| GgufError::Metadata {
            key: key.into(),
            problem: "missing".into(),
        })
    }

    /// A tensor dequantized to f32, in row-major order of [`TensorInfo::shape`].
    pub fn dequantize(&self, name: &str) -> Result<Vec<f32>, GgufError> {
        let info = self.tensor(name)?;
        let unsupported = || GgufError::UnsupportedType {
            tensor: name.into(),
            kind: format!("{:?}", info.kind),
        };
        let (per_block, block_bytes) = info.kind.block().ok_or_else(unsupported)?;
        let elements = info
            .elements()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| GgufError::Malformed(format!("`{name}` is too large")))?;
        if elements % per_block != 0 {
            return Err(GgufError::Malformed(format!(
                "`{name}` has {elements} weights, not whole blocks of {per_block}"
            )));
        }
        let size = (elements / per_block)
            .checked_mul(block_bytes)
            .ok_or_else(|| GgufError::Malformed(format!("`{name}` is too large")))?;
        let start = usize::try_from(info.offset).unwrap_or(usize::MAX);
        let bytes = start
            .checked_add(size)
            .and_then(|end| self.data.get(start..end))
            .ok_or_else(|| GgufError::Truncated {
                what: format!("tensor `{name}`"),
                offset: start,
                needed: size,
                available: self.data.len().saturating_sub(start),
            })?;
        let mut out = Vec::with_capacity(elements);
        for block in bytes.chunks_exact(block_bytes) {
            dequantize_block(info.kind, block, &mut out);
        }
        Ok(out)
    }
}

fn f16_at(block: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([block[at], block[at + 1]]).to_f32()
}

/// 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K block (ggml's `get_scale_min_k4`).
fn scale_min(j: usize, scales: &[u8]) -> (f32, f32) {
    let (d, m) = if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        (
            (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    };
    (f32::from(d), f32::from(m))
}

fn dequantize_block(kind: TensorType, b: &[u8], out: &mut Vec<f32>) {
    match kind {
        TensorType::F32 => out.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        TensorType::F16 => out.push(f16_at(b, 0)),
        TensorType::BF16 => out.push(bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        TensorType::Q8_0 => {
            let d = f16_at(b, 0);
            out.extend(b[2..34].iter().map(|&q| d * f32::from(q as i8)));
        }
        TensorType::Q4_0 | TensorType::Q4_1 => {
            let d = f16_at(b, 0);
            let (m, qs, offset) = if kind == TensorType::Q4_1 {
                (f16_at(b, 2), &b[4..20], 0.0)
            } else {
                (0.0, &b[2..18], 8.0)
            };
            out.extend(qs.iter().map(|&q| d * (f32::from(q & 0xF) - offset) + m));
            out.extend(qs.iter().map(|&q| d * (f32::from(q >> 4) - offset) + m));
        }
        TensorType::Q5_0 | TensorType::Q5_1 => {
            let d = f16_at(b, 0);
            let (m, rest, offset) = if kind == TensorType::Q5_1 {
                (f16_at(b, 2), &b[4..], 0.0)
            } else {
                (0.0, &b[2..], 16.0)
            };
            let qh = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let qs = &rest[4..20];
            for (j, &q) in qs.iter().enumerate() {
                let high = (((qh >> j) << 4) & 0x10) as u8;
                out.push(d * (f32::from((q & 0xF) | high) - offset) + m);
            }
            for (j, &q) in qs.iter().enumerate() {
                let high = ((qh >> (j + 12)) & 0x10) as u8;
                out.push(d * (f32::from((q >> 4) | high) - offset) + m);
            }
        }
        TensorType::Q4K | TensorType::Q5K => {
            let (d, min) = (f16_at(b, 0), f16_at(b, 2));
            let scales = &b[4..16];
            let (qh, qs) = if kind == TensorType::Q5K {
                (Some(&b[16..48]), &b[48..176])
            } else {
                (None, &b[16..144])
            };
            for (chunk, q) in qs.chunks_exact(32).enumerate() {
                for (half, shift) in [(0, 0), (1, 4)] {
                    let (sc, m) = scale_min(2 * chunk + half, scales);
                    let bit = 1u8 << (2 * chunk + half);
                    out.extend(q.iter().enumerate().map(|(l, &byte)| {
                        let high = qh.map_or(0, |qh| if qh[l] & bit != 0 { 16 } else { 0 });
                        d * sc * f32::from(((byte >> shift) & 0xF) + high) - min * m
                    }));
                }
            }
        }
        TensorType::Q6K => {
            let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
            let d = f16_at(b, 208);
            for n in 0..2 {
                let (ql, qh, sc) = (&ql[64 * n..], &qh[32 * n..], &scales[8 * n..]);
                let mut y = [0.0f32; 128];
                for l in 0..32 {
                    let is = l / 16;
                    let q = |low: u8, shift: u32| f32::from(low | (((qh[l] >> shift) & 3) << 4)) - 32.0;
                    let scale = |k: usize| d * f32::from(sc[is + k] as i8);
                    y[l] = scale(0) * q(ql[l] & 0xF, 0);
                    y[l + 32] = scale(2) * q(ql[l + 32] & 0xF, 2);
                    y[l + 64] = scale(4) * q(ql[l] >> 4, 4);
                    y[l + 96] = scale(6) * q(ql[l + 32] >> 4, 6);
                }
                out.extend(y);
            }
        }
        TensorType::Other(_) => unreachable!("unsupported types are rejected before dequantizing"),
    }
}
