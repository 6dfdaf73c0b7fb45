/work/main/vendor/libinjectionrs/target/release/deps/libinjectionrs-af3bd12db4f9a7a9.d: src/lib.rs src/sqli/mod.rs src/sqli/tokenizer.rs src/sqli/blacklist.rs src/sqli/sqli_data.rs src/sqli/tests.rs src/xss.rs src/xss/detector.rs src/xss/html5.rs src/xss/blacklists.rs src/xss/tests.rs src/tests/mod.rs src/tests/test_folding.rs src/tests/differential_tests.rs src/tests/test_html5_files.rs src/tests/test_tokens_files.rs src/final_test.rs src/sqli/generated_data.rs

/work/main/vendor/libinjectionrs/target/release/deps/libinjectionrs-af3bd12db4f9a7a9: src/lib.rs src/sqli/mod.rs src/sqli/tokenizer.rs src/sqli/blacklist.rs src/sqli/sqli_data.rs src/sqli/tests.rs src/xss.rs src/xss/detector.rs src/xss/html5.rs src/xss/blacklists.rs src/xss/tests.rs src/tests/mod.rs src/tests/test_folding.rs src/tests/differential_tests.rs src/tests/test_html5_files.rs src/tests/test_tokens_files.rs src/final_test.rs src/sqli/generated_data.rs

src/lib.rs:
src/sqli/mod.rs:
src/sqli/tokenizer.rs:
src/sqli/blacklist.rs:
src/sqli/sqli_data.rs:
src/sqli/tests.rs:
src/xss.rs:
src/xss/detector.rs:
src/xss/html5.rs:
src/xss/blacklists.rs:
src/xss/tests.rs:
src/tests/mod.rs:
src/tests/test_folding.rs:
src/tests/differential_tests.rs:
src/tests/test_html5_files.rs:
src/tests/test_tokens_files.rs:
src/final_test.rs:
src/sqli/generated_data.rs:

# env-dep:CARGO_PKG_VERSION=0.1.1
