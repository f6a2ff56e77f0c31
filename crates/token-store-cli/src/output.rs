//! Printing: text or JSON on stdout, notes on stderr, `--quiet`.

use std::io::IsTerminal;

use serde_json::Value;

/// Where and how a command prints.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// One JSON document on stdout instead of text.
    pub json: bool,
    /// No text output (JSON is still printed when asked for).
    pub quiet: bool,
}

impl Out {
    /// Print the command's result: `value` under `--json`, else `text` (unless `--quiet`).
    pub fn result(&self, text: impl FnOnce() -> String, value: impl FnOnce() -> Value) {
        if self.json {
            println!("{}", value());
        } else if !self.quiet {
            let text = text();
            if !text.is_empty() {
                println!("{}", text.trim_end_matches('\n'));
            }
        }
    }

    /// Whether an interactive progress bar may be drawn.
    pub fn progress(&self) -> bool {
        !self.json && !self.quiet && std::io::stderr().is_terminal()
    }
}

/// Lay out rows as left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}
