//! Transformation functions (`t:`): the ModSecurity reference list.

use std::fmt;

macro_rules! transforms {
    ($( $variant:ident = [$($name:literal),+]; )*) => {
        /// A transformation function applied to a value before the operator
        /// runs (`t:lowercase`). `t:none` is not a transformation: it resets
        /// the list and never appears here.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Transform {
            $( #[doc = concat!($("`t:", $name, "` "),+)] $variant, )*
        }

        impl Transform {
            /// Every transformation, in declaration order.
            pub const ALL: &'static [Transform] = &[ $( Transform::$variant, )* ];

            /// Looks a transformation up by name. ModSecurity matches names
            /// case-insensitively (CRS writes both `base64Decode` and
            /// `base64decode`); British spellings are accepted as aliases.
            pub fn from_name(name: &str) -> Option<Transform> {
                $( $( if name.eq_ignore_ascii_case($name) { return Some(Transform::$variant); } )+ )*
                None
            }

            /// The canonical name.
            pub fn name(self) -> &'static str {
                match self { $( Transform::$variant => [$($name),+][0], )* }
            }
        }
    };
}

transforms! {
    Base64Decode = ["base64Decode"];
    Base64DecodeExt = ["base64DecodeExt"];
    Base64Encode = ["base64Encode"];
    CmdLine = ["cmdLine"];
    CompressWhitespace = ["compressWhitespace"];
    CssDecode = ["cssDecode"];
    EscapeSeqDecode = ["escapeSeqDecode"];
    HexDecode = ["hexDecode"];
    HexEncode = ["hexEncode"];
    HtmlEntityDecode = ["htmlEntityDecode"];
    JsDecode = ["jsDecode"];
    Length = ["length"];
    Lowercase = ["lowercase"];
    Md5 = ["md5"];
    NormalizePath = ["normalizePath", "normalisePath"];
    NormalizePathWin = ["normalizePathWin", "normalisePathWin"];
    ParityEven7bit = ["parityEven7bit"];
    ParityOdd7bit = ["parityOdd7bit"];
    ParityZero7bit = ["parityZero7bit"];
    RemoveComments = ["removeComments"];
    RemoveCommentsChar = ["removeCommentsChar"];
    RemoveNulls = ["removeNulls"];
    RemoveWhitespace = ["removeWhitespace"];
    ReplaceComments = ["replaceComments"];
    ReplaceNulls = ["replaceNulls"];
    Sha1 = ["sha1"];
    SqlHexDecode = ["sqlHexDecode"];
    Trim = ["trim"];
    TrimLeft = ["trimLeft"];
    TrimRight = ["trimRight"];
    Uppercase = ["uppercase"];
    UrlDecode = ["urlDecode"];
    UrlDecodeUni = ["urlDecodeUni"];
    UrlEncode = ["urlEncode"];
    Utf8ToUnicode = ["utf8toUnicode"];
}

impl Transform {
    /// Whether this step turns text into arbitrary bytes (decoders of
    /// binary data, digests).
    pub fn decodes_binary(self) -> bool {
        matches!(
            self,
            Transform::Base64Decode
                | Transform::Base64DecodeExt
                | Transform::HexDecode
                | Transform::Md5
                | Transform::Sha1
        )
    }

    /// Whether this step gives the same bytes before and after
    /// `t:lowercase` (ASCII): `t(lowercase(v)) == lowercase(t(v))` for
    /// every value. These steps only drop or replace NUL and whitespace
    /// bytes, which lower-casing neither makes nor changes, and never look
    /// at letters. (The engines test the property on their own
    /// implementations.)
    pub fn commutes_with_lowercase(self) -> bool {
        matches!(
            self,
            Transform::RemoveNulls
                | Transform::ReplaceNulls
                | Transform::RemoveWhitespace
                | Transform::CompressWhitespace
                | Transform::Trim
                | Transform::TrimLeft
                | Transform::TrimRight
        )
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
