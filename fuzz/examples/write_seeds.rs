//! Writes every target's seeds to `fuzz/corpus/<target>/seed-<name>` (scripts/fuzz.sh seeds).
//! Usage: write_seeds [VECTORS_DIR [OUT_DIR]]; defaults: conformance/vectors and fuzz/corpus.

use std::path::{Path, PathBuf};

use vsync_fuzz::{seeds, targets};

fn main() -> std::io::Result<()> {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let vectors = args.next().unwrap_or_else(|| fuzz_dir.join("../conformance/vectors"));
    let out = args.next().unwrap_or_else(|| fuzz_dir.join("corpus"));
    for t in targets::TARGETS {
        let dir = out.join(t.name);
        std::fs::create_dir_all(&dir)?;
        let seeds = seeds::seeds(t.name, &vectors)?;
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
        println!("{:<14} {:>3} seeds -> {}", t.name, seeds.len(), dir.display());
    }
    Ok(())
}
