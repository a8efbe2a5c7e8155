//! What Seam computes from the vectors an embeddings answer carries.

/// Cosine of two embeddings (in f64, whatever their size); `None` when their sizes differ or
/// one of them is zero or not finite. Shared by the eval grader `similar` and the
/// silent-failure clusters, so that both read the same number for the same pair.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    if a.len() != b.len() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let c = dot / (na.sqrt() * nb.sqrt());
    c.is_finite().then(|| c.clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::cosine;

    #[test]
    fn cosine_of_known_pairs() {
        assert_eq!(cosine(&[1.0, 0.0], &[1.0, 0.0]), Some(1.0));
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 2.0]), Some(0.0));
        assert_eq!(cosine(&[1.0, 0.0], &[-3.0, 0.0]), Some(-1.0));
        let c = cosine(&[1.0, 2.0, 2.0], &[2.0, 1.0, 2.0]).expect("a cosine");
        assert!((c - 8.0 / 9.0).abs() < 1e-12, "{c}");
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), None, "sizes differ");
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), None, "a zero vector");
    }
}
