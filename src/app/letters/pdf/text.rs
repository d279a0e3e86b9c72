//! Words of a letter's text: each shaped in the first bundled font that has its
//! characters, put in visual order, and broken into lines by their glyphs' widths.

use super::*;

/// A word: its runs in logical order, its text and each byte's bidi level.
pub(super) struct Word {
    pub(super) text: String,
    pub(super) levels: Vec<u8>,
    pub(super) runs: Vec<Run>,
    /// Thousandths of the font size.
    pub(super) width: f32,
    /// The bidi level of the space after it.
    pub(super) space_level: u8,
}

impl Word {
    pub(super) fn shaped(
        text: &str,
        levels: &[u8],
        space_level: u8,
        bold: bool,
    ) -> Result<Word, usize> {
        let runs = fonts::shape_runs(text, levels, bold)?;
        Ok(Word {
            text: text.to_string(),
            levels: levels.to_vec(),
            width: runs.iter().map(|r| r.width).sum(),
            runs,
            space_level,
        })
    }

    /// The longest head of the word at most `width` wide (at least one
    /// character, never cutting a mark from its letter), and the rest.
    pub(super) fn cut(self, width: f32, bold: bool) -> (Word, Word) {
        let bounds: Vec<usize> = self
            .text
            .char_indices()
            .skip(1)
            .filter(|&(_, c)| !fonts::continues(c))
            .map(|(i, _)| i)
            .collect();
        let head = |i: usize| {
            Word::shaped(&self.text[..i], &self.levels[..i], self.space_level, bold)
                .expect("a part of a printable word is printable")
        };
        // The last boundary whose head fits (the first if none does).
        let (mut lo, mut hi) = (0, bounds.len());
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if head(bounds[mid]).width <= width {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let at = bounds[lo];
        let rest = Word::shaped(&self.text[at..], &self.levels[at..], self.space_level, bold)
            .expect("a part of a printable word is printable");
        (head(at), rest)
    }
}

/// `text` as words between spaces, shaped. `Err`: the position (in
/// characters) of a character no font has.
pub(super) fn words(text: &str, bold: bool) -> Result<Vec<Word>, usize> {
    let text: String = text.chars().map(fonts::printed).collect();
    let levels: Vec<u8> = ParagraphBidiInfo::new(&text, Some(Level::ltr()))
        .levels
        .iter()
        .map(|l| l.number())
        .collect();
    let mut words = Vec::new();
    let mut start = 0;
    for word in text.split(' ') {
        let end = start + word.len();
        if !word.is_empty() {
            let space_level = levels.get(end).copied().unwrap_or(0);
            words.push(
                Word::shaped(word, &levels[start..end], space_level, bold)
                    .map_err(|n| text[..start].chars().count() + n)?,
            );
        }
        start = end + 1;
    }
    Ok(words)
}

/// One line of `text` as it stands (no wrapping), in visual order.
pub(super) fn line_runs(text: &str, bold: bool) -> Result<Vec<Run>, usize> {
    let text: String = text.chars().map(fonts::printed).collect();
    let levels: Vec<u8> = ParagraphBidiInfo::new(&text, Some(Level::ltr()))
        .levels
        .iter()
        .map(|l| l.number())
        .collect();
    Ok(visual(fonts::shape_runs(&text, &levels, bold)?))
}

pub(super) fn space(bold: bool, level: u8) -> Run {
    fonts::shape(" ", fonts::space_font(bold), level)
}

/// Runs in logical order put in visual order (rule L2 of the bidi algorithm:
/// from the highest level down to the lowest odd one, every sequence at that
/// level or above is reversed; a run's own glyphs are already visual).
pub(super) fn visual(mut runs: Vec<Run>) -> Vec<Run> {
    let highest = runs.iter().map(|r| r.level).max().unwrap_or(0);
    let Some(lowest_odd) = runs.iter().map(|r| r.level).filter(|l| l % 2 == 1).min() else {
        return runs;
    };
    for level in (lowest_odd..=highest).rev() {
        let mut i = 0;
        while i < runs.len() {
            if runs[i].level >= level {
                let start = i;
                while i < runs.len() && runs[i].level >= level {
                    i += 1;
                }
                runs[start..i].reverse();
            } else {
                i += 1;
            }
        }
    }
    runs
}

/// Breaks `words` into lines no wider than `width` points at `size`; a word
/// wider than a line is cut where it overflows.
pub(super) fn wrap(words: Vec<Word>, bold: bool, size: f32, width: f32) -> Vec<Vec<Word>> {
    let space = space(bold, 0).width;
    let limit = width * 1000.0 / size;
    let mut lines = Vec::new();
    let mut line: Vec<Word> = Vec::new();
    let mut used = 0.0;
    let mut pending: std::collections::VecDeque<Word> = words.into();
    while let Some(word) = pending.pop_front() {
        let wanted = if line.is_empty() {
            word.width
        } else {
            used + space + word.width
        };
        if wanted <= limit {
            used = wanted;
            line.push(word);
        } else if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0.0;
            pending.push_front(word);
        } else if word.text.chars().filter(|&c| !fonts::continues(c)).count() > 1 {
            let (head, rest) = word.cut(limit, bold);
            lines.push(vec![head]);
            pending.push_front(rest);
        } else {
            lines.push(vec![word]);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}
