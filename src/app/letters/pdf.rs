//! A [`Letter`] as an A4 PDF: real text, tagged (headings, paragraphs, lists) so
//! screen readers and text extraction read it in order, with a footer on every
//! page.
//!
//! Written with `pdf-writer` (a small, dependency-light PDF object writer). The
//! text is Unicode: each character is set in the first bundled font that has it
//! (DejaVu Sans and its bold, then Noto Sans for the rest of Latin, Greek and
//! Cyrillic, then a Noto font per script: Arabic, Devanagari, Bengali, Gurmukhi,
//! Gujarati, Tamil, Telugu, Kannada, Malayalam, Sinhala, Thai, Khmer, Myanmar,
//! Ethiopic; `fonts`), shaped with `rustybuzz` (joined Arabic, ligatures, Indic
//! reordering, marks) and ordered by the Unicode bidi algorithm (`unicode-bidi`:
//! a right-to-left name reads right to left inside an English sentence). Lines
//! are broken by the widths of the glyphs actually set. Each font is embedded as
//! a subset of the glyphs the letter uses (`subsetter`), as a Type0 font with a
//! CIDFontType2 descendant in Identity-H encoding, and a ToUnicode map gives
//! every glyph's characters back to text extraction (a run whose glyphs cannot,
//! such as a reordered Indic syllable, also carries its text as `ActualText`).
//! A character no bundled font has is never printed as a stand-in: [`render`]
//! refuses the letter, and [`first_unprintable`] lets the letter's author name
//! the field first. Pure: bytes in, bytes out.

mod embed;
mod fonts;
mod text;

use embed::{Embedded, Used, embed, width};
use text::{line_runs, space, visual, words, wrap};

use std::collections::BTreeMap;

use pdf_writer::types::{
    ArtifactType, CidFontType, FontFlags, StructRole, SystemInfo, UnicodeCmap,
};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use sha2::Digest;
use unicode_bidi::{Level, ParagraphBidiInfo};

use crate::domain::letter::{Block, Letter};
pub use fonts::first_unprintable;
use fonts::{Run, font};

/// A4 in points.
const PAGE_WIDTH: f32 = 595.276;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 62.0;
const MARGIN_TOP: f32 = 60.0;
/// The lowest baseline of body text; the footer sits below it.
const BODY_BOTTOM: f32 = 72.0;
const FOOTER_Y: f32 = 40.0;

const BODY_SIZE: f32 = 10.5;
const BODY_LEADING: f32 = 14.5;
const TITLE_SIZE: f32 = 17.0;
const HEADING_SIZE: f32 = 12.5;
const FOOTER_SIZE: f32 = 8.5;
const BLOCK_GAP: f32 = 7.0;
const BULLET_INDENT: f32 = 14.0;

/// What `render` produces.
#[derive(Debug, Clone)]
pub struct RenderedPdf {
    pub bytes: Vec<u8>,
    pub page_count: usize,
}

/// Text of the letter that no bundled font can print: the block (0-based, in
/// the letter's order) and the character's position in its text. It says
/// nothing of the text itself. (The footer counts as the block after the
/// last.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "character {} of block {} of the letter has no glyph in its fonts",
    .position + 1,
    .block + 1
)]
pub struct Unprintable {
    pub block: usize,
    pub position: usize,
}

/// One line of text placed on a page.
struct Placed {
    x: f32,
    y: f32,
    size: f32,
    /// In visual order.
    runs: Vec<Run>,
    /// The structure element (tagged PDF) the line belongs to.
    element: usize,
    /// Printed before the text at `BULLET_INDENT` to its left (a list item's label).
    bullet: bool,
}

/// A structure element: its role and its parent (`None`: the document).
struct Element {
    role: StructRole,
    parent: Option<usize>,
}

struct Layout {
    pages: Vec<Vec<Placed>>,
    elements: Vec<Element>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            elements: Vec::new(),
            y: PAGE_HEIGHT - MARGIN_TOP,
        }
    }

    fn element(&mut self, role: StructRole, parent: Option<usize>) -> usize {
        self.elements.push(Element { role, parent });
        self.elements.len() - 1
    }

    /// Moves down `leading` for the next baseline, starting a page if needed.
    fn advance(&mut self, leading: f32) {
        if self.y - leading < BODY_BOTTOM {
            self.pages.push(Vec::new());
            self.y = PAGE_HEIGHT - MARGIN_TOP - leading;
        } else {
            self.y -= leading;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn lines(
        &mut self,
        text: &str,
        bold: bool,
        size: f32,
        leading: f32,
        indent: f32,
        element: usize,
        bullet: bool,
    ) -> Result<(), usize> {
        let width = PAGE_WIDTH - 2.0 * MARGIN_X - indent;
        let wrapped = wrap(words(text, bold)?, bold, size, width);
        let last = wrapped.len().saturating_sub(1);
        for (i, line) in wrapped.into_iter().enumerate() {
            let mut logical = Vec::new();
            let count = line.len();
            for (k, word) in line.into_iter().enumerate() {
                let space_level = word.space_level;
                logical.extend(word.runs);
                if k + 1 < count {
                    logical.push(space(bold, space_level));
                }
            }
            let mut runs = visual(logical);
            // The space a line break stands for, so text read from the
            // structure (a screen reader, a copy) keeps its words apart.
            if i < last {
                runs.push(space(bold, 0));
            }
            self.advance(leading);
            let y = self.y;
            self.pages.last_mut().expect("a page").push(Placed {
                x: MARGIN_X + indent,
                y,
                size,
                runs,
                element,
                bullet: bullet && i == 0,
            });
        }
        Ok(())
    }

    fn block(&mut self, block: &Block, first_heading: &mut bool) -> Result<(), usize> {
        match block {
            Block::Heading(text) => {
                let (role, size) = if std::mem::take(first_heading) {
                    (StructRole::H1, TITLE_SIZE)
                } else {
                    (StructRole::H2, HEADING_SIZE)
                };
                let e = self.element(role, None);
                self.y -= BLOCK_GAP;
                // A heading stays with at least two lines of what follows it.
                if self.y - size * 1.35 - 2.0 * BODY_LEADING < BODY_BOTTOM {
                    self.pages.push(Vec::new());
                    self.y = PAGE_HEIGHT - MARGIN_TOP;
                }
                self.lines(text, true, size, size * 1.35, 0.0, e, false)?;
            }
            Block::Paragraph(text) => {
                let e = self.element(StructRole::P, None);
                self.lines(text, false, BODY_SIZE, BODY_LEADING, 0.0, e, false)?;
            }
            Block::Lines(lines) => {
                let e = self.element(StructRole::P, None);
                for line in lines {
                    self.lines(line, false, BODY_SIZE, BODY_LEADING, 0.0, e, false)?;
                }
            }
            Block::Bullets(items) => {
                let list = self.element(StructRole::L, None);
                for item in items {
                    let li = self.element(StructRole::LI, Some(list));
                    let body = self.element(StructRole::LBody, Some(li));
                    self.lines(
                        item,
                        false,
                        BODY_SIZE,
                        BODY_LEADING,
                        BULLET_INDENT,
                        body,
                        true,
                    )?;
                    self.y -= 2.0;
                }
            }
        }
        self.y -= BLOCK_GAP;
        Ok(())
    }
}

/// Renders `letter` as an A4 PDF; `footer` is printed on every page beside
/// "Page n of N" (outside the document's tagged content, as a page artifact).
/// Refused if some of its text has a character no bundled font has.
pub fn render(letter: &Letter, footer: &str) -> Result<RenderedPdf, Unprintable> {
    let mut layout = Layout::new();
    let mut first_heading = true;
    for (index, block) in letter.blocks.iter().enumerate() {
        layout
            .block(block, &mut first_heading)
            .map_err(|position| Unprintable {
                block: index,
                position,
            })?;
    }
    let page_count = layout.pages.len();
    let outside = |position| Unprintable {
        block: letter.blocks.len(),
        position,
    };
    let bullet = line_runs("\u{2022}", false).map_err(outside)?;
    let footers = (0..page_count)
        .map(|i| {
            line_runs(
                &format!("{footer}    Page {} of {page_count}", i + 1),
                false,
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(outside)?;

    let mut used = Used(vec![BTreeMap::new(); fonts::count()]);
    used.add(&bullet);
    for runs in &footers {
        used.add(runs);
    }
    for line in layout.pages.iter().flatten() {
        used.add(&line.runs);
    }

    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let pages_id = alloc();
    let tree_id = alloc();
    let document_id = alloc();
    let info_id = alloc();
    let page_ids: Vec<(Ref, Ref, Ref)> = (0..page_count)
        .map(|_| (alloc(), alloc(), alloc()))
        .collect();
    let element_ids: Vec<Ref> = layout.elements.iter().map(|_| alloc()).collect();

    let mut pdf = Pdf::new();
    pdf.set_version(1, 7);
    {
        let mut catalog = pdf.catalog(catalog_id);
        catalog.pages(pages_id);
        catalog.lang(TextStr("en-GB"));
        catalog.viewer_preferences().display_doc_title(true);
        catalog.mark_info().marked(true);
        catalog.pair(Name(b"StructTreeRoot"), tree_id);
    }
    pdf.document_info(info_id)
        .title(TextStr(&letter.title))
        .creator(TextStr("lea-notices"));
    pdf.pages(pages_id)
        .kids(page_ids.iter().map(|p| p.0))
        .count(page_count as i32);

    let mut embedded: Vec<Option<Embedded>> = (0..fonts::count()).map(|_| None).collect();
    for (index, glyphs) in used.0.iter().enumerate() {
        if glyphs.is_empty() {
            continue;
        }
        embedded[index] = Some(embed(&mut pdf, &mut alloc, index, glyphs));
    }

    // Each element's marked content, as (page index, MCID).
    let mut marked: Vec<Vec<(usize, i32)>> = vec![Vec::new(); layout.elements.len()];
    for (index, (placed, (page_id, content_id, parents_id))) in
        layout.pages.iter().zip(&page_ids).enumerate()
    {
        let mut content = Content::new();
        let mut mcid_elements = Vec::new();
        for line in placed {
            let mcid = mcid_elements.len() as i32;
            mcid_elements.push(element_ids[line.element]);
            marked[line.element].push((index, mcid));
            if line.bullet {
                content
                    .begin_marked_content_with_properties(Name(b"Artifact"))
                    .properties()
                    .artifact()
                    .kind(ArtifactType::Layout);
                show(
                    &mut content,
                    &embedded,
                    &used,
                    line.x - BULLET_INDENT,
                    line.y,
                    line.size,
                    &bullet,
                );
                content.end_marked_content();
            }
            content
                .begin_marked_content_with_properties(Name(b"Span"))
                .properties()
                .identify(mcid);
            show(
                &mut content,
                &embedded,
                &used,
                line.x,
                line.y,
                line.size,
                &line.runs,
            );
            content.end_marked_content();
        }
        content
            .begin_marked_content_with_properties(Name(b"Artifact"))
            .properties()
            .artifact()
            .kind(ArtifactType::Pagination);
        content.set_fill_gray(0.35);
        show(
            &mut content,
            &embedded,
            &used,
            MARGIN_X,
            FOOTER_Y,
            FOOTER_SIZE,
            &footers[index],
        );
        content.end_marked_content();
        let stream = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 6);
        pdf.stream(*content_id, &stream).filter(Filter::FlateDecode);

        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(pages_id)
            .contents(*content_id)
            .struct_parents(index as i32)
            .tab_order(pdf_writer::types::TabOrder::StructureOrder);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        for e in embedded.iter().flatten() {
            fonts.pair(Name(&e.resource), e.type0);
        }
        fonts.finish();
        resources.finish();
        page.finish();
        pdf.indirect(*parents_id).array().items(mcid_elements);
    }

    {
        let mut tree = pdf
            .indirect(tree_id)
            .start::<pdf_writer::writers::StructTreeRoot>();
        tree.child(document_id);
        let mut parent_tree = tree.parent_tree();
        let mut nums = parent_tree.nums();
        for (index, (_, _, parents_id)) in page_ids.iter().enumerate() {
            nums.insert(index as i32, *parents_id);
        }
        nums.finish();
        parent_tree.finish();
        tree.parent_tree_next_key(page_count as i32);
    }
    {
        let mut document = pdf.struct_element(document_id);
        document.kind(StructRole::Document).parent(tree_id);
        document.title(TextStr(&letter.title));
        let mut children = document.children();
        for (i, e) in layout.elements.iter().enumerate() {
            if e.parent.is_none() {
                children.struct_element(element_ids[i]);
            }
        }
    }
    for (i, e) in layout.elements.iter().enumerate() {
        let mut element = pdf.struct_element(element_ids[i]);
        element
            .kind(e.role)
            .parent(e.parent.map_or(document_id, |p| element_ids[p]));
        let mut children = element.children();
        for (j, child) in layout.elements.iter().enumerate() {
            if child.parent == Some(i) {
                children.struct_element(element_ids[j]);
            }
        }
        for &(page, mcid) in &marked[i] {
            children
                .marked_content_ref()
                .marked_content_id(mcid)
                .page(page_ids[page].0);
        }
    }

    Ok(RenderedPdf {
        bytes: pdf.finish(),
        page_count,
    })
}

/// One `TJ` operand.
enum Item {
    Glyphs(Vec<u8>),
    Adjust(f32),
}

/// Shows `runs` (visual order) as one line of text from (`x`, `y`).
#[allow(clippy::too_many_arguments)]
fn show(
    content: &mut Content,
    embedded: &[Option<Embedded>],
    used: &Used,
    x: f32,
    y: f32,
    size: f32,
    runs: &[Run],
) {
    content.begin_text().next_line(x, y);
    let mut rise = 0.0;
    for run in runs {
        let e = embedded[run.font]
            .as_ref()
            .expect("a used font is embedded");
        let actual = !used.maps(run);
        if actual {
            content
                .begin_marked_content_with_properties(Name(b"Span"))
                .properties()
                .actual_text(TextStr(&run.text));
        }
        content.set_font(Name(&e.resource), size);
        // Segments of one rise (a mark placed above or below), each a `TJ`.
        let mut segments: Vec<(f32, Vec<Item>)> = Vec::new();
        let mut pending = 0.0;
        for g in &run.glyphs {
            let glyph_rise = g.dy * size / 1000.0;
            if segments.last().is_none_or(|(r, _)| *r != glyph_rise) {
                segments.push((glyph_rise, Vec::new()));
            }
            let items = &mut segments.last_mut().expect("a segment").1;
            pending -= g.dx;
            if pending.abs() >= 0.01 {
                items.push(Item::Adjust((pending * 100.0).round() / 100.0));
            }
            pending = 0.0;
            let cid = e.cids[&g.gid].to_be_bytes();
            match items.last_mut() {
                Some(Item::Glyphs(codes)) => codes.extend(cid),
                _ => items.push(Item::Glyphs(cid.to_vec())),
            }
            pending += g.dx + width(run.font, g.gid) - g.advance;
        }
        if pending.abs() >= 0.01
            && let Some((_, items)) = segments.last_mut()
        {
            items.push(Item::Adjust((pending * 100.0).round() / 100.0));
        }
        for (segment_rise, items) in segments {
            if segment_rise != rise {
                content.set_rise(segment_rise);
                rise = segment_rise;
            }
            let mut op = content.show_positioned();
            let mut array = op.items();
            for item in &items {
                match item {
                    Item::Glyphs(codes) => array.show(Str(codes)),
                    Item::Adjust(a) => array.adjust(*a),
                };
            }
        }
        if actual {
            content.end_marked_content();
        }
    }
    if rise != 0.0 {
        content.set_rise(0.0);
    }
    content.end_text();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of issue 30: one per script, and the mixed ones.
    const NAMES: [&str; 12] = [
        "Łucja Wiśniewska",
        "Ștefan Țurcanu",
        "Žydrūnė Čiurlionytė",
        "Ömer Çağlayan",
        "İlkay Şahin",
        "Nguyễn Thị Hương",
        "Γιώργος Παπαδόπουλος",
        "Олександр Шевченко",
        "محمد الأحمد",
        "ਹਰਪ੍ਰੀਤ ਸਿੰਘ",
        "अनीता शर्मा",
        "£80 St Mary’s",
    ];

    fn text_of(runs: &[Run]) -> String {
        runs.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn wrapping_keeps_every_word_and_each_line_within_the_width() {
        let text = "penalty notice ".repeat(40);
        let lines = wrap(words(&text, false).unwrap(), false, BODY_SIZE, 200.0);
        assert!(lines.len() > 5);
        let space = space(false, 0).width;
        let mut rejoined = Vec::new();
        for line in &lines {
            let width: f32 =
                line.iter().map(|w| w.width).sum::<f32>() + space * (line.len() - 1) as f32;
            assert!(width * BODY_SIZE / 1000.0 <= 200.0);
            rejoined.extend(line.iter().map(|w| w.text.clone()));
        }
        assert_eq!(rejoined.join(" "), text.trim_end());
        // A word wider than a line is cut where it overflows.
        let long = "x".repeat(200);
        let lines = wrap(words(&long, false).unwrap(), false, BODY_SIZE, 200.0);
        assert!(lines.len() > 1);
        let cut: String = lines.iter().flatten().map(|w| w.text.as_str()).collect();
        assert_eq!(cut, long);
    }

    #[test]
    fn a_right_to_left_name_reads_right_to_left_inside_an_english_line() {
        let runs = line_runs("Child: محمد الأحمد, of 1 High Street", false).unwrap();
        // Visual order: the English, then the name's last word, the space,
        // its first word (each shaped right to left), then the English again.
        assert_eq!(
            runs.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
            ["Child: ", "الأحمد", " ", "محمد", ", of 1 High Street"]
        );
        assert_eq!(
            runs.iter().map(|r| r.level).collect::<Vec<_>>(),
            [0, 1, 1, 1, 0]
        );
    }

    #[test]
    fn every_name_is_set_and_its_text_kept() {
        for name in NAMES {
            let runs = line_runs(name, false).unwrap();
            let mut logical = runs.clone();
            if runs.iter().all(|r| r.level % 2 == 1) {
                logical.reverse();
            }
            assert_eq!(text_of(&logical), name);
            for run in &runs {
                assert!(run.glyphs.iter().all(|g| g.gid != 0), "{name}: .notdef");
            }
        }
        assert_eq!(line_runs("a\u{E000}", false).unwrap_err(), 1);
    }

    fn letter(blocks: Vec<Block>) -> Letter {
        Letter {
            title: "Test".into(),
            blocks,
        }
    }

    #[test]
    fn fonts_are_embedded_as_subsets_of_the_glyphs_used() {
        let pdf = render(
            &letter(vec![Block::Paragraph("Penalty notice".into())]),
            "ref",
        )
        .unwrap();
        // Two dozen glyphs of DejaVu Sans: a few kilobytes, not its 740.
        assert!(pdf.bytes.len() < 20_000, "{}", pdf.bytes.len());
        let all = render(
            &letter(
                NAMES
                    .iter()
                    .map(|n| Block::Paragraph(n.to_string()))
                    .collect(),
            ),
            "ref",
        )
        .unwrap();
        assert!(all.bytes.len() < 60_000, "{}", all.bytes.len());
        let text = String::from_utf8_lossy(&all.bytes);
        for font in [
            "DejaVuSans",
            "NotoSansArabic-Regular",
            "NotoSansGurmukhi-Regular",
            "NotoSansDevanagari-Regular",
        ] {
            assert!(text.contains(&format!("+{font}")), "{font}");
        }
        assert!(!text.contains("NotoSansThai"));
        assert!(text.contains("/Identity-H"));
    }

    #[test]
    fn text_no_font_has_is_refused_by_block_and_position() {
        let refused = render(
            &letter(vec![
                Block::Paragraph("Dear parent".into()),
                Block::Lines(vec!["Alex".into(), "Sam \u{E000}".into()]),
            ]),
            "ref",
        )
        .unwrap_err();
        assert_eq!(
            refused,
            Unprintable {
                block: 1,
                position: 4
            }
        );
    }

    #[test]
    fn a_long_letter_breaks_onto_numbered_pages() {
        let letter = letter(
            (0..120)
                .map(|i| Block::Paragraph(format!("Paragraph {i} of a long letter.")))
                .collect(),
        );
        let pdf = render(&letter, "ref").unwrap();
        assert!(pdf.page_count > 1, "{}", pdf.page_count);
        assert!(pdf.bytes.starts_with(b"%PDF-1.7"));
    }
}
