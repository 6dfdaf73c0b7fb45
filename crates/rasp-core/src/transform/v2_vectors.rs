//! Replays `testdata/v2_vectors.tsv`: outputs and "changed" reports that
//! ModSecurity v2's own transformation code produced for curated CRS-style
//! payloads and random byte strings (see the file header for how they were
//! recorded). Every implemented transformation except `md5`, `sha1` (unit
//! tests pin those) and `uppercase` (not in v2) is covered.

use crs_compiler::ir::transform::Transform;

use super::apply_tracked;

const VECTORS: &str = include_str!("testdata/v2_vectors.tsv");

/// Reverses the file's escaping (`\xHH`; everything else literal).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            let hex = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => {
                    out.push(v);
                    i += 4;
                    continue;
                }
                None => panic!("bad escape in vector file near {s:?}"),
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[test]
fn matches_modsecurity_v2() {
    let mut cases = 0;
    let mut failures = Vec::new();
    for line in VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, input, output, changed] = fields.as_slice() else {
            panic!("malformed vector line {line:?}");
        };
        let t = Transform::from_name(name).unwrap_or_else(|| panic!("unknown transform {name}"));
        let input = unescape(input);
        let (got, got_changed) = apply_tracked(t, &input);
        cases += 1;
        if got.as_ref() != unescape(output).as_slice() || got_changed != (*changed == "1") {
            failures.push(format!(
                "{name} on {input:?}\n  v2:   {output} changed={changed}\n  ours: {:?} changed={got_changed}",
                String::from_utf8_lossy(&got)
            ));
        }
    }
    assert!(cases > 2000, "vector file looks truncated ({cases} cases)");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
