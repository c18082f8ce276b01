//! The pattern's parser: JavaScript regex syntax, the subset path-to-regexp emits and Next
//! users write, into the nodes the matcher walks; anything else is refused here.

use super::{Class, ClassItem, Node};

pub(super) struct Parser<'a> {
    /// The pattern, and where the parser is in it.
    pub(super) s: &'a [char],
    pub(super) i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn alternation(&mut self, depth: usize) -> Result<Node, String> {
        if depth > 100 {
            return Err("groups nested too deeply".into());
        }
        let mut alts = vec![self.sequence(depth)?];
        while self.eat('|') {
            alts.push(self.sequence(depth)?);
        }
        Ok(Node::Alt(alts))
    }

    fn sequence(&mut self, depth: usize) -> Result<Vec<Node>, String> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom(depth)?;
            let atom = self.quantified(atom)?;
            out.push(atom);
        }
        Ok(out)
    }

    fn atom(&mut self, depth: usize) -> Result<Node, String> {
        let at = self.i;
        let c = self.peek().ok_or("unexpected end")?;
        self.i += 1;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '[' => Node::Class(self.class()?),
            '(' => {
                let mut look = None;
                if self.eat('?') {
                    look = match self.peek() {
                        Some(':') => None,
                        Some('=') => Some(false),
                        Some('!') => Some(true),
                        _ => return Err(format!("unsupported group syntax at {at}")),
                    };
                    self.i += 1;
                }
                let body = self.alternation(depth + 1)?;
                if !self.eat(')') {
                    return Err(format!("unterminated group at {at}"));
                }
                match look {
                    Some(negate) => Node::Look {
                        negate,
                        body: Box::new(body),
                    },
                    None => body,
                }
            }
            ')' => return Err(format!("unmatched ')' at {at}")),
            '*' | '+' | '?' => return Err(format!("nothing to repeat at {at}")),
            '{' if self.looks_like_quantifier(at) => {
                return Err(format!("nothing to repeat at {at}"))
            }
            '\\' => self.escape(false)?,
            c => Node::Char(c),
        })
    }

    /// `{n}`, `{n,}` or `{n,m}` starting at `at` (otherwise `{` is a literal in JS).
    fn looks_like_quantifier(&self, at: usize) -> bool {
        self.brace_quantifier(at).is_some()
    }

    fn brace_quantifier(&self, at: usize) -> Option<(u32, Option<u32>, usize)> {
        let s = self.s;
        let mut i = at + 1;
        let digits = |i: &mut usize| {
            let start = *i;
            while s.get(*i).is_some_and(|c| c.is_ascii_digit()) {
                *i += 1;
            }
            (*i > start).then(|| s[start..*i].iter().collect::<String>())
        };
        let min: u32 = digits(&mut i)?.parse().ok()?;
        let max = if s.get(i) == Some(&',') {
            i += 1;
            match digits(&mut i) {
                Some(d) => Some(d.parse().ok()?),
                None => None,
            }
        } else {
            Some(min)
        };
        (s.get(i) == Some(&'}')).then_some((min, max, i + 1))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => match self.brace_quantifier(self.i) {
                Some((min, max, end)) => {
                    if max.is_some_and(|m| m < min) {
                        return Err("numbers out of order in {} quantifier".into());
                    }
                    self.i = end - 1;
                    (min, max)
                }
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        self.i += 1;
        self.eat('?'); // lazy: the same for "is there a match"
        if matches!(atom, Node::Start | Node::End | Node::Look { .. }) {
            return Err("nothing to repeat".into());
        }
        if matches!(self.peek(), Some('*' | '+' | '?')) {
            return Err("nothing to repeat".into());
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min: min.min(10_000),
            max: max.map(|m| m.min(10_000)),
        })
    }

    fn escape(&mut self, in_class: bool) -> Result<Node, String> {
        let c = self.peek().ok_or("\\ at end of pattern")?;
        self.i += 1;
        let class = |item| {
            Node::Class(Class {
                negate: false,
                items: vec![item],
            })
        };
        Ok(match c {
            'd' => class(ClassItem::Digit(true)),
            'D' => class(ClassItem::Digit(false)),
            'w' => class(ClassItem::Word(true)),
            'W' => class(ClassItem::Word(false)),
            's' => class(ClassItem::Space(true)),
            'S' => class(ClassItem::Space(false)),
            'n' => Node::Char('\n'),
            'r' => Node::Char('\r'),
            't' => Node::Char('\t'),
            'f' => Node::Char('\u{c}'),
            'v' => Node::Char('\u{b}'),
            '0' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => Node::Char('\0'),
            'x' => Node::Char(self.hex(2)?),
            'u' => Node::Char(self.hex(4)?),
            'b' if in_class => Node::Char('\u{8}'),
            '-' if in_class => Node::Char('-'),
            c if c.is_ascii_punctuation() || c == ' ' => Node::Char(c),
            c => return Err(format!("unsupported escape \\{c}")),
        })
    }

    fn hex(&mut self, n: usize) -> Result<char, String> {
        let digits: String = self
            .s
            .get(self.i..self.i + n)
            .ok_or("short escape")?
            .iter()
            .collect();
        let v = u32::from_str_radix(&digits, 16).map_err(|_| "bad hex escape")?;
        self.i += n;
        char::from_u32(v).ok_or_else(|| "escape is not a character".into())
    }

    fn class(&mut self) -> Result<Class, String> {
        let negate = self.eat('^');
        let mut items = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated character class")?;
            self.i += 1;
            if c == ']' {
                break;
            }
            let lo = if c == '\\' {
                match self.escape(true)? {
                    Node::Char(c) => c,
                    Node::Class(cl) => {
                        items.extend(cl.items);
                        continue;
                    }
                    _ => unreachable!("escapes are characters or classes"),
                }
            } else {
                c
            };
            // A range `lo-hi`, unless the `-` is last.
            if self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|&c| c != ']') {
                self.i += 1;
                let c = self.peek().ok_or("unterminated character class")?;
                self.i += 1;
                let hi = if c == '\\' {
                    match self.escape(true)? {
                        Node::Char(c) => c,
                        _ => return Err("a class escape cannot end a range".into()),
                    }
                } else {
                    c
                };
                if hi < lo {
                    return Err("range out of order in character class".into());
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Class { negate, items })
    }
}
