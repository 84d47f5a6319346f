//! argon2id password hashing (OWASP parameters, PHC strings) and random secrets.

use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::seq::SliceRandom;
use rand::{Rng, TryRngCore};

use crate::error::{ApiError, ApiResult};

/// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters")
}

/// argon2's working memory (19 MiB), kept between hashes. Allocated afresh for every hash (as the
/// PHC-string API does), the blocks left glibc's heap fragmented: a function's resident memory grew
/// to 237 MiB over 100 logins and 427 MiB over 50 creates (tests/src/bin/cold_start.rs); reused,
/// it stays at one buffer per concurrent hash, and no page is faulted in twice.
static WORKING_MEMORY: Mutex<Vec<WorkingMemory>> = Mutex::new(Vec::new());
/// How many idle buffers stay: a function serves one request at a time, the local server a few.
const IDLE_BUFFERS_KEPT: usize = 2;

fn with_working_memory<R>(blocks: usize, work: impl FnOnce(&mut [Block]) -> R) -> R {
    let pool = || WORKING_MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let reused = {
        let mut pool = pool();
        let found = pool.iter().position(|memory| memory.len() == blocks);
        found.map(|i| pool.swap_remove(i))
    };
    let mut memory = reused.unwrap_or_else(|| WorkingMemory::new(blocks));
    let result = work(&mut memory);
    let mut pool = pool();
    pool.push(memory);
    if pool.len() > IDLE_BUFFERS_KEPT {
        // A hash with older parameters is rare (a login that rehashes): its buffer goes first.
        let current = params().block_count();
        let evicted = pool.iter().position(|memory| memory.len() != current);
        pool.swap_remove(evicted.unwrap_or(IDLE_BUFFERS_KEPT));
    }
    result
}

/// argon2 blocks in a mapping of their own, backed by 2 MiB pages where the kernel offers them.
/// The first hash of a process faults its 19 MiB in: 4,864 faults of 4 KiB pages took 12–17 ms of a
/// cold start's first login here, 10 faults of huge pages about 2 ms (docs/benchmarks.md).
enum WorkingMemory {
    Mapped(mapping::HugePageBlocks),
    /// Where no mapping can be made (not Linux, or mmap refused): the heap.
    Heap(Vec<Block>),
}

impl WorkingMemory {
    fn new(blocks: usize) -> Self {
        match mapping::HugePageBlocks::new(blocks) {
            Some(mapped) => WorkingMemory::Mapped(mapped),
            None => WorkingMemory::Heap(vec![Block::default(); blocks]),
        }
    }
}

impl std::ops::Deref for WorkingMemory {
    type Target = [Block];
    fn deref(&self) -> &[Block] {
        match self {
            WorkingMemory::Mapped(mapped) => mapped.blocks(),
            WorkingMemory::Heap(heap) => heap,
        }
    }
}

impl std::ops::DerefMut for WorkingMemory {
    fn deref_mut(&mut self) -> &mut [Block] {
        match self {
            WorkingMemory::Mapped(mapped) => mapped.blocks_mut(),
            WorkingMemory::Heap(heap) => heap,
        }
    }
}

#[cfg(target_os = "linux")]
mod mapping {
    use std::ptr::NonNull;

    use argon2::Block;

    const HUGE_PAGE: usize = 2 << 20;

    /// Anonymous memory, zeroed by the kernel, whose blocks start on a huge-page boundary.
    pub struct HugePageBlocks {
        mapping: NonNull<libc::c_void>,
        mapping_len: usize,
        blocks: NonNull<Block>,
        count: usize,
    }

    // The mapping is owned by this value alone, like a Box.
    unsafe impl Send for HugePageBlocks {}

    impl HugePageBlocks {
        pub fn new(count: usize) -> Option<Self> {
            let len = count
                .checked_mul(size_of::<Block>())?
                .next_multiple_of(HUGE_PAGE);
            // One huge page more than needed, so that an aligned start always fits.
            let mapping_len = len.checked_add(HUGE_PAGE)?;
            // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
            let mapping = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    mapping_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if mapping == libc::MAP_FAILED {
                return None;
            }
            let mapping = NonNull::new(mapping)?;
            let offset =
                (mapping.as_ptr() as usize).next_multiple_of(HUGE_PAGE) - mapping.as_ptr() as usize;
            // SAFETY: offset < HUGE_PAGE, so start..start + len lies inside the mapping.
            let start = unsafe { mapping.byte_add(offset) };
            // Advice only: without transparent huge pages the blocks are 4 KiB pages as before.
            // SAFETY: the range is part of the mapping made above.
            unsafe { libc::madvise(start.as_ptr(), len, libc::MADV_HUGEPAGE) };
            Some(HugePageBlocks {
                mapping,
                mapping_len,
                blocks: start.cast(),
                count,
            })
        }

        pub fn blocks(&self) -> &[Block] {
            // SAFETY: `count` blocks fit in the mapping from `blocks`, which is page-aligned (Block
            // asks for 64); all-zero bytes are a valid Block; the mapping lives as long as self.
            unsafe { std::slice::from_raw_parts(self.blocks.as_ptr(), self.count) }
        }

        pub fn blocks_mut(&mut self) -> &mut [Block] {
            // SAFETY: as in `blocks`, and `&mut self` makes this the only reference.
            unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.count) }
        }
    }

    impl Drop for HugePageBlocks {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, unmapped once; no slice of it outlives self.
            unsafe { libc::munmap(self.mapping.as_ptr(), self.mapping_len) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod mapping {
    use argon2::Block;

    pub enum HugePageBlocks {}

    impl HugePageBlocks {
        pub fn new(_count: usize) -> Option<Self> {
            None
        }
        pub fn blocks(&self) -> &[Block] {
            match *self {}
        }
        pub fn blocks_mut(&mut self) -> &mut [Block] {
            match *self {}
        }
    }
}

/// The raw argon2 output for `password` under `salt` (as the PHC string spells it), as long as
/// the parameters ask for.
fn compute(
    argon2: &Argon2<'_>,
    password: &str,
    salt: Salt<'_>,
) -> argon2::password_hash::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let params = argon2.params();
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    with_working_memory(params.block_count(), |memory| {
        Output::init_with(output_len, |out| {
            argon2
                .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut *memory)
                .map_err(|_| argon2::password_hash::Error::Password)
        })
    })
}

pub fn hash(password: &str) -> ApiResult<String> {
    let fail = |e: argon2::password_hash::Error| {
        ApiError::Internal(format!("password hashing failed: {e}"))
    };
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let output = compute(&argon2, password, salt.as_salt()).map_err(fail)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(fail)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Right password, but the hash was made with other parameters: store a fresh one.
    YesRehash,
}

pub fn verify(password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return Verified::No;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return Verified::No;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return Verified::No,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return Verified::No;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    // The parameters read from the hash ask for its length; `Output`'s equality is constant-time.
    match compute(&argon2, password, salt) {
        Ok(computed) if computed == expected => {}
        _ => return Verified::No,
    }
    let current = algorithm == Algorithm::Argon2id
        && version == Version::V0x13
        && params.m_cost() == MEMORY_KIB
        && params.t_cost() == ITERATIONS
        && params.p_cost() == PARALLELISM;
    if current {
        Verified::Yes
    } else {
        Verified::YesRehash
    }
}

/// The hash of a random password nobody knows, with the current parameters. Verifying against it
/// costs what a real verification costs, with no work at start-up.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Hdst+a3EycYxnJewQeJSgA$17WoLqRJvLtwhOU5DF5KNy+9M/mW7T7i1vil5g14Lig";

/// Spends the same work as a real verification, so that an unknown user answers in the same time as
/// a wrong password.
pub fn verify_against_nothing(password: &str) {
    let _ = verify(password, DUMMY_HASH);
}

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SPECIAL: &[u8] = b"!@#$%^&*-_=+?";

/// A random password from the OS generator with an upper-case letter, a lower-case letter, a digit
/// and a special character, so that it meets any setting of the password policy.
pub fn random_password(length: usize) -> String {
    random_from(&[UPPER, LOWER, DIGITS, SPECIAL], length)
}

/// SpaceONE's temporary password: 12 characters with upper, lower and digit, and a special
/// character too when the policy asks for all four classes.
pub fn temporary_password(min_classes: usize) -> String {
    if min_classes >= 4 {
        random_from(&[UPPER, LOWER, DIGITS, SPECIAL], 12)
    } else {
        random_from(&[UPPER, LOWER, DIGITS], 12)
    }
}

/// `length` characters with at least one of each class, shuffled.
fn random_from(classes: &[&[u8]], length: usize) -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let mut chars: Vec<u8> = classes
        .iter()
        .map(|class| class[rng.random_range(0..class.len())])
        .collect();
    let all: Vec<u8> = classes.concat();
    while chars.len() < length.max(classes.len()) {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters() {
        let stored = hash("IAMPassword@").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_eq!(verify("IAMPassword@", &stored), Verified::Yes);
        assert_eq!(verify("IAMPassword!", &stored), Verified::No);
        assert_eq!(verify("IAMPassword@", "not a hash"), Verified::No);
    }

    #[test]
    fn working_memory_starts_on_a_huge_page_and_hashes_as_heap_memory_does() {
        let blocks = params().block_count();
        let mut mapped = WorkingMemory::new(blocks);
        assert_eq!(mapped.len(), blocks);
        #[cfg(target_os = "linux")]
        {
            assert!(matches!(mapped, WorkingMemory::Mapped(_)));
            assert_eq!(mapped.as_ptr() as usize % (2 << 20), 0);
        }
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let salt = b"sixteen byte salt";
        let mut from_mapping = [0u8; 32];
        let mut from_heap = [0u8; 32];
        // Twice in the same mapping: the second hash starts from the first one's blocks.
        for _ in 0..2 {
            argon2
                .hash_password_into_with_memory(b"pw", salt, &mut from_mapping, &mut *mapped)
                .unwrap();
            let mut heap = vec![Block::default(); blocks];
            argon2
                .hash_password_into_with_memory(b"pw", salt, &mut from_heap, &mut heap)
                .unwrap();
            assert_eq!(from_mapping, from_heap);
        }
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let theirs = reference
            .hash_password(b"Reference-Passw0rd", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert_eq!(verify("Reference-Passw0rd", &theirs), Verified::Yes);
        assert_eq!(verify("Reference-Passw0rd!", &theirs), Verified::No);
        let ours = hash("Reference-Passw0rd").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            reference
                .verify_password(b"Reference-Passw0rd", &parsed)
                .is_ok()
        );
        assert!(
            reference
                .verify_password(b"Reference-Passw0rd!", &parsed)
                .is_err()
        );
    }

    #[test]
    fn the_working_memory_is_reused_not_grown() {
        for _ in 0..4 {
            assert_eq!(verify("IAMPassword@", DUMMY_HASH), Verified::No);
        }
        let pool = WORKING_MEMORY.lock().unwrap();
        assert!(!pool.is_empty() && pool.len() <= IDLE_BUFFERS_KEPT);
        // Tests beside this one hash with other parameters; the current size is kept first.
        assert!(
            pool.iter()
                .any(|memory| memory.len() == params().block_count())
        );
    }

    #[test]
    fn the_dummy_hash_uses_the_current_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, ITERATIONS, PARALLELISM)
        );
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn a_hash_with_other_parameters_asks_for_a_rehash() {
        use argon2::password_hash::PasswordHasher;
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let stored = weak
            .hash_password(b"Old-Passw0rd", &salt)
            .unwrap()
            .to_string();
        assert_eq!(verify("Old-Passw0rd", &stored), Verified::YesRehash);
    }

    #[test]
    fn temporary_passwords_are_12_letters_and_digits_of_each_kind() {
        let temporary = temporary_password(2);
        assert_eq!(temporary.len(), 12);
        for class in [UPPER, LOWER, DIGITS] {
            assert!(
                temporary.bytes().any(|c| class.contains(&c)),
                "{class:?} missing"
            );
        }
        assert!(temporary.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(temporary_password(4).bytes().any(|c| SPECIAL.contains(&c)));
    }

    #[test]
    fn random_passwords_have_every_class_and_differ() {
        let a = random_password(12);
        let b = random_password(12);
        assert_eq!(a.len(), 12);
        assert_ne!(a, b);
        for class in [UPPER, LOWER, DIGITS, SPECIAL] {
            assert!(a.bytes().any(|c| class.contains(&c)), "{class:?} missing");
        }
    }
}
