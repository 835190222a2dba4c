//! File bytes shown to a person are escaped here, once for every reader: control
//! characters (terminal escape sequences among them) and non-printable Unicode
//! (bidirectional overrides, invisible format characters) become Rust escapes such as
//! `\u{1b}`, so a hostile file cannot drive the terminal that prints a message or a title.
//!
//! ```
//! assert_eq!(ebm_data::escape::escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
//! assert_eq!(ebm_data::escape::quote("x\ny"), "'x\\ny'");
//! ```

/// Longest excerpt [`quote`] shows, in characters, before cutting it with `...`.
pub const MAX_QUOTED: usize = 80;

/// `text` with every character that is not printable (controls, escapes, bidirectional
/// overrides) written as a Rust escape; everything else, quotes included, is kept.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\'' | '"' | '\\') || c.escape_debug().len() == 1 {
            out.push(c);
        } else {
            // After a letter, `escape_debug` escapes only what is not printable (a
            // combining accent is kept, it escapes only at the start of a string).
            let pair: String = ['x', c].iter().collect();
            out.extend(pair.escape_debug().skip(1));
        }
    }
    out
}

/// `text` for an error message: escaped by [`escape`], cut to [`MAX_QUOTED`] characters
/// (with `...`), between single quotes.
pub fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED {
        format!("'{}'", escape(text))
    } else {
        let cut: String = text.chars().take(MAX_QUOTED - 3).collect();
        format!("'{}...'", escape(&cut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_escaped() {
        let e = quote("\u{1b}]0;owned\u{7}\r\u{202e}ok");
        assert!(!e.chars().any(|c| c.is_control() || c == '\u{202e}'), "{e}");
        assert_eq!(e, "'\\u{1b}]0;owned\\u{7}\\r\\u{202e}ok'");
        assert_eq!(quote("plain é"), "'plain é'");
        assert_eq!(
            escape("Schindler's \"List\" e\u{301}"),
            "Schindler's \"List\" e\u{301}"
        );
        let long = quote(&"x".repeat(1000));
        assert_eq!(long.len(), 2 + 77 + 3);
    }
}
