//! `t:md5` and `t:sha1`: the raw binary digest (16 and 20 bytes), as v2
//! returns it; chain `t:hexEncode` for text.

use std::borrow::Cow;

use md5::{Digest, Md5};

/// `t:md5`.
pub(super) fn md5(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(Md5::digest(input).to_vec())
}

/// `t:sha1`.
pub(super) fn sha1(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(sha1_smol::Sha1::from(input).digest().bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::hex::hex_encode;

    fn hex(v: Cow<'_, [u8]>) -> String {
        String::from_utf8(hex_encode(&v).into_owned()).unwrap_or_default()
    }

    #[test]
    fn md5_digests() {
        // From v2 tests/tfn/md5.t.
        assert_eq!(hex(md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(md5(b"TestCase")), "c9aba2c3e60126169e80e9a26ba273c1");
        assert_eq!(
            hex(md5(b"\x00\x01\x02\x03\x04\x05\x06\x07\x08")),
            "a6e7d3b46fdfaf0bde2a1f832a00d2de"
        );
    }

    #[test]
    fn sha1_digests() {
        // From v2 tests/tfn/sha1.t.
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(sha1(b"TestCase")),
            "a70ce38389e318bd2be18a0111c6dc76bd2cd9ed"
        );
        assert_eq!(
            hex(sha1(b"\x00\x01\x02\x03\x04\x05\x06\x07\x08")),
            "63bf60c7105a07a2b125bbf89e61abdabc6978c2"
        );
    }
}
