//! The letter's fonts and how text becomes glyphs in them.
//!
//! Every character is set in the first font of a chain that has it (DejaVu Sans,
//! then Noto Sans for the rest of Latin, Greek and Cyrillic, then one Noto font
//! per script), a combining mark or joiner staying in the font of the character
//! it belongs to. DejaVu Sans's partial Arabic is passed over, so that an Arabic,
//! Urdu or Persian word is shaped whole in Noto Sans Arabic. Each run of one font
//! and one direction is shaped with `rustybuzz` (joined Arabic forms, ligatures,
//! Indic reordering, kerning and mark positions), and every glyph keeps the text
//! it stands for so that the PDF's ToUnicode map gives the characters back.

use std::ops::RangeInclusive;
use std::sync::OnceLock;

use rustybuzz::{Direction, UnicodeBuffer};
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// A font file bundled with the binary (`assets/fonts/`).
pub struct FontFile {
    /// The font's PostScript name.
    pub name: &'static str,
    data: &'static [u8],
    pub bold: bool,
    /// Characters the font has but leaves to a later font in the chain.
    skip: &'static [RangeInclusive<char>],
}

/// The Arabic script's blocks.
const ARABIC: &[RangeInclusive<char>] = &[
    '\u{0600}'..='\u{06FF}',
    '\u{0750}'..='\u{077F}',
    '\u{08A0}'..='\u{08FF}',
    '\u{FB50}'..='\u{FDFF}',
    '\u{FE70}'..='\u{FEFE}',
];

macro_rules! font {
    ($name:literal, $file:literal) => {
        font!($name, $file, false, &[])
    };
    ($name:literal, $file:literal, $bold:expr, $skip:expr) => {
        FontFile {
            name: $name,
            data: include_bytes!(concat!("../../../../assets/fonts/", $file)),
            bold: $bold,
            skip: $skip,
        }
    };
}

/// Every bundled font. The regular chain is these in order without the bold;
/// the bold chain is the bold, then the regular chain.
static FILES: [FontFile; 17] = [
    font!("DejaVuSans", "DejaVuSans.ttf", false, ARABIC),
    font!("DejaVuSans-Bold", "DejaVuSans-Bold.ttf", true, ARABIC),
    font!("NotoSans-Regular", "NotoSans-Regular.ttf"),
    font!("NotoSansArabic-Regular", "NotoSansArabic-Regular.ttf"),
    font!(
        "NotoSansDevanagari-Regular",
        "NotoSansDevanagari-Regular.ttf"
    ),
    font!("NotoSansBengali-Regular", "NotoSansBengali-Regular.ttf"),
    font!("NotoSansGurmukhi-Regular", "NotoSansGurmukhi-Regular.ttf"),
    font!("NotoSansGujarati-Regular", "NotoSansGujarati-Regular.ttf"),
    font!("NotoSansTamil-Regular", "NotoSansTamil-Regular.ttf"),
    font!("NotoSansTelugu-Regular", "NotoSansTelugu-Regular.ttf"),
    font!("NotoSansKannada-Regular", "NotoSansKannada-Regular.ttf"),
    font!("NotoSansMalayalam-Regular", "NotoSansMalayalam-Regular.ttf"),
    font!("NotoSansSinhala-Regular", "NotoSansSinhala-Regular.ttf"),
    font!("NotoSansThai-Regular", "NotoSansThai-Regular.ttf"),
    font!("NotoSansKhmer-Regular", "NotoSansKhmer-Regular.ttf"),
    font!("NotoSansMyanmar-Regular", "NotoSansMyanmar-Regular.ttf"),
    font!("NotoSansEthiopic-Regular", "NotoSansEthiopic-Regular.ttf"),
];

const REGULAR: usize = 0;
const BOLD: usize = 1;

/// The fonts tried for a character, in order.
fn chain(bold: bool) -> impl Iterator<Item = usize> {
    let regular = std::iter::once(REGULAR).chain(BOLD + 1..FILES.len());
    bold.then_some(BOLD).into_iter().chain(regular)
}

/// A bundled font, parsed.
pub struct Font {
    pub file: &'static FontFile,
    pub face: rustybuzz::Face<'static>,
    /// Font units to thousandths of the font size.
    pub scale: f32,
}

impl Font {
    /// Whether the chain sets `c` in this font.
    fn has(&self, c: char) -> bool {
        !self.file.skip.iter().any(|r| r.contains(&c))
            && self.face.glyph_index(c).is_some_and(|g| g.0 != 0)
    }

    /// A glyph's advance, in thousandths of the font size.
    pub fn advance(&self, gid: u16) -> f32 {
        f32::from(
            self.face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        ) * self.scale
    }

    /// The whole font file.
    pub fn data(&self) -> &'static [u8] {
        self.file.data
    }
}

/// The fonts, parsed once per process.
pub fn font(index: usize) -> &'static Font {
    static FONTS: OnceLock<Vec<Font>> = OnceLock::new();
    &FONTS.get_or_init(|| {
        FILES
            .iter()
            .map(|file| {
                let face =
                    rustybuzz::Face::from_slice(file.data, 0).expect("a bundled font parses");
                let scale = 1000.0 / f32::from(face.units_per_em() as u16);
                Font { file, face, scale }
            })
            .collect()
    })[index]
}

/// How many fonts there are (indexes for [`font`] are below it).
pub fn count() -> usize {
    FILES.len()
}

/// A character that belongs with the one before it: a combining mark, a
/// joiner, a variation selector.
pub fn continues(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Mark
        || matches!(c, '\u{200C}' | '\u{200D}' | '\u{034F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Unicode's default ignorable code points: shaping hides them, so they need
/// no glyph.
fn ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The font `c` is set in after a character set in `prev`, or `None` when no
/// bundled font has it.
pub fn font_for(c: char, prev: Option<usize>, bold: bool) -> Option<usize> {
    // Shaping hides an ignorable character, so a joiner or variation selector
    // stays in its letter's font whether that font has a glyph for it or not.
    if let Some(p) = prev.filter(|&p| continues(c) && (font(p).has(c) || ignorable(c))) {
        return Some(p);
    }
    chain(bold)
        .find(|&f| font(f).has(c))
        .or_else(|| ignorable(c).then(|| prev.unwrap_or(if bold { BOLD } else { REGULAR })))
}

/// The font the letter's spaces (and line breaks) are set in.
pub fn space_font(bold: bool) -> usize {
    if bold { BOLD } else { REGULAR }
}

/// What the letter prints for `c`: control characters (line breaks and tabs
/// in free text) as spaces.
pub fn printed(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

/// The position (in characters) of the first character of `text` that no
/// bundled font has, if any: the letter cannot print such text.
pub fn first_unprintable(text: &str) -> Option<usize> {
    let mut prev = None;
    for (i, c) in text.chars().map(printed).enumerate() {
        match font_for(c, prev, false) {
            Some(f) => prev = Some(f),
            None => return Some(i),
        }
    }
    None
}

/// One glyph as shaped.
#[derive(Debug, Clone)]
pub struct Glyph {
    /// Its id in the whole font.
    pub gid: u16,
    /// Thousandths of the font size, as the shaper placed it.
    pub advance: f32,
    pub dx: f32,
    pub dy: f32,
    /// The text it stands for: its cluster's, on one glyph of the cluster;
    /// empty on the others.
    pub text: String,
}

/// Text shaped in one font and one direction: the glyphs in visual order
/// (left to right), the text in logical order.
#[derive(Debug, Clone)]
pub struct Run {
    pub font: usize,
    /// The bidi embedding level (odd: right to left).
    pub level: u8,
    pub glyphs: Vec<Glyph>,
    pub text: String,
    /// Thousandths of the font size.
    pub width: f32,
    /// Each cluster is one glyph: the glyphs' texts in logical order are the
    /// run's text.
    pub one_glyph_per_cluster: bool,
}

/// Shapes `text` in font `font_index`, right to left if `level` is odd.
pub fn shape(text: &str, font_index: usize, level: u8) -> Run {
    let font = font(font_index);
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    // A mark keeps a cluster of its own (not its letter's), so that its glyph
    // maps to it alone.
    buffer.set_cluster_level(rustybuzz::BufferClusterLevel::MonotoneCharacters);
    buffer.guess_segment_properties();
    let rtl = level % 2 == 1;
    buffer.set_direction(if rtl {
        Direction::RightToLeft
    } else {
        Direction::LeftToRight
    });
    let shaped = rustybuzz::shape(&font.face, &[], buffer);
    let infos = shaped.glyph_infos();
    let positions = shaped.glyph_positions();

    // Clusters are byte offsets of the text; one runs to the next one.
    let mut starts: Vec<usize> = infos.iter().map(|i| i.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let end_of = |start: usize| {
        starts
            .iter()
            .find(|&&s| s > start)
            .copied()
            .unwrap_or(text.len())
    };
    let mut glyphs: Vec<Glyph> = infos
        .iter()
        .zip(positions)
        .map(|(info, pos)| Glyph {
            gid: info.glyph_id as u16,
            advance: pos.x_advance as f32 * font.scale,
            dx: pos.x_offset as f32 * font.scale,
            dy: pos.y_offset as f32 * font.scale,
            text: String::new(),
        })
        .collect();
    // The text goes on a cluster's first glyph in logical order.
    let mut one_glyph_per_cluster = true;
    let order: Vec<usize> = if rtl {
        (0..glyphs.len()).rev().collect()
    } else {
        (0..glyphs.len()).collect()
    };
    let mut seen = Vec::new();
    for i in order {
        let start = infos[i].cluster as usize;
        if seen.contains(&start) {
            one_glyph_per_cluster = false;
        } else {
            seen.push(start);
            glyphs[i].text = text[start..end_of(start)].to_string();
        }
    }
    Run {
        font: font_index,
        level,
        width: glyphs.iter().map(|g| g.advance).sum(),
        glyphs,
        text: text.to_string(),
        one_glyph_per_cluster,
    }
}

/// Splits `text` into runs of one font and one bidi level and shapes each;
/// `levels` holds each byte's level. `Err` holds the position (in
/// characters) of a character no font has.
pub fn shape_runs(text: &str, levels: &[u8], bold: bool) -> Result<Vec<Run>, usize> {
    let mut runs = Vec::new();
    let mut current: Option<(usize, u8, usize)> = None; // font, level, start byte
    let mut prev = None;
    for (n, (i, c)) in text.char_indices().enumerate() {
        let f = font_for(c, prev, bold).ok_or(n)?;
        prev = Some(f);
        let level = levels[i];
        match current {
            Some((cf, cl, _)) if cf == f && cl == level => {}
            Some((cf, cl, start)) => {
                runs.push(shape(&text[start..i], cf, cl));
                current = Some((f, level, i));
            }
            None => current = Some((f, level, i)),
        }
    }
    if let Some((f, level, start)) = current {
        runs.push(shape(&text[start..], f, level));
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts_of(text: &str) -> Vec<&'static str> {
        let levels = vec![0; text.len()];
        shape_runs(text, &levels, false)
            .unwrap()
            .iter()
            .map(|r| font(r.font).file.name)
            .collect()
    }

    #[test]
    fn each_character_takes_the_first_font_that_has_it() {
        assert_eq!(fonts_of("Łucja Wiśniewska"), ["DejaVuSans"]);
        assert_eq!(fonts_of("Nguyễn Thị Hương"), ["DejaVuSans"]);
        assert_eq!(fonts_of("Γιώργος Олександр"), ["DejaVuSans"]);
        // Latin Extended-D is past DejaVu Sans: Noto Sans has it.
        assert_eq!(
            fonts_of("a\u{A7C2}b"),
            ["DejaVuSans", "NotoSans-Regular", "DejaVuSans"]
        );
        // Arabic skips DejaVu Sans's partial Arabic, so a word stays in one font.
        assert_eq!(fonts_of("محمد"), ["NotoSansArabic-Regular"]);
        assert_eq!(fonts_of("राम"), ["NotoSansDevanagari-Regular"]);
        assert_eq!(fonts_of("ਸਿੰਘ"), ["NotoSansGurmukhi-Regular"]);
        // A combining mark stays with its letter's font.
        assert_eq!(fonts_of("e\u{0302}\u{0303}"), ["DejaVuSans"]);
    }

    #[test]
    fn characters_no_font_has_are_found_by_position() {
        assert_eq!(first_unprintable("Łucja Wiśniewska"), None);
        assert_eq!(first_unprintable("محمد الأحمد"), None);
        assert_eq!(first_unprintable("ab\u{E000}c"), Some(2));
        assert_eq!(first_unprintable("王"), Some(0));
        // Unassigned.
        assert_eq!(first_unprintable("x\u{0378}"), Some(1));
        // Control characters print as spaces; ignorables need no glyph.
        assert_eq!(first_unprintable("a\tb\u{200B}c"), None);
    }

    #[test]
    fn arabic_is_joined_right_to_left_and_each_glyph_keeps_its_text() {
        let run = shape("الأحمد", 3, 1);
        // Alef, lam-alef ligature, hah, meem, dal: five glyphs for six letters.
        assert_eq!(run.glyphs.len(), 5, "{run:?}");
        assert!(run.one_glyph_per_cluster);
        let logical: String = run.glyphs.iter().rev().map(|g| g.text.as_str()).collect();
        assert_eq!(logical, "الأحمد");
        // Joined forms differ from the isolated ones.
        let face = &font(3).face;
        let isolated = face.glyph_index('م').unwrap().0;
        assert!(run.glyphs.iter().all(|g| g.gid != isolated));
    }
}

#[cfg(test)]
mod coverage {
    use super::*;
    use unicode_properties::GeneralCategory;

    /// The assigned characters of `range` no font has.
    fn missing(range: RangeInclusive<char>) -> Vec<u32> {
        range
            .filter(|&c| c.general_category() != GeneralCategory::Unassigned)
            .filter(|&c| font_for(c, None, false).is_none())
            .map(u32::from)
            .collect()
    }

    #[test]
    fn latin_greek_and_cyrillic_are_covered_whole() {
        for range in [
            '\u{0020}'..='\u{007E}',
            '\u{00A0}'..='\u{024F}', // Latin-1, Latin Extended-A and B
            '\u{0250}'..='\u{036F}', // IPA, modifier letters, combining marks
            '\u{1E00}'..='\u{1EFF}', // Latin Extended Additional (Vietnamese)
            '\u{2C60}'..='\u{2C7F}', // Latin Extended-C
            '\u{0370}'..='\u{03FF}', // Greek
            '\u{1F00}'..='\u{1FFF}', // Greek Extended
            '\u{0400}'..='\u{052F}', // Cyrillic and its supplement
            '\u{2DE0}'..='\u{2DFF}', // Cyrillic Extended-A
            '\u{A640}'..='\u{A69F}', // Cyrillic Extended-B
        ] {
            assert_eq!(missing(range.clone()), [] as [u32; 0], "{range:?}");
        }
        // The bundled Noto Sans (Unicode 13) lacks only letters added since.
        let later: Vec<u32> = [0xA7C0, 0xA7C1]
            .into_iter()
            .chain(0xA7CB..=0xA7DD)
            .chain([0xA7E2])
            .chain(0xA7F1..=0xA7F4)
            .collect();
        assert_eq!(missing('\u{A720}'..='\u{A7FF}'), later); // Latin Extended-D
        assert_eq!(missing('\u{AB30}'..='\u{AB6F}'), [0xAB6C, 0xAB6D]); // Latin Extended-E
        assert_eq!(missing('\u{1C80}'..='\u{1C8F}'), [0x1C89, 0x1C8A]); // Cyrillic Extended-C
    }
}
