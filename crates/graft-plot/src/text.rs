//! Text helpers shared by the SVG writers: XML escaping and the width of a string in DejaVu
//! Sans, the only font the rasteriser uses, so boxes are sized for the glyphs actually drawn.

/// The font family every SVG of this crate names (the rasteriser maps all families to it).
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// Advance widths of DejaVu Sans for ASCII 32..=126, in font units (2048 per em).
const ADVANCE: [u16; 95] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048,
    1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235,
    1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024,
    1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, 1300,
    1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
];

/// Width in pixels of `s` set in DejaVu Sans at `font_size` pixels (kerning ignored; characters
/// outside ASCII count as one em, the widest common case).
pub(crate) fn text_width(s: &str, font_size: f64) -> f64 {
    let units: u32 = s
        .chars()
        .map(|c| {
            let i = c as usize;
            if (32..127).contains(&i) {
                u32::from(ADVANCE[i - 32])
            } else {
                2048
            }
        })
        .sum();
    f64::from(units) / 2048.0 * font_size
}

/// `s` cut to at most `max_chars` characters, ending in `…` when cut.
pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` escaped for SVG/XML text and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_dejavu() {
        // 'M' is 1767 units, a space 651.
        assert!((text_width("M", 2048.0) - 1767.0).abs() < 1e-9);
        assert!((text_width("M M", 2048.0) - (2.0 * 1767.0 + 651.0)).abs() < 1e-9);
        assert!(text_width("iiii", 14.0) < text_width("WWWW", 14.0));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(xml_escape("a<b&\"c'"), "a&lt;b&amp;&quot;c&apos;");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
