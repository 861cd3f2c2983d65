//! Parsers for option values several commands share.

/// `"HEIGHT,WIDTH"`, both positive.
pub fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (h, w) = s
        .split_once(',')
        .ok_or_else(|| format!("expected \"HEIGHT,WIDTH\", got \"{s}\""))?;
    let num = |v: &str| match v.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("\"{v}\" is not a positive size")),
    };
    Ok((num(h)?, num(w)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("224, 160"), Ok((224, 160)));
        assert!(super::parse_size("224").is_err());
        assert!(super::parse_size("0,3").is_err());
    }
}
