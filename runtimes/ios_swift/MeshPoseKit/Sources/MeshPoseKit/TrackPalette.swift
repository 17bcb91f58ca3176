/// One colour per track id, so a person keeps their colour while tracked (ids count up from 1; the palette
/// repeats after `colors.count` people).
public enum TrackPalette {
    /// RGBA in [0, 1]: green, orange, sky blue, magenta, yellow, white.
    public static let colors: [SIMD4<Float>] = [
        SIMD4(0.2, 1.0, 0.4, 0.9), SIMD4(1.0, 0.55, 0.1, 0.9), SIMD4(0.3, 0.7, 1.0, 0.9),
        SIMD4(1.0, 0.3, 0.8, 0.9), SIMD4(1.0, 0.95, 0.2, 0.9), SIMD4(1.0, 1.0, 1.0, 0.9),
    ]

    /// The colour of track `id`.
    public static func color(for id: Int) -> SIMD4<Float> {
        let n = colors.count
        return colors[((id - 1) % n + n) % n]
    }
}
