//! Refresh coordination across isolates (`refresh.coordination`): gates standing for
//! isolates or servers, sharing one scripted store and one scripted token endpoint, with a
//! clock the test moves. One token-endpoint call per refresh token wherever its requests
//! land; every way the store can fail falls back to the isolate's own single-flight, with
//! the reason in the decision; nothing in the store is a usable token. The same against
//! Redis, Durable Objects and oidc-provider is tests/e2e/coordinate.test.mjs.
mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use edgegate::{Clock as _, Decision, Fetch, Fetched, Gate, Options, Request, Step};
use edgegate::{StoreAction, StoreOp, Stored};
use serde_json::{json, Value};

const ENDPOINT: &str = "https://id.example/oauth/token";
const URL: &str = "https://app.example";
const STORE_SECRET: &str = "a-coordination-secret-of-32-bytes-or-more";

/// A token endpoint with rotation: counts calls; each answer a new access and refresh token.
#[derive(Default)]
struct Endpoint {
    calls: RefCell<usize>,
    answer: RefCell<Option<(u16, String)>>,
}

impl Endpoint {
    fn serve(&self, now: f64) -> Fetched {
        *self.calls.borrow_mut() += 1;
        if let Some((status, body)) = self.answer.borrow().clone() {
            return Fetched::Response { status, body };
        }
        let n = *self.calls.borrow();
        token_response(n, now, &format!("user-{n}"))
    }

    fn calls(&self) -> usize {
        *self.calls.borrow()
    }
}

/// A shared store as Redis keeps one: values with expiry, by the clock the test moves.
/// `fail` makes every operation fail; `answer` overrides what claims and reads answer.
struct Store {
    clock: Arc<ManualClock>,
    entries: RefCell<HashMap<String, (String, f64)>>,
    fail: RefCell<bool>,
    answer: RefCell<Option<Option<String>>>,
    ops: RefCell<Vec<StoreOp>>,
}

impl Store {
    fn new(clock: Arc<ManualClock>) -> Store {
        Store {
            clock,
            entries: RefCell::default(),
            fail: RefCell::new(false),
            answer: RefCell::default(),
            ops: RefCell::default(),
        }
    }

    /// Performs `op` at once: a read answers what is there (the test plays the wait).
    fn perform(&self, op: &StoreOp) -> Stored {
        self.ops.borrow_mut().push(op.clone());
        if *self.fail.borrow() {
            return Stored::Failed;
        }
        let now = self.clock.now();
        let mut entries = self.entries.borrow_mut();
        entries.retain(|_, (_, expires)| *expires > now);
        let expires = now + op.ttl_ms as f64 / 1000.0;
        let answer = match op.action {
            StoreAction::Claim => match entries.get(&op.key) {
                Some((v, _)) => Some(v.clone()),
                None => {
                    entries.insert(op.key.clone(), (op.value.clone(), expires));
                    None
                }
            },
            StoreAction::Publish => {
                entries.insert(op.key.clone(), (op.value.clone(), expires));
                None
            }
            StoreAction::Read => entries.get(&op.key).map(|(v, _)| v.clone()),
            StoreAction::Release => {
                entries.remove(&op.key);
                None
            }
        };
        let scripted = matches!(op.action, StoreAction::Claim | StoreAction::Read)
            .then(|| self.answer.borrow().clone())
            .flatten();
        Stored::Answered(scripted.unwrap_or(answer))
    }

    fn count(&self, action: StoreAction) -> usize {
        self.ops
            .borrow()
            .iter()
            .filter(|o| o.action == action)
            .count()
    }
}

fn coordinated(coordination: Value, clock: &Arc<ManualClock>) -> Gate {
    let refresh = json!({ "tokenEndpoint": ENDPOINT, "clientId": "web", "clientSecret": "s", "coordination": coordination });
    let o = options(&["HS256"], json!(SECRET), json!({ "refresh": refresh }));
    Gate::with_clock(Options::from_json(&o.to_string()).unwrap(), clock.clone()).unwrap()
}

fn isolate(clock: &Arc<ManualClock>) -> Gate {
    coordinated(json!({ "secret": STORE_SECRET }), clock)
}

fn expired() -> String {
    token("HS256", &hmac_key(), &claims(json!({ "exp": NOW - 1.0 })))
}

fn request(refresh_token: &str) -> Request<'static> {
    get(
        &format!("{URL}/api/x"),
        &[(
            "cookie",
            &format!(
                "__Host-token={}; __Host-refreshToken={refresh_token}",
                expired()
            ),
        )],
    )
}

/// Where one request stands: decided, or waiting on the host for a store operation or a
/// fetch (the test performs them when it pleases).
enum Waiting {
    Store(StoreOp),
    Fetch(Box<Fetch>),
}

/// Runs `r` on `gate` from `round` until it is decided or waits.
fn step(gate: &Gate, r: &Request, round: &mut u8) -> Result<Decision, Waiting> {
    let step = gate.begin_round(r, *round);
    *round += 1;
    match step {
        Step::Decided(d) => Ok(d),
        Step::NeedsSignature(p) => {
            let valid = p.unverified.check_here();
            Ok(gate.resume(p, valid))
        }
        Step::NeedsStore(op) => Err(Waiting::Store(op)),
        Step::NeedsFetch(f) => Err(Waiting::Fetch(Box::new(f))),
        Step::NeedsBody(_) => panic!("a refresh reads no request body"),
    }
}

/// Runs `r` to its decision, performing every operation at once.
fn drive(gate: &Gate, store: &Store, ep: &Endpoint, r: &Request) -> Decision {
    let mut round = 0;
    loop {
        match step(gate, r, &mut round) {
            Ok(d) => return d,
            Err(Waiting::Store(op)) => gate.stored(op.id, store.perform(&op)),
            Err(Waiting::Fetch(f)) => {
                gate.complete(f.id, ep.serve(gate.now()));
            }
        }
    }
}

fn bearer(d: &Decision) -> String {
    header(forwarded(d), "authorization").unwrap().to_string()
}

fn warning(d: &Decision) -> Option<String> {
    d.error.as_ref().map(|e| format!("{}: {e}", e.code()))
}

/// Two isolates, the store they share, the token endpoint, and a request to refresh `rt-0`.
fn two_isolates() -> (Gate, Gate, Store, Endpoint, Request<'static>) {
    let clock = ManualClock::at(NOW);
    let (a, b) = (isolate(&clock), isolate(&clock));
    (
        a,
        b,
        Store::new(clock),
        Endpoint::default(),
        request("rt-0"),
    )
}

#[test]
fn two_isolates_share_one_refresh() {
    let (a, b, store, ep, r) = two_isolates();

    // A claims the refresh and calls the token endpoint.
    let (mut ra, mut rb) = (0, 0);
    let Err(Waiting::Store(claim)) = step(&a, &r, &mut ra) else {
        panic!("A claims first")
    };
    assert_eq!(
        (claim.action, claim.value.as_str(), claim.ttl_ms),
        (StoreAction::Claim, "claimed", 10_000)
    );
    a.stored(claim.id, store.perform(&claim));
    let Err(Waiting::Fetch(call)) = step(&a, &r, &mut ra) else {
        panic!("A owns the refresh")
    };

    // B finds the claim and waits for the outcome instead of calling the endpoint.
    let Err(Waiting::Store(taken)) = step(&b, &r, &mut rb) else {
        panic!()
    };
    assert_eq!(
        taken.key, claim.key,
        "one key per refresh token, the same in every isolate"
    );
    b.stored(taken.id, store.perform(&taken));
    let Err(Waiting::Store(read)) = step(&b, &r, &mut rb) else {
        panic!("B reads")
    };
    assert_eq!(
        (read.action, read.value.as_str(), read.wait_ms),
        (StoreAction::Read, "claimed", 6_000)
    );

    // A's call returns; A publishes the sealed outcome and answers.
    a.complete(call.id, ep.serve(NOW));
    let Err(Waiting::Store(publish)) = step(&a, &r, &mut ra) else {
        panic!("A publishes")
    };
    assert_eq!(
        (publish.action, publish.ttl_ms),
        (StoreAction::Publish, 30_000)
    );
    a.stored(publish.id, store.perform(&publish));
    let da = step(&a, &r, &mut ra).ok().unwrap();

    // B's wait ends with the outcome: the same tokens, no call of its own.
    b.stored(read.id, store.perform(&read));
    let db = step(&b, &r, &mut rb).ok().unwrap();
    assert_eq!((da.code, db.code), ("OK_REFRESHED", "OK_REFRESHED"));
    assert_eq!((da.error.clone(), db.error.clone()), (None, None));
    assert_eq!(bearer(&da), bearer(&db));
    assert_eq!(da.set_cookies, db.set_cookies);
    assert!(db.set_cookies[1].starts_with("__Host-refreshToken=rt-1;"));
    assert_eq!(ep.calls(), 1);
    // Later requests in B use B's copy for the grace window: nothing more asked of anyone.
    assert_eq!(bearer(&drive(&b, &store, &ep, &r)), bearer(&da));
    assert_eq!((ep.calls(), store.ops.borrow().len()), (1, 4));

    // What the store holds is no token: a keyed hash as the key, a sealed value.
    let entries = store.entries.borrow();
    let (key, (value, _)) = entries.iter().next().unwrap();
    assert!(key.starts_with("edgegate:refresh:") && !key.contains("rt-0"));
    let access = &bearer(&da)[7..];
    for secret in [
        "rt-0",
        "rt-1",
        access,
        &access[..20],
        &access[access.len() - 20..],
    ] {
        assert!(
            !value.contains(secret) && !key.contains(secret),
            "{secret} in the store"
        );
    }
    assert!(
        !value.contains('.') && !value.starts_with("ey"),
        "not a JWT, not JSON: {value}"
    );
    println!(
        "two isolates, one refresh token: {} token-endpoint call, store ops {:?}",
        ep.calls(),
        store
            .ops
            .borrow()
            .iter()
            .map(|o| o.action.as_str())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_request_that_comes_later_takes_the_published_outcome_at_once() {
    let clock = ManualClock::at(NOW);
    let (store, ep) = (Store::new(clock.clone()), Endpoint::default());
    let first = drive(&isolate(&clock), &store, &ep, &request("rt-0"));
    clock.advance(20.0);
    let before = store.ops.borrow().len();
    let late = drive(&isolate(&clock), &store, &ep, &request("rt-0"));
    assert_eq!((late.code, bearer(&late)), ("OK_REFRESHED", bearer(&first)));
    assert_eq!(
        (ep.calls(), store.ops.borrow().len() - before),
        (1, 1),
        "one claim, answered with the outcome"
    );
    // Past grace the outcome is gone from the store: the old token goes to the provider
    // again (which, rotating, would refuse it).
    clock.advance(11.0);
    drive(&isolate(&clock), &store, &ep, &request("rt-0"));
    assert_eq!(ep.calls(), 2);
}

#[test]
fn fifty_requests_in_each_of_two_isolates_make_one_call() {
    let (a, b, store, ep, r) = two_isolates();
    // Every request asks before any operation ends: in each isolate they share its ticket.
    let ops = |gate: &Gate| -> Vec<u64> {
        (0..50)
            .map(|_| match gate.begin(&r) {
                Step::NeedsStore(op) => op.id,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let (ia, ib) = (ops(&a), ops(&b));
    assert!(ia.iter().all(|id| *id == ia[0]) && ib.iter().all(|id| *id == ib[0]) && ia[0] != ib[0]);
    let decisions: Vec<Decision> = [&a, &b]
        .iter()
        .flat_map(|g| {
            (0..50)
                .map(|_| drive(g, &store, &ep, &r))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(decisions
        .iter()
        .all(|d| d.code == "OK_REFRESHED" && d.error.is_none()));
    assert_eq!(ep.calls(), 1);
    assert_eq!(
        (
            store.count(StoreAction::Claim),
            store.count(StoreAction::Publish)
        ),
        (2, 1)
    );
}

#[test]
fn a_store_that_fails_falls_back_to_the_isolate_and_says_why() {
    let clock = ManualClock::at(NOW);
    let (store, ep) = (Store::new(clock.clone()), Endpoint::default());
    *store.fail.borrow_mut() = true;
    let a = isolate(&clock);
    let d = drive(&a, &store, &ep, &request("rt-0"));
    assert_eq!(d.code, "OK_REFRESHED");
    assert_eq!(
        warning(&d).as_deref(),
        Some("ERR_REFRESH_UNCOORDINATED: refreshed without coordination across instances: the store failed or timed out")
    );
    // Within the isolate it is still one call, and the outcome serves the grace window.
    let again = drive(&a, &store, &ep, &request("rt-0"));
    assert_eq!((again.code, ep.calls()), ("OK_REFRESHED", 1));
}

#[test]
fn garbage_an_old_outcome_or_another_tokens_outcome_is_never_used() {
    let clock = ManualClock::at(NOW);
    let (store, ep) = (Store::new(clock.clone()), Endpoint::default());
    for (name, answer, why) in [
        (
            "garbage",
            "!!not-sealed!!",
            "the store answered a value that does not open",
        ),
        (
            "a JWT",
            &expired(),
            "the store answered a value that does not open",
        ),
        ("empty", "", "the store answered a value that does not open"),
    ] {
        *store.answer.borrow_mut() = Some(Some(answer.to_string()));
        let d = drive(
            &isolate(&clock),
            &store,
            &ep,
            &request(&format!("rt-{name}")),
        );
        assert_eq!(d.code, "OK_REFRESHED", "{name}");
        assert!(warning(&d).unwrap().ends_with(why), "{name}: {d:?}");
    }
    *store.answer.borrow_mut() = None;
    // A real outcome, for another refresh token: it does not open under this one's key.
    let other = drive(&isolate(&clock), &store, &ep, &request("rt-mine"));
    let sealed = store
        .entries
        .borrow()
        .values()
        .find(|(v, _)| v != "claimed")
        .unwrap()
        .0
        .clone();
    *store.answer.borrow_mut() = Some(Some(sealed.clone()));
    let d = drive(&isolate(&clock), &store, &ep, &request("rt-yours"));
    assert_ne!(
        bearer(&d),
        bearer(&other),
        "a session only ever gets its own token's outcome"
    );
    assert!(warning(&d).unwrap().ends_with("does not open"));
    // Its own, but older than grace (a store that does not expire, or a clock far behind).
    store.entries.borrow_mut().clear();
    let calls = ep.calls();
    let d = drive(&isolate(&clock), &store, &ep, &request("rt-mine"));
    assert_eq!(
        (bearer(&d), ep.calls()),
        (bearer(&other), calls),
        "within grace: used"
    );
    clock.advance(31.0);
    let d = drive(&isolate(&clock), &store, &ep, &request("rt-mine"));
    assert!(warning(&d)
        .unwrap()
        .ends_with("the outcome in the store is older than grace"));
    assert_eq!(ep.calls(), calls + 1);
}

#[test]
fn no_outcome_within_the_wait_and_a_dead_owner() {
    let clock = ManualClock::at(NOW);
    let (store, ep) = (Store::new(clock.clone()), Endpoint::default());
    let r = request("rt-0");
    // A claims, then dies before calling the endpoint.
    let mut round = 0;
    let Err(Waiting::Store(claim)) = step(&isolate(&clock), &r, &mut round) else {
        panic!()
    };
    assert_eq!(store.perform(&claim), Stored::Answered(None));
    // B waits out waitDuration (the store still holds the claim) and refreshes on its own.
    let d = drive(&isolate(&clock), &store, &ep, &r);
    assert_eq!(d.code, "OK_REFRESHED");
    assert!(warning(&d)
        .unwrap()
        .ends_with("no outcome within waitDuration"));
    assert_eq!((ep.calls(), store.count(StoreAction::Read)), (1, 1));
    // After claimTtl the dead claim is gone: the next request owns the refresh of its token.
    clock.advance(10.0);
    let d = drive(&isolate(&clock), &store, &ep, &request("rt-1"));
    assert_eq!((d.code, d.error.clone()), ("OK_REFRESHED", None));
}

#[test]
fn an_owner_that_cannot_reach_the_endpoint_releases_and_a_refusal_is_shared() {
    let clock = ManualClock::at(NOW);
    let (store, ep) = (Store::new(clock.clone()), Endpoint::default());
    *ep.answer.borrow_mut() = Some((503, "busy".into()));
    let d = drive(&isolate(&clock), &store, &ep, &request("rt-0"));
    assert_eq!((status(&d), d.code), (503, "ERR_REFRESH_FAILED"));
    assert_eq!(store.count(StoreAction::Release), 1);
    assert!(
        store.entries.borrow().is_empty(),
        "released: a later request may try again"
    );

    // A refusal is an outcome: published, so another isolate clears the session without
    // calling the endpoint.
    *ep.answer.borrow_mut() = Some((400, r#"{"error":"invalid_grant"}"#.into()));
    let a = drive(&isolate(&clock), &store, &ep, &request("revoked"));
    let calls = ep.calls();
    let b = drive(&isolate(&clock), &store, &ep, &request("revoked"));
    assert_eq!(ep.calls(), calls);
    assert_eq!(
        (a.code, b.code),
        ("ERR_REFRESH_FAILED", "ERR_REFRESH_FAILED")
    );
    assert_eq!(a.set_cookies, b.set_cookies);
    assert!(b.set_cookies[0].ends_with("Max-Age=0"));
}

#[test]
fn without_a_store_the_host_fails_every_operation() {
    // Gate::decide_with has no store: the refresh goes uncoordinated, and says so.
    let clock = ManualClock::at(NOW);
    let gate = isolate(&clock);
    let ep = Endpoint::default();
    let d = gate.decide_with(&request("rt-0"), |_| ep.serve(NOW));
    assert_eq!((d.code, ep.calls()), ("OK_REFRESHED", 1));
    assert!(warning(&d)
        .unwrap()
        .ends_with("the store failed or timed out"));
}

#[test]
fn coordination_options_are_checked() {
    let clock = ManualClock::at(NOW);
    for (coordination, code) in [
        (json!({}), "ERR_CONFIG_INVALID"),
        (json!({ "secret": "short" }), "ERR_CONFIG_WEAK_KEY"),
        (
            json!({ "secrets": [STORE_SECRET, "short"] }),
            "ERR_CONFIG_WEAK_KEY",
        ),
        (
            json!({ "secret": STORE_SECRET, "claimTtl": 5 }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "secret": STORE_SECRET, "claimTtl": 600_000 }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "secret": STORE_SECRET, "waitDuration": "1m" }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "secret": STORE_SECRET, "timeoutDuration": 0 }),
            "ERR_CONFIG_INVALID",
        ),
        (
            json!({ "secret": STORE_SECRET, "waitDuraton": 1 }),
            "ERR_CONFIG_INVALID",
        ),
    ] {
        let refresh = json!({ "tokenEndpoint": ENDPOINT, "clientId": "web", "coordination": coordination.clone() });
        let o = options(&["HS256"], json!(SECRET), json!({ "refresh": refresh }));
        let err = Options::from_json(&o.to_string())
            .and_then(|o| Gate::with_clock(o, clock.clone()))
            .unwrap_err();
        assert_eq!(err.code(), code, "{coordination}");
    }
    // Rotation: the newest secret seals; an instance still on the old one keeps its own keys.
    let rotated = coordinated(
        json!({ "secrets": ["b-coordination-secret-of-32-bytes-or-more", STORE_SECRET], "waitDuration": "2s", "claimTtl": "30s", "timeoutDuration": 0.5 }),
        &clock,
    );
    let Step::NeedsStore(op) = rotated.begin(&request("rt-0")) else {
        panic!()
    };
    assert_eq!((op.ttl_ms, op.timeout_ms), (30_000, 500));
}
