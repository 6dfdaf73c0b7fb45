//! Building the expensive automata up front, on every core.
//!
//! Compiling `@rx` patterns and building `@pmFromFile` phrase lists is most
//! of the load time (CRS has about 300 patterns and 20 data-file rules),
//! and each is independent of the others and of the order directives are
//! applied in. So before the directives are applied one by one, every
//! distinct constant pattern and every distinct data-file list is built on
//! a small thread pool and put in the [`Ctx`] caches, where the operator
//! compiler then finds them. Anything that fails here (a bad pattern, a
//! missing file) is simply not cached: the operator compiler meets it
//! again and reports it with its rule's location.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use super::ctx::Ctx;
use super::operators::{data_file_phrases, data_files, read_data_file};
use crate::build;
use crate::build::pool;
use crate::build::regex::PatternError;
use crate::ir::operator::PhraseSet;
use crate::parse::directive::Directive;
use crate::parse::macros::has_macro_syntax;
use crate::parse::operator::split_operator;

enum Job {
    Rx(String),
    Phrases(Vec<PathBuf>),
}

enum Done {
    Rx(String, Result<build::regex::Measured, PatternError>),
    Phrases(Vec<PathBuf>, Option<PhraseSet>),
}

impl Job {
    /// A rough cost, to start the biggest jobs first.
    fn cost(&self) -> u64 {
        match self {
            Job::Rx(p) => p.len() as u64,
            Job::Phrases(files) => files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum::<u64>(),
        }
    }

    fn run(self) -> Done {
        match self {
            Job::Rx(p) => {
                let r = build::regex::compile_measured(&p);
                Done::Rx(p, r)
            }
            Job::Phrases(files) => {
                let set = build_phrases(&files);
                Done::Phrases(files, set)
            }
        }
    }
}

fn build_phrases(files: &[PathBuf]) -> Option<PhraseSet> {
    let mut phrases = Vec::new();
    for f in files {
        let text = read_data_file(f).ok()?;
        phrases.extend(data_file_phrases(&text).ok()?);
    }
    build::phrases::build_sized(phrases).ok()
}

/// Collects the jobs of all `SecRule` directives and runs them.
pub(crate) fn prepare(ctx: &mut Ctx, directives: &[Directive]) {
    let mut jobs = Vec::new();
    let mut seen_rx = HashSet::new();
    let mut seen_files = HashSet::new();
    for d in directives {
        if !d.name().eq_ignore_ascii_case("SecRule") {
            continue;
        }
        let Some(op) = d.args.get(1) else { continue };
        let raw = split_operator(&op.text);
        let name = raw.name.to_ascii_lowercase();
        if name == "rx" && !has_macro_syntax(&raw.argument) && !ctx.has_rx(&raw.argument) {
            if seen_rx.insert(raw.argument.clone()) {
                jobs.push(Job::Rx(raw.argument));
            }
        } else if name == "pmfromfile" || name == "pmf" {
            if let Ok(files) = data_files(&raw.argument, &d.base_dir()) {
                if !ctx.phrase_files.contains_key(&files) && seen_files.insert(files.clone()) {
                    jobs.push(Job::Phrases(files));
                }
            }
        }
    }
    let mut costed: Vec<(u64, Job)> = jobs.into_iter().map(|j| (j.cost(), j)).collect();
    // Biggest first, so no worker is left alone with the big ones at the end.
    costed.sort_by_key(|(c, _)| std::cmp::Reverse(*c));
    let jobs: Vec<Mutex<Option<Job>>> = costed
        .into_iter()
        .map(|(_, j)| Mutex::new(Some(j)))
        .collect();
    let done = pool::run(jobs.len(), |i| {
        let job = jobs
            .get(i)
            .and_then(|slot| slot.lock().ok().and_then(|mut j| j.take()));
        job.map(Job::run)
    });
    let done = done.into_iter().flatten().flatten();
    for d in done {
        match d {
            Done::Rx(p, r) => ctx.insert_rx(p, r),
            Done::Phrases(files, Some(set)) => {
                ctx.phrase_files.insert(files, set);
            }
            Done::Phrases(_, None) => {}
        }
    }
}
