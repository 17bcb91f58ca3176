import Foundation

/// One Euro filter (Casiez et al., CHI 2012): the cutoff rises with speed, so a still mesh stops
/// jittering and a moving one does not lag. `minCutoff` (Hz), `beta`, `dCutoff` are exposed.
public final class OneEuroFilter {
    public var minCutoff: Double
    public var beta: Double
    public var dCutoff: Double
    private var prev: [Double]?
    private var prevDeriv: [Double] = []
    private var prevT = 0.0

    public init(minCutoff: Double = 1.0, beta: Double = 0.01, dCutoff: Double = 1.0) {
        self.minCutoff = minCutoff; self.beta = beta; self.dCutoff = dCutoff
    }

    private func alpha(_ cutoff: Double, _ dt: Double) -> Double {
        let tau = 1 / (2 * Double.pi * cutoff)
        return 1 / (1 + tau / dt)
    }

    /// Filters one sample (fixed length across calls) taken at `t` seconds.
    public func filter(_ x: [Double], t: Double) -> [Double] {
        guard let p = prev, p.count == x.count, t > prevT else {
            prev = x; prevDeriv = Array(repeating: 0, count: x.count); prevT = t
            return x
        }
        let dt = t - prevT
        let ad = alpha(dCutoff, dt)
        var out = x
        for i in x.indices {
            let d = (x[i] - p[i]) / dt
            let dHat = ad * d + (1 - ad) * prevDeriv[i]
            let a = alpha(minCutoff + beta * abs(dHat), dt)
            out[i] = a * x[i] + (1 - a) * p[i]
            prevDeriv[i] = dHat
        }
        prev = out; prevT = t
        return out
    }

    /// Forgets the history (after a re-detection the mesh jumps).
    public func reset() { prev = nil; prevDeriv = []; prevT = 0 }
}
