// SQL injection blacklist checker - matches C implementation exactly

use super::sqli_data;

/// Check if a fingerprint is blacklisted
/// This matches libinjection_sqli_blacklist from the C version
pub fn is_blacklisted(fingerprint: &str) -> bool {
    // Match the C version: convert v0 fingerprint to v1 format
    // v0: up to 5 chars, mixed case  
    // v1: '0' prefix, up to 5 more chars, upper case
    
    if fingerprint.is_empty() {
        return false;
    }
    
    // Build the v1 fingerprint with '0' prefix and uppercase, on the stack
    // (fingerprints have at most 5 tokens).
    let bytes = fingerprint.as_bytes();
    let mut buf = [0u8; 16];
    let Some(fp2) = buf.get_mut(..bytes.len() + 1) else {
        return false;
    };
    fp2[0] = b'0';
    for (out, b) in fp2[1..].iter_mut().zip(bytes) {
        // Only a-z change: the same as uppercasing char by char.
        *out = b.to_ascii_uppercase();
    }
    let Ok(fp2) = std::str::from_utf8(fp2) else {
        return false;
    };

    // Check if this fingerprint exists in the keywords table with type 'F'
    sqli_data::lookup_word(fp2) == crate::sqli::TokenType::Fingerprint
}