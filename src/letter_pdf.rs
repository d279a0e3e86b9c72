//! A [`Letter`] as an A4 PDF: real text in two embedded fonts (DejaVu Sans and
//! its bold), tagged (headings, paragraphs, lists) so screen readers and text
//! extraction read it in order, with a footer on every page.
//!
//! Written with `pdf-writer` (a small, dependency-light PDF object writer) and
//! `ttf-parser` (glyph widths for line breaking). The fonts are simple TrueType
//! fonts in WinAnsi encoding, which covers English letters, `£` and typographic
//! quotes; any other character prints as `?`. Pure: bytes in, bytes out.

use std::sync::OnceLock;

use pdf_writer::types::{ArtifactType, FontFlags, StructRole};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::domain::letter::{Block, Letter};

const REGULAR_TTF: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

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

/// A font embedded in every letter: its widths per WinAnsi code and its file,
/// compressed once per process.
struct EmbeddedFont {
    base_name: &'static [u8],
    /// Advance widths in thousandths of the font size, for codes 32..=255.
    widths: Vec<f32>,
    bbox: Rect,
    ascent: f32,
    descent: f32,
    cap_height: f32,
    bold: bool,
    compressed: Vec<u8>,
}

impl EmbeddedFont {
    fn load(base_name: &'static [u8], data: &'static [u8], bold: bool) -> Self {
        let face = ttf_parser::Face::parse(data, 0).expect("the bundled font parses");
        let scale = 1000.0 / f32::from(face.units_per_em());
        let widths = (32u8..=255)
            .map(|code| {
                let advance = winansi_char(code)
                    .and_then(|c| face.glyph_index(c))
                    .and_then(|g| face.glyph_hor_advance(g))
                    .unwrap_or(0);
                f32::from(advance) * scale
            })
            .collect();
        let b = face.global_bounding_box();
        EmbeddedFont {
            base_name,
            widths,
            bbox: Rect::new(
                f32::from(b.x_min) * scale,
                f32::from(b.y_min) * scale,
                f32::from(b.x_max) * scale,
                f32::from(b.y_max) * scale,
            ),
            ascent: f32::from(face.ascender()) * scale,
            descent: f32::from(face.descender()) * scale,
            cap_height: face
                .capital_height()
                .map_or(700.0, |h| f32::from(h) * scale),
            bold,
            compressed: miniz_oxide::deflate::compress_to_vec_zlib(data, 6),
        }
    }

    /// The width of `text` (WinAnsi bytes) at `size` points.
    fn width(&self, text: &[u8], size: f32) -> f32 {
        text.iter()
            .map(|&c| {
                c.checked_sub(32)
                    .and_then(|i| self.widths.get(usize::from(i)))
                    .copied()
                    .unwrap_or(0.0)
            })
            .sum::<f32>()
            * size
            / 1000.0
    }
}

fn fonts() -> &'static (EmbeddedFont, EmbeddedFont) {
    static FONTS: OnceLock<(EmbeddedFont, EmbeddedFont)> = OnceLock::new();
    FONTS.get_or_init(|| {
        (
            EmbeddedFont::load(b"DejaVuSans", REGULAR_TTF, false),
            EmbeddedFont::load(b"DejaVuSans-Bold", BOLD_TTF, true),
        )
    })
}

/// The characters of Windows-1252 at 0x80..=0x9F (`None`: unassigned).
const WINANSI_80_9F: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

fn winansi_char(code: u8) -> Option<char> {
    match code {
        0x80..=0x9F => WINANSI_80_9F[usize::from(code - 0x80)],
        0x20..=0x7E | 0xA0..=0xFF => Some(char::from(code)),
        _ => None,
    }
}

/// `text` in WinAnsi; characters it lacks become `?`, control characters spaces.
fn to_winansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{A0}'..='\u{FF}' => c as u8,
            c if c.is_control() => b' ',
            c => WINANSI_80_9F
                .iter()
                .position(|&w| w == Some(c))
                .map_or(b'?', |i| 0x80 + i as u8),
        })
        .collect()
}

/// Breaks `text` into lines no wider than `width`; a word wider than a line is
/// cut where it overflows.
fn wrap(font: &EmbeddedFont, text: &[u8], size: f32, width: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split(|&c| c == b' ').filter(|w| !w.is_empty()) {
        let mut candidate = line.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if font.width(&candidate, size) <= width || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_vec();
        }
        while font.width(&line, size) > width && line.len() > 1 {
            let mut cut = line.len() - 1;
            while cut > 1 && font.width(&line[..cut], size) > width {
                cut -= 1;
            }
            let rest = line.split_off(cut);
            lines.push(std::mem::replace(&mut line, rest));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// One line of text placed on a page.
struct Placed {
    x: f32,
    y: f32,
    bold: bool,
    size: f32,
    text: Vec<u8>,
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
    ) {
        let (regular, bold_font) = fonts();
        let font = if bold { bold_font } else { regular };
        let width = PAGE_WIDTH - 2.0 * MARGIN_X - indent;
        let wrapped = wrap(font, &to_winansi(text), size, width);
        let last = wrapped.len().saturating_sub(1);
        for (i, mut line) in wrapped.into_iter().enumerate() {
            // The space a line break stands for, so text read from the
            // structure (a screen reader, a copy) keeps its words apart.
            if i < last {
                line.push(b' ');
            }
            self.advance(leading);
            let y = self.y;
            self.pages.last_mut().expect("a page").push(Placed {
                x: MARGIN_X + indent,
                y,
                bold,
                size,
                text: line,
                element,
                bullet: bullet && i == 0,
            });
        }
    }

    fn block(&mut self, block: &Block, first_heading: &mut bool) {
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
                self.lines(text, true, size, size * 1.35, 0.0, e, false);
            }
            Block::Paragraph(text) => {
                let e = self.element(StructRole::P, None);
                self.lines(text, false, BODY_SIZE, BODY_LEADING, 0.0, e, false);
            }
            Block::Lines(lines) => {
                let e = self.element(StructRole::P, None);
                for line in lines {
                    self.lines(line, false, BODY_SIZE, BODY_LEADING, 0.0, e, false);
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
                    );
                    self.y -= 2.0;
                }
            }
        }
        self.y -= BLOCK_GAP;
    }
}

/// Renders `letter` as an A4 PDF; `footer` is printed on every page beside
/// "Page n of N" (outside the document's tagged content, as a page artifact).
pub fn render(letter: &Letter, footer: &str) -> RenderedPdf {
    let mut layout = Layout::new();
    let mut first_heading = true;
    for block in &letter.blocks {
        layout.block(block, &mut first_heading);
    }
    let (regular, bold) = fonts();
    let page_count = layout.pages.len();

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
    let font_ids: Vec<(Ref, Ref, Ref)> = (0..2).map(|_| (alloc(), alloc(), alloc())).collect();
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

    for (font, (font_id, descriptor_id, file_id)) in [regular, bold].into_iter().zip(&font_ids) {
        let mut dict = pdf.indirect(*font_id).dict();
        dict.pair(Name(b"Type"), Name(b"Font"));
        dict.pair(Name(b"Subtype"), Name(b"TrueType"));
        dict.pair(Name(b"BaseFont"), Name(font.base_name));
        dict.pair(Name(b"FirstChar"), 32);
        dict.pair(Name(b"LastChar"), 255);
        dict.insert(Name(b"Widths"))
            .array()
            .items(font.widths.iter().copied());
        dict.pair(Name(b"Encoding"), Name(b"WinAnsiEncoding"));
        dict.pair(Name(b"FontDescriptor"), *descriptor_id);
        dict.finish();
        let mut flags = FontFlags::NON_SYMBOLIC;
        if font.bold {
            flags |= FontFlags::FORCE_BOLD;
        }
        pdf.font_descriptor(*descriptor_id)
            .name(Name(font.base_name))
            .flags(flags)
            .bbox(font.bbox)
            .italic_angle(0.0)
            .ascent(font.ascent)
            .descent(font.descent)
            .cap_height(font.cap_height)
            .stem_v(if font.bold { 120.0 } else { 80.0 })
            .font_file2(*file_id);
        pdf.stream(*file_id, &font.compressed)
            .filter(Filter::FlateDecode);
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
                text(
                    &mut content,
                    b"F1",
                    line.size,
                    line.x - BULLET_INDENT,
                    line.y,
                    &[0x95],
                );
                content.end_marked_content();
            }
            content
                .begin_marked_content_with_properties(Name(b"Span"))
                .properties()
                .identify(mcid);
            let font = if line.bold { b"F2" } else { b"F1" };
            text(&mut content, font, line.size, line.x, line.y, &line.text);
            content.end_marked_content();
        }
        let footer_text = to_winansi(&format!("{footer}    Page {} of {page_count}", index + 1));
        content
            .begin_marked_content_with_properties(Name(b"Artifact"))
            .properties()
            .artifact()
            .kind(ArtifactType::Pagination);
        content.set_fill_gray(0.35);
        text(
            &mut content,
            b"F1",
            FOOTER_SIZE,
            MARGIN_X,
            FOOTER_Y,
            &footer_text,
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
        fonts.pair(Name(b"F1"), font_ids[0].0);
        fonts.pair(Name(b"F2"), font_ids[1].0);
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

    RenderedPdf {
        bytes: pdf.finish(),
        page_count,
    }
}

fn text(content: &mut Content, font: &[u8], size: f32, x: f32, y: f32, text: &[u8]) {
    content
        .begin_text()
        .set_font(Name(font), size)
        .next_line(x, y)
        .show(Str(text))
        .end_text();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winansi_covers_pounds_and_curly_quotes_and_replaces_the_rest() {
        assert_eq!(to_winansi("£80 St Mary’s"), b"\xA380 St Mary\x92s".to_vec());
        assert_eq!(to_winansi("Ω"), b"?".to_vec());
        for code in 0x20u8..=0xFF {
            if let Some(c) = winansi_char(code) {
                assert_eq!(to_winansi(&c.to_string()), vec![code], "{c}");
            }
        }
    }

    #[test]
    fn wrapping_keeps_every_word_and_each_line_within_the_width() {
        let (font, _) = fonts();
        let text = to_winansi(&"penalty notice ".repeat(40));
        let lines = wrap(font, &text, BODY_SIZE, 200.0);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(font.width(line, BODY_SIZE) <= 200.0);
        }
        let rejoined: Vec<u8> = lines.join(&b' ');
        assert_eq!(rejoined, text[..text.len() - 1].to_vec());
    }

    #[test]
    fn a_long_letter_breaks_onto_numbered_pages() {
        let letter = Letter {
            title: "Test".into(),
            blocks: (0..120)
                .map(|i| Block::Paragraph(format!("Paragraph {i} of a long letter.")))
                .collect(),
        };
        let pdf = render(&letter, "ref");
        assert!(pdf.page_count > 1, "{}", pdf.page_count);
        assert!(pdf.bytes.starts_with(b"%PDF-1.7"));
    }
}
