//! A small backtracking matcher for the regexes path-to-regexp emits: JavaScript syntax with
//! the `i` flag, including the lookahead Next users write in custom groups
//! (`((?!api|_next/static).*)`). It replaces a general regex crate whose Unicode tables
//! alone were a third of the `.wasm`.
//!
//! Only whether a match exists is asked, so greedy and lazy quantifiers behave alike.
//! Every match has a step budget and a depth bound; running out is an error (the gate then
//! refuses the request), never a silent miss. Syntax outside the supported subset (back
//! references, lookbehind, named groups, `\b`, Unicode escapes with `u`-mode meaning) is
//! refused when the pattern is compiled.

mod parse;

use std::cell::Cell;

use parse::Parser;

/// The budget ran out: too many steps or too deep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitExceeded;

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    /// `.`: anything but a line terminator.
    Any,
    Class(Class),
    Start,
    End,
    /// Alternatives, each a sequence (a group of any kind).
    Alt(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
    Look {
        negate: bool,
        body: Box<Node>,
    },
}

#[derive(Debug, Clone)]
struct Class {
    negate: bool,
    items: Vec<ClassItem>,
}

#[derive(Debug, Clone, Copy)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    root: Vec<Node>,
    /// Every alternative starts with `^`: only position 0 can match.
    anchored: bool,
    case_insensitive: bool,
    step_limit: usize,
}

const MAX_DEPTH: usize = 1000;
const MAX_PATTERN: usize = 16 * 1024;

impl Regex {
    pub fn new(source: &str, case_insensitive: bool, step_limit: usize) -> Result<Regex, String> {
        if source.len() > MAX_PATTERN {
            return Err("pattern too long".into());
        }
        let chars: Vec<char> = source.chars().collect();
        let mut p = Parser { s: &chars, i: 0 };
        let root = p.alternation(0)?;
        if p.i != chars.len() {
            return Err(format!("unmatched ')' at {}", p.i));
        }
        let anchored = matches!(&root, Node::Alt(alts)
            if alts.iter().all(|a| matches!(a.first(), Some(Node::Start))));
        Ok(Regex {
            root: vec![root],
            anchored,
            case_insensitive,
            step_limit,
        })
    }

    /// Does the pattern match anywhere in `text`?
    pub fn is_match(&self, text: &str) -> Result<bool, LimitExceeded> {
        let text: Vec<char> = text.chars().collect();
        let m = Machine {
            text: &text,
            ci: self.case_insensitive,
            steps: Cell::new(0),
            limit: self.step_limit,
            depth: Cell::new(0),
        };
        let last = if self.anchored { 0 } else { text.len() };
        for start in 0..=last {
            if m.seq(&self.root, start, &mut |_| Ok(true))? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

// --- matching ----------------------------------------------------------------------------

type Step = Result<bool, LimitExceeded>;

struct Machine<'t> {
    text: &'t [char],
    ci: bool,
    steps: Cell<usize>,
    limit: usize,
    depth: Cell<usize>,
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// ECMAScript's Canonicalize for `i` without `u`: the single-character upper case, unless
/// that would map a non-ASCII character to ASCII.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
fn canon(c: char) -> char {
    // Paths are nearly all ASCII: skip the Unicode tables there.
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) if !(c as u32 >= 128 && (u as u32) < 128) => u,
        _ => c,
    }
}

impl Class {
    fn contains_exact(&self, c: char) -> bool {
        self.items.iter().any(|item| match *item {
            ClassItem::Range(lo, hi) => lo <= c && c <= hi,
            ClassItem::Digit(yes) => c.is_ascii_digit() == yes,
            ClassItem::Word(yes) => (c.is_ascii_alphanumeric() || c == '_') == yes,
            ClassItem::Space(yes) => is_js_space(c) == yes,
        })
    }

    fn matches(&self, c: char, ci: bool) -> bool {
        let found = if ci && c.is_ascii() {
            // ASCII folds only within ASCII (see `canon`).
            self.contains_exact(c)
                || self.contains_exact(c.to_ascii_lowercase())
                || self.contains_exact(c.to_ascii_uppercase())
        } else if ci {
            // Some member canonicalizes to the same character as `c`.
            let k = canon(c);
            std::iter::once(c)
                .chain(c.to_lowercase())
                .chain(c.to_uppercase())
                .any(|m| canon(m) == k && self.contains_exact(m))
        } else {
            self.contains_exact(c)
        };
        found != self.negate
    }
}

fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

impl Machine<'_> {
    fn tick(&self) -> Result<(), LimitExceeded> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > self.limit {
            Err(LimitExceeded)
        } else {
            Ok(())
        }
    }

    /// Does the single-character node `node` match at `i`?
    fn one(&self, node: &Node, i: usize) -> Option<bool> {
        let c = self.text.get(i).copied();
        Some(match node {
            Node::Char(want) => {
                c.is_some_and(|c| c == *want || (self.ci && canon(c) == canon(*want)))
            }
            Node::Any => c.is_some_and(|c| !is_line_terminator(c)),
            Node::Class(class) => c.is_some_and(|c| class.matches(c, self.ci)),
            _ => return None,
        })
    }

    /// Matches `nodes` at `i`, then hands the end position to `k`.
    fn seq(&self, nodes: &[Node], i: usize, k: &mut dyn FnMut(usize) -> Step) -> Step {
        self.tick()?;
        let depth = self.depth.get() + 1;
        if depth > MAX_DEPTH {
            return Err(LimitExceeded);
        }
        self.depth.set(depth);
        let result = self.seq_inner(nodes, i, k);
        self.depth.set(depth - 1);
        result
    }

    fn seq_inner(&self, nodes: &[Node], i: usize, k: &mut dyn FnMut(usize) -> Step) -> Step {
        let Some((first, rest)) = nodes.split_first() else {
            return k(i);
        };
        if let Some(ok) = self.one(first, i) {
            return if ok {
                self.seq(rest, i + 1, k)
            } else {
                Ok(false)
            };
        }
        match first {
            Node::Start => {
                if i == 0 {
                    self.seq(rest, i, k)
                } else {
                    Ok(false)
                }
            }
            Node::End => {
                if i == self.text.len() {
                    self.seq(rest, i, k)
                } else {
                    Ok(false)
                }
            }
            Node::Alt(alts) => {
                for alt in alts {
                    if self.seq(alt, i, &mut |j| self.seq(rest, j, k))? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Node::Look { negate, body } => {
                let found = self.seq(std::slice::from_ref(body), i, &mut |_| Ok(true))?;
                if found != *negate {
                    self.seq(rest, i, k)
                } else {
                    Ok(false)
                }
            }
            Node::Repeat { node, min, max } => {
                if self.one(node, i).is_some() {
                    // One character per iteration: count the run, then try each length,
                    // longest first, without recursing per character.
                    let mut run = 0u32;
                    while max.is_none_or(|m| run < m)
                        && self.one(node, i + run as usize) == Some(true)
                    {
                        self.tick()?;
                        run += 1;
                    }
                    let mut n = run;
                    loop {
                        if n < *min {
                            return Ok(false);
                        }
                        if self.seq(rest, i + n as usize, k)? {
                            return Ok(true);
                        }
                        if n == 0 {
                            return Ok(false);
                        }
                        n -= 1;
                    }
                }
                self.repeat(node, *min, *max, 0, i, rest, k)
            }
            Node::Char(_) | Node::Any | Node::Class(_) => unreachable!("handled by one()"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
    fn repeat(
        &self,
        node: &Node,
        min: u32,
        max: Option<u32>,
        count: u32,
        i: usize,
        rest: &[Node],
        k: &mut dyn FnMut(usize) -> Step,
    ) -> Step {
        if max.is_none_or(|m| count < m) {
            let more = self.seq(std::slice::from_ref(node), i, &mut |j| {
                // An iteration that consumed nothing ends the loop (as in ECMAScript).
                if j == i && count >= min {
                    return Ok(false);
                }
                self.repeat(node, min, max, count + 1, j, rest, k)
            })?;
            if more {
                return Ok(true);
            }
        }
        if count >= min {
            self.seq(rest, i, k)
        } else {
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(re: &str, text: &str) -> bool {
        Regex::new(re, true, 100_000)
            .unwrap()
            .is_match(text)
            .unwrap()
    }

    #[test]
    fn basics() {
        assert!(m("^\\/dashboard(?:\\/(.*))?[\\/#\\?]?$", "/Dashboard/x/y"));
        assert!(!m("^\\/dashboard(?:\\/(.*))?[\\/#\\?]?$", "/dashboardx"));
        assert!(m("^(?:\\/((?!api|_next\\/static).*))?$", "/about"));
        assert!(!m("^(?:\\/((?!api|_next\\/static).*))?$", "/api/x"));
        assert!(m("^a{2,3}$", "aaa") && !m("^a{2,3}$", "aaaa") && m("^x{$", "x{"));
        assert!(m("^[a-z]+$", "ABC") && !m("^[^a-z]+$", "abc"));
        assert!(m("^caf\u{e9}$", "CAF\u{c9}"));
        assert!(!m("^[A-Z]$", "\u{17f}"), "long s does not fold to ASCII");
        assert!(m("^\\d+\\.json$", "12.JSON"));
    }

    #[test]
    fn unsupported_syntax_is_refused() {
        for bad in [
            "(?<n>a)", "(?<=a)b", "\\1", "a**", "(a", "a)", "[a", "\\b", "[z-a]", "a{3,2}",
        ] {
            assert!(Regex::new(bad, true, 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn budgets_fail_closed() {
        let re = Regex::new("^(a+)+$", true, 100_000).unwrap();
        assert_eq!(
            re.is_match(&format!("{}b", "a".repeat(40))),
            Err(LimitExceeded)
        );
        let deep = Regex::new("^(?:a|b)*$", true, 10_000_000).unwrap();
        assert_eq!(deep.is_match(&"ab".repeat(2000)), Err(LimitExceeded));
    }
}
