//! TEMPORARY differential test against v2's msc_xml.c + libxml2.
use super::*;
use std::fmt::Write;

fn hex(k: &str, v: &[u8], out: &mut String) {
    let _ = write!(out, "{k}=");
    for b in v { let _ = write!(out, "{b:02x}"); }
    out.push('\n');
}

#[test]
fn diff() {
    let dir = std::path::Path::new("/tmp/xmldiff/cases");
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "xml")).collect();
    names.sort();
    let (mut same, mut err_diff, mut ok_val_diff, mut partial_diff) = (0, 0, 0, 0);
    let mut shown = 0;
    for case in &names {
        let body = std::fs::read(case).unwrap();
        let r = xml::parse(&body);
        let mut ours = String::new();
        if let Some(e) = &r.error { hex("error", e.msg.as_bytes(), &mut ours); }
        if let Some(d) = &r.document {
            ours.push_str("doc\n");
            hex("root", super::log_escape::until_nul(&d.root_text), &mut ours);
            for a in &d.attribute_values { hex("attr", a, &mut ours); }
        }
        let theirs = std::fs::read_to_string(case.with_extension("out")).unwrap();
        if ours == theirs { same += 1; continue; }
        let c_err = theirs.starts_with("error=");
        if c_err != r.error.is_some() { err_diff += 1; } else if c_err { partial_diff += 1; } else { ok_val_diff += 1; }
        if shown < 14 && (c_err != r.error.is_some() || !c_err) {
            shown += 1;
            let dec = |s: &str| s.lines().map(|l| match l.split_once('=') { Some((k, v)) => { let b: Vec<u8> = (0..v.len()/2).map(|i| u8::from_str_radix(&v[2*i..2*i+2], 16).unwrap()).collect(); format!("{k}={:?}", String::from_utf8_lossy(&b)) } None => l.to_string() }).collect::<Vec<_>>().join("\n");
            println!("DIFF {} {:?}\n--- C\n{}\n--- ours\n{}", case.display(), String::from_utf8_lossy(&body), dec(&theirs), dec(&ours));
        }
    }
    println!("cases {} same {same} error-status diff {err_diff} ok-values diff {ok_val_diff} partial diff {partial_diff}", names.len());
}
