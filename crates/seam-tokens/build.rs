//! Writes each vocabulary's tokens, in rank order, as one byte arena (`NAME.bytes`) and the
//! arena offset of every rank plus the end (`NAME.starts`, u32 little-endian), from the rank
//! files tiktoken-rs bundles. The library embeds both; at run time it only indexes them.

use std::path::Path;

/// The ordinary (non-special) tokens of each vocabulary: ranks 0..N, none missing. A
/// tiktoken-rs whose data differs fails the build here rather than miscounting.
const VOCABS: [(&str, Load, u32); 2] = [
    (
        "o200k_base",
        || tiktoken_rs::o200k_base().map_err(|e| e.to_string()),
        199_998,
    ),
    (
        "cl100k_base",
        || tiktoken_rs::cl100k_base().map_err(|e| e.to_string()),
        100_256,
    ),
];

type Load = fn() -> Result<tiktoken_rs::CoreBPE, String>;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    for (name, load, ordinary) in VOCABS {
        let bpe = load().unwrap_or_else(|e| panic!("tiktoken-rs {name}: {e}"));
        let mut bytes = Vec::new();
        let mut starts = Vec::with_capacity(4 * (ordinary as usize + 1));
        for rank in 0..ordinary {
            let token = bpe
                .decode_bytes(&[rank])
                .unwrap_or_else(|e| panic!("{name}: rank {rank} has no bytes: {e}"));
            assert!(!token.is_empty(), "{name}: rank {rank} is empty");
            starts.extend_from_slice(&offset(bytes.len()).to_le_bytes());
            bytes.extend_from_slice(&token);
        }
        starts.extend_from_slice(&offset(bytes.len()).to_le_bytes());
        // The first rank past the ordinary ones is a gap or a special token: either way the
        // ordinary vocabulary ends there.
        let next = bpe.decode_bytes(&[ordinary]);
        assert!(
            !matches!(next, Ok(b) if !b.starts_with(b"<|")),
            "{name}: more ordinary ranks than {ordinary}"
        );
        write(&Path::new(&out).join(format!("{name}.bytes")), &bytes);
        write(&Path::new(&out).join(format!("{name}.starts")), &starts);
    }
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a vocabulary's bytes fit u32 offsets")
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
