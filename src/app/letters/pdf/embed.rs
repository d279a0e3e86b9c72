//! The fonts as a letter embeds them: only the glyphs it used, each font a
//! Type0 font with a ToUnicode map so the text extracts as written.

use super::*;

/// The glyphs of each font the letter uses, with the text each stands for in
/// the ToUnicode map (the first a glyph is given; an empty one has none).
pub(super) struct Used(pub(super) Vec<BTreeMap<u16, String>>);

impl Used {
    pub(super) fn add(&mut self, runs: &[Run]) {
        for run in runs {
            for g in &run.glyphs {
                let text = self.0[run.font].entry(g.gid).or_default();
                if text.is_empty() {
                    text.push_str(&g.text);
                }
            }
        }
    }

    /// Whether the ToUnicode map gives `run`'s text back; if not, the run
    /// carries it as `ActualText`.
    pub(super) fn maps(&self, run: &Run) -> bool {
        run.one_glyph_per_cluster
            && run
                .glyphs
                .iter()
                .all(|g| self.0[run.font].get(&g.gid) == Some(&g.text))
    }
}

/// A font as embedded: its objects and its glyphs' new ids.
pub(super) struct Embedded {
    pub(super) type0: Ref,
    pub(super) resource: Vec<u8>,
    /// Old glyph id to new (the CID).
    pub(super) cids: BTreeMap<u16, u16>,
}

/// Embeds the subset of font `index` holding `glyphs` (a Type0 font, its
/// CIDFontType2, descriptor, file and ToUnicode map).
pub(super) fn embed(
    pdf: &mut Pdf,
    alloc: &mut impl FnMut() -> Ref,
    index: usize,
    glyphs: &BTreeMap<u16, String>,
) -> Embedded {
    let font = font(index);
    let (type0, cid_id, descriptor_id, file_id, cmap_id) =
        (alloc(), alloc(), alloc(), alloc(), alloc());
    let mut remapper = subsetter::GlyphRemapper::new();
    let cids: BTreeMap<u16, u16> = glyphs.keys().map(|&g| (g, remapper.remap(g))).collect();
    let subset = subsetter::subset(font.data(), 0, &remapper).expect("a bundled font subsets");
    // A subset's name starts with a tag of six capitals, here from the glyphs.
    let mut hash = sha2::Sha256::new();
    hash.update(font.file.name.as_bytes());
    for g in glyphs.keys() {
        hash.update(g.to_be_bytes());
    }
    let tag: Vec<u8> = hash.finalize()[..6].iter().map(|b| b'A' + b % 26).collect();
    let base_name = [&tag[..], b"+", font.file.name.as_bytes()].concat();

    pdf.type0_font(type0)
        .base_font(Name(&base_name))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);
    let info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    let mut by_cid: Vec<(u16, u16)> = cids.iter().map(|(&old, &new)| (new, old)).collect();
    by_cid.sort_unstable();
    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(Name(&base_name))
        .system_info(info)
        .font_descriptor(descriptor_id)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    // Glyph 0 (.notdef) is always in a subset, used or not.
    let widths = std::iter::once(0.0)
        .chain(
            by_cid
                .iter()
                .filter(|&&(new, _)| new != 0)
                .map(|&(_, old)| width(index, old)),
        )
        .collect::<Vec<_>>();
    cid.widths().consecutive(0, widths);
    cid.finish();

    let face = &font.face;
    let scale = font.scale;
    let b = face.global_bounding_box();
    let mut flags = FontFlags::SYMBOLIC;
    if font.file.bold {
        flags |= FontFlags::FORCE_BOLD;
    }
    pdf.font_descriptor(descriptor_id)
        .name(Name(&base_name))
        .flags(flags)
        .bbox(Rect::new(
            f32::from(b.x_min) * scale,
            f32::from(b.y_min) * scale,
            f32::from(b.x_max) * scale,
            f32::from(b.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(face.ascender()) * scale)
        .descent(f32::from(face.descender()) * scale)
        .cap_height(
            face.capital_height()
                .map_or(700.0, |h| f32::from(h) * scale),
        )
        .stem_v(if font.file.bold { 120.0 } else { 80.0 })
        .font_file2(file_id);
    pdf.stream(
        file_id,
        &miniz_oxide::deflate::compress_to_vec_zlib(&subset, 6),
    )
    .filter(Filter::FlateDecode);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), info);
    for (old, text) in glyphs {
        if !text.is_empty() {
            cmap.pair_with_multiple(cids[old], text.chars());
        }
    }
    pdf.cmap(
        cmap_id,
        &miniz_oxide::deflate::compress_to_vec_zlib(&cmap.finish(), 6),
    )
    .filter(Filter::FlateDecode);
    Embedded {
        type0,
        resource: format!("F{index}").into_bytes(),
        cids,
    }
}

/// A glyph's width as the PDF states it (`W`), in whole thousandths.
pub(super) fn width(font_index: usize, gid: u16) -> f32 {
    font(font_index).advance(gid).round()
}
