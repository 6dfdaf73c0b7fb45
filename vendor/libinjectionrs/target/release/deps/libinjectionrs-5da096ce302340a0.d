/work/main/vendor/libinjectionrs/target/release/deps/libinjectionrs-5da096ce302340a0.d: src/lib.rs src/sqli/mod.rs src/sqli/tokenizer.rs src/sqli/blacklist.rs src/sqli/sqli_data.rs src/xss.rs src/xss/detector.rs src/xss/html5.rs src/xss/blacklists.rs src/sqli/generated_data.rs

/work/main/vendor/libinjectionrs/target/release/deps/liblibinjectionrs-5da096ce302340a0.rlib: src/lib.rs src/sqli/mod.rs src/sqli/tokenizer.rs src/sqli/blacklist.rs src/sqli/sqli_data.rs src/xss.rs src/xss/detector.rs src/xss/html5.rs src/xss/blacklists.rs src/sqli/generated_data.rs

/work/main/vendor/libinjectionrs/target/release/deps/liblibinjectionrs-5da096ce302340a0.rmeta: src/lib.rs src/sqli/mod.rs src/sqli/tokenizer.rs src/sqli/blacklist.rs src/sqli/sqli_data.rs src/xss.rs src/xss/detector.rs src/xss/html5.rs src/xss/blacklists.rs src/sqli/generated_data.rs

src/lib.rs:
src/sqli/mod.rs:
src/sqli/tokenizer.rs:
src/sqli/blacklist.rs:
src/sqli/sqli_data.rs:
src/xss.rs:
src/xss/detector.rs:
src/xss/html5.rs:
src/xss/blacklists.rs:
src/sqli/generated_data.rs:

# env-dep:CARGO_PKG_VERSION=0.1.1
