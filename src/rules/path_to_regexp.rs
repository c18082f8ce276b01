//! path-to-regexp 6.3's `pathToRegexp` with its default options (the compiler Next compiles
//! `matcher` sources with), ported line by line: lexer, parser, regex source. Checked
//! against the real one by `tests/differential.rs`.

/// path-to-regexp's default `delimiter` and `prefixes`, which Next does not override.
const DELIMITER: &str = "/#?";
const PREFIXES: &str = "./";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Modifier,
    EscapedChar,
    Open,
    Close,
    Name,
    Pattern,
    Char,
    End,
}

#[derive(Debug, Clone)]
struct Lexeme {
    kind: Kind,
    index: usize,
    value: String,
}

/// path-to-regexp 6.3 `lexer`. Indices count chars where JS counts UTF-16 units; they only
/// appear in error messages.
fn lex(input: &str) -> std::result::Result<Vec<Lexeme>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let push = |tokens: &mut Vec<Lexeme>, kind, index, value: String| {
        tokens.push(Lexeme { kind, index, value })
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' | '+' | '?' => {
                push(&mut tokens, Kind::Modifier, i, c.to_string());
                i += 1;
            }
            '\\' => {
                // JS reads `str[i++]` past the end as `undefined`; such a token is dropped
                // later by `consumeText`, so an empty value reproduces it.
                let value = chars.get(i + 1).map(|c| c.to_string()).unwrap_or_default();
                push(&mut tokens, Kind::EscapedChar, i, value);
                i += 2;
            }
            '{' => {
                push(&mut tokens, Kind::Open, i, c.to_string());
                i += 1;
            }
            '}' => {
                push(&mut tokens, Kind::Close, i, c.to_string());
                i += 1;
            }
            ':' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j == i + 1 {
                    return Err(format!("Missing parameter name at {i}"));
                }
                push(&mut tokens, Kind::Name, i, chars[i + 1..j].iter().collect());
                i = j;
            }
            '(' => {
                let mut count = 1;
                let mut pattern = String::new();
                let mut j = i + 1;
                if chars.get(j) == Some(&'?') {
                    return Err(format!("Pattern cannot start with \"?\" at {j}"));
                }
                while j < chars.len() {
                    if chars[j] == '\\' {
                        pattern.push('\\');
                        if let Some(&next) = chars.get(j + 1) {
                            pattern.push(next);
                        }
                        j += 2;
                        continue;
                    }
                    if chars[j] == ')' {
                        count -= 1;
                        if count == 0 {
                            j += 1;
                            break;
                        }
                    } else if chars[j] == '(' {
                        count += 1;
                        if chars.get(j + 1) != Some(&'?') {
                            return Err(format!("Capturing groups are not allowed at {j}"));
                        }
                    }
                    pattern.push(chars[j]);
                    j += 1;
                }
                if count != 0 {
                    return Err(format!("Unbalanced pattern at {i}"));
                }
                if pattern.is_empty() {
                    return Err(format!("Missing pattern at {i}"));
                }
                push(&mut tokens, Kind::Pattern, i, pattern);
                i = j;
            }
            _ => {
                push(&mut tokens, Kind::Char, i, c.to_string());
                i += 1;
            }
        }
    }
    push(&mut tokens, Kind::End, i, String::new());
    Ok(tokens)
}

/// A parsed path: literal text or a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Text(String),
    Param {
        /// Named (`:id`) or anonymous (`(\d+)`); only needed for the "two params" check.
        named: bool,
        prefix: String,
        suffix: String,
        pattern: String,
        modifier: String,
    },
}

struct Parser {
    tokens: Vec<Lexeme>,
    i: usize,
}

impl Parser {
    /// JS `tryConsume`: the empty string is falsy, so callers test `Some` *and* non-empty.
    fn try_consume(&mut self, kind: Kind) -> Option<String> {
        match self.tokens.get(self.i) {
            Some(t) if t.kind == kind => {
                self.i += 1;
                Some(t.value.clone())
            }
            _ => None,
        }
    }

    fn must_consume(&mut self, kind: Kind) -> std::result::Result<String, String> {
        if let Some(v) = self.try_consume(kind) {
            return Ok(v);
        }
        let t = &self.tokens[self.i.min(self.tokens.len() - 1)];
        Err(format!(
            "Unexpected {:?} at {}, expected {:?}",
            t.kind, t.index, kind
        ))
    }

    fn consume_text(&mut self) -> String {
        let mut result = String::new();
        loop {
            match self
                .try_consume(Kind::Char)
                .or_else(|| self.try_consume(Kind::EscapedChar))
            {
                Some(v) if !v.is_empty() => result.push_str(&v),
                _ => return result,
            }
        }
    }
}

fn truthy(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

/// path-to-regexp 6.3 `parse` with default options.
fn parse(input: &str) -> std::result::Result<Vec<Token>, String> {
    let mut p = Parser {
        tokens: lex(input)?,
        i: 0,
    };
    let mut result: Vec<Token> = Vec::new();
    let mut path = String::new();

    let safe_pattern = |result: &[Token], prefix: &str| -> std::result::Result<String, String> {
        let prev = result.last();
        let prev_text = if !prefix.is_empty() {
            prefix.to_owned()
        } else if let Some(Token::Text(t)) = prev {
            t.clone()
        } else {
            String::new()
        };
        if prev.is_some() && prev_text.is_empty() {
            return Err("Must have text between two parameters".to_owned());
        }
        let delimiter = escape_string(DELIMITER);
        if prev_text.is_empty() || prev_text.chars().any(|c| DELIMITER.contains(c)) {
            return Ok(format!("[^{delimiter}]+?"));
        }
        Ok(format!(
            "(?:(?!{})[^{delimiter}])+?",
            escape_string(&prev_text)
        ))
    };

    while p.i < p.tokens.len() {
        let ch = p.try_consume(Kind::Char);
        let name = p.try_consume(Kind::Name);
        let pattern = p.try_consume(Kind::Pattern);
        if truthy(&name) || truthy(&pattern) {
            let mut prefix = ch.unwrap_or_default();
            if !PREFIXES.contains(prefix.as_str()) {
                path.push_str(&prefix);
                prefix.clear();
            }
            if !path.is_empty() {
                result.push(Token::Text(std::mem::take(&mut path)));
            }
            let pattern = match pattern.filter(|s| !s.is_empty()) {
                Some(pat) => pat,
                None => safe_pattern(&result, &prefix)?,
            };
            result.push(Token::Param {
                named: truthy(&name),
                prefix,
                suffix: String::new(),
                pattern,
                modifier: p.try_consume(Kind::Modifier).unwrap_or_default(),
            });
            continue;
        }
        let value = ch
            .filter(|s| !s.is_empty())
            .or_else(|| p.try_consume(Kind::EscapedChar));
        if let Some(v) = value.filter(|s| !s.is_empty()) {
            path.push_str(&v);
            continue;
        }
        if !path.is_empty() {
            result.push(Token::Text(std::mem::take(&mut path)));
        }
        if p.try_consume(Kind::Open).is_some() {
            let prefix = p.consume_text();
            let name = p.try_consume(Kind::Name).unwrap_or_default();
            let pattern = p.try_consume(Kind::Pattern).unwrap_or_default();
            let suffix = p.consume_text();
            p.must_consume(Kind::Close)?;
            let pattern = if !name.is_empty() && pattern.is_empty() {
                safe_pattern(&result, &prefix)?
            } else {
                pattern
            };
            result.push(Token::Param {
                named: !name.is_empty(),
                prefix,
                suffix,
                pattern,
                modifier: p.try_consume(Kind::Modifier).unwrap_or_default(),
            });
            continue;
        }
        p.must_consume(Kind::End)?;
    }
    Ok(result)
}

/// path-to-regexp's `escapeString`.
fn escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if ".+*?=^!:${}()[]|/\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// path-to-regexp 6.3 `pathToRegexp(path)` with default options; returns the regex source
/// (to be compiled with the `i` flag).
pub fn path_to_regexp(input: &str) -> std::result::Result<String, String> {
    path_to_regexp_with(input, false)
}

/// `pathToRegexp(path, [], { strict })`: strict drops the optional trailing delimiter.
pub(crate) fn path_to_regexp_with(
    input: &str,
    strict: bool,
) -> std::result::Result<String, String> {
    let tokens = parse(input)?;
    let mut route = String::from("^");
    for token in &tokens {
        match token {
            Token::Text(text) => route.push_str(&escape_string(text)),
            Token::Param {
                named: _,
                prefix,
                suffix,
                pattern,
                modifier,
            } => {
                let prefix = escape_string(prefix);
                let suffix = escape_string(suffix);
                let repeat = modifier == "+" || modifier == "*";
                if !pattern.is_empty() {
                    if !prefix.is_empty() || !suffix.is_empty() {
                        if repeat {
                            let m = if modifier == "*" { "?" } else { "" };
                            route.push_str(&format!(
                                "(?:{prefix}((?:{pattern})(?:{suffix}{prefix}(?:{pattern}))*){suffix}){m}"
                            ));
                        } else {
                            route.push_str(&format!("(?:{prefix}({pattern}){suffix}){modifier}"));
                        }
                    } else {
                        if repeat {
                            return Err(
                                "Can not repeat a parameter without a prefix and suffix".into()
                            );
                        }
                        route.push_str(&format!("({pattern}){modifier}"));
                    }
                } else {
                    route.push_str(&format!("(?:{prefix}{suffix}){modifier}"));
                }
            }
        }
    }
    if !strict {
        route.push_str(&format!("[{}]?", escape_string(DELIMITER)));
    }
    route.push('$');
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_like_path_to_regexp() {
        // Outputs copied from path-to-regexp 6.3.0 in node.
        assert_eq!(
            path_to_regexp("/dashboard/:path*").unwrap(),
            r"^\/dashboard(?:\/((?:[^\/#\?]+?)(?:\/(?:[^\/#\?]+?))*))?[\/#\?]?$"
        );
        assert_eq!(
            path_to_regexp("/user/:id(\\d+)").unwrap(),
            r"^\/user(?:\/(\d+))[\/#\?]?$"
        );
        assert!(path_to_regexp("/:a:b").is_err());
        assert!(path_to_regexp("/(?x)").is_err());
        assert!(path_to_regexp("/(a(b))").is_err());
        assert!(path_to_regexp("/:").is_err());
        assert!(path_to_regexp("/{abc").is_err());
    }
}
