//! How the pipeline reports its steps. [`Gate::decide`](crate::Gate::decide) runs it with a
//! quiet [`Observer`], which records nothing; [`Gate::explain`](crate::Gate::explain) runs
//! the very same steps with an observer that fills a [`Trace`], so the two cannot disagree.
//! (A runtime switch, not a type parameter: one copy of the pipeline in the .wasm.)

use crate::error::Error;

/// One step of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceStep {
    /// `normalize`, `match`, `login`, `token`, `session`, `csrf`, `refresh`, `provider`,
    /// `parse`, `algorithm`, `typ`, `keys`, `signature`, `claims`, `claim`, `verify`,
    /// `logout`, `bearer`, `scopes` or `route` (`TraceStepName` in js/index.d.ts; tests/contract.rs
    /// holds both lists to the steps the pipeline reports).
    pub step: &'static str,
    /// Did it pass?
    pub ok: bool,
    /// What it saw, or why it failed.
    pub detail: String,
    /// The error code it failed with, if it failed with one.
    pub code: Option<&'static str>,
}

/// Every step of a decision, in order; the first step that failed with a code is why the
/// request would be refused (or, on a guest page, let in as a guest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The steps, in the order they ran.
    pub steps: Vec<TraceStep>,
    /// The decision's code, `OK_*` or `ERR_*`; `None` when the decision needs a fetch or a
    /// refresh first, which explaining does not do.
    pub code: Option<&'static str>,
    pub(crate) inconclusive: bool,
}

impl Trace {
    /// The code of the first step that failed with one.
    pub fn first_error(&self) -> Option<&'static str> {
        self.steps.iter().find_map(|s| s.code)
    }
}

/// Watches the pipeline's steps. Details are closures, only called when tracing.
pub(crate) struct Observer<'t> {
    trace: Option<&'t mut Trace>,
}

impl<'t> Observer<'t> {
    /// Deciding: records nothing, acts.
    pub(crate) fn quiet() -> Self {
        Observer { trace: None }
    }

    /// Explaining into `trace`.
    pub(crate) fn tracing(trace: &'t mut Trace) -> Self {
        Observer { trace: Some(trace) }
    }

    /// Explaining, not deciding: the run must change nothing (no cache lookups or entries,
    /// no key fetch or token refresh started) and reports every claim check, not only up
    /// to the first failure.
    pub(crate) fn explaining(&self) -> bool {
        self.trace.is_some()
    }

    /// A step passed (`ok`), or stopped without an error of its own (a fetch it would need).
    #[inline]
    pub(crate) fn step(&mut self, step: &'static str, ok: bool, detail: impl FnOnce() -> String) {
        self.push(step, ok, None, detail);
    }

    /// A step failed with `e`.
    #[inline]
    pub(crate) fn fail(&mut self, step: &'static str, e: &Error, detail: impl FnOnce() -> String) {
        self.push(step, false, Some(e.code()), detail);
    }

    /// A step failed with `e`, said plainly.
    #[inline]
    pub(crate) fn error(&mut self, step: &'static str, e: &Error) {
        self.fail(step, e, || failed(e));
    }

    /// The step could not be finished without acting (a fetch, a refresh): what follows is
    /// not what a decision would say.
    pub(crate) fn inconclusive(&mut self) {
        if let Some(trace) = &mut self.trace {
            trace.inconclusive = true;
        }
    }

    #[inline]
    fn push(
        &mut self,
        step: &'static str,
        ok: bool,
        code: Option<&'static str>,
        detail: impl FnOnce() -> String,
    ) {
        if let Some(trace) = &mut self.trace {
            let detail = detail();
            trace.steps.push(TraceStep {
                step,
                ok,
                detail,
                code,
            });
        }
    }
}

/// A failed step's detail: the stable code first, then the message.
pub(crate) fn failed(e: &Error) -> String {
    format!("{}: {e}", e.code())
}
