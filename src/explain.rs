//! `explain`: the whole trace of how a request would be decided — normalized path, the rule,
//! token source, CSRF, a refresh, each JWS and claim check, scopes, the route — for
//! debugging. It runs the decision's own steps with a tracing [`Observer`], so it cannot say
//! other than the decision would.
//!
//! Side-effect free: it neither reads nor fills the verified-token cache, never starts a key
//! fetch or a refresh, and checks signatures with the engine. A gate never puts a trace in a
//! response; the host decides where it goes.

use crate::decide::{Gate, Step};
use crate::http::Request;
use crate::trace::{Observer, Trace};

impl Gate {
    /// The trace of how `request` would be decided (see the module comment).
    pub fn explain(&self, request: &Request) -> Trace {
        let mut trace = Trace::default();
        let mut o = Observer::tracing(&mut trace);
        let decision = match self.run(request, 0, &mut o) {
            Step::Decided(d) => Some(d),
            Step::NeedsSignature(pending) => {
                let valid = pending.unverified.check_here();
                Some(self.finish(pending, valid, &mut o))
            }
            Step::NeedsFetch(_) => None,
        };
        trace.code = decision.filter(|_| !trace.inconclusive).map(|d| d.code);
        trace
    }
}

/// Under `_integration_test`, every decision the tests make is explained too, and the two
/// must agree: the same code, and the trace's first failing step carries the decision's
/// error. Counts the decisions compared.
#[cfg(feature = "_integration_test")]
pub(crate) fn check_agreement(gate: &Gate, request: &Request, decision: &crate::Decision) {
    let trace = gate.explain(request);
    let Some(code) = trace.code else {
        return;
    };
    assert_eq!(
        (code, trace.first_error()),
        (decision.code, decision.error.as_ref().map(crate::Error::code)),
        "explain disagrees with decide on {request:?}\n{trace:#?}\n{decision:#?}"
    );
    AGREEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Decisions [`check_agreement`] compared in this process.
#[cfg(feature = "_integration_test")]
pub static AGREEMENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
