//! `rasp-rules check <file-or-dir>…`: load rules as the library does.
fn main() {
    eprintln!("rasp-rules: not implemented yet");
    std::process::exit(2);
}
