//! Password hashes: argon2id with the parameters of [`super::limits`],
//! stored as PHC strings (so a later change of cost still verifies old
//! hashes, and [`needs_rehash`] says when to upgrade one at sign-in).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::limits::{ARGON2_LANES, ARGON2_MEMORY_KIB, ARGON2_PASSES, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password is refused.
pub fn check(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("the password is shorter than {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("the password is longer than {MAX_PASSWORD_BYTES} bytes"));
    }
    Ok(())
}

/// The PHC string of `password` with a fresh 128-bit salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::encode_b64(&super::secret::random_bytes::<16>()).expect("16 bytes is a valid salt length");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with valid parameters and salt cannot fail")
        .to_string()
}

/// Whether `password` matches `phc`; a malformed stored hash never does.
pub fn verify(phc: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(h) => hasher().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification without an account, so a wrong
/// user name takes as long as a wrong password.
pub fn verify_nothing(password: &str) {
    use std::sync::OnceLock;
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("no account has this password"));
    let _ = verify(phc, password);
}

/// True when `phc` was made with other parameters than today's.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else { return true };
    let p = |name: &str| h.params.get_decimal(name);
    h.algorithm.as_str() != "argon2id"
        || p("m") != Some(ARGON2_MEMORY_KIB)
        || p("t") != Some(ARGON2_PASSES)
        || p("p") != Some(ARGON2_LANES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_cost_what_was_chosen() {
        let t = std::time::Instant::now();
        let h = hash("correct horse battery");
        let ms = t.elapsed().as_secs_f64() * 1e3;
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=7,p=1$"), "{h}");
        assert!(verify(&h, "correct horse battery"));
        assert!(!verify(&h, "correct horse battery!"));
        assert!(!verify("not a hash", "x"));
        assert!(!needs_rehash(&h));
        assert!(needs_rehash("$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaA"));
        assert_ne!(h, hash("correct horse battery"), "salted");
        assert!(check("short").is_err() && check("long enough!").is_ok());
        // The cost is printed for docs/BENCHMARKS.md; argon2 is built
        // optimised in the test profile (see the workspace Cargo.toml).
        eprintln!("argon2id hash: {ms:.1} ms");
    }
}
