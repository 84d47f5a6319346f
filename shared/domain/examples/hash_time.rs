//! Prints how long one argon2id hash and one verification take at the configured parameters:
//! `cargo run --release -p domain --example hash_time`. The login latency and the memory size of
//! the functions that hash follow from it (docs/benchmarks.md).

use std::time::Instant;

fn main() {
    let rounds = 30;
    let stored = domain::password::hash("Warm-up-Passw0rd").expect("hash");
    let mut hashes = Vec::with_capacity(rounds);
    let mut verifies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        domain::password::hash("Some-Passw0rd").expect("hash");
        hashes.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        domain::password::verify("Warm-up-Passw0rd", &stored);
        verifies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    for (name, mut samples) in [("hash", hashes), ("verify", verifies)] {
        samples.sort_by(f64::total_cmp);
        println!(
            "argon2id m={} t={} p={} {name}: median {:.1} ms, min {:.1} ms, max {:.1} ms over {rounds}",
            domain::password::MEMORY_KIB,
            domain::password::ITERATIONS,
            domain::password::PARALLELISM,
            samples[rounds / 2],
            samples[0],
            samples[rounds - 1]
        );
    }
}
