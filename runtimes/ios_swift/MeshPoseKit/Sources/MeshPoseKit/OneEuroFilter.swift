import Foundation

/// One Euro filter (Casiez et al., CHI 2012) on whole vectors, a port of model/pipeline/smoothing.py with the
/// same arithmetic in the same order: the cutoff rises with speed (per element, from |derivative|), so a still
/// mesh stops jittering and a moving one does not lag. `minCutoff` (Hz) sets the smoothing at rest, `beta` how
/// fast the cutoff follows speed, `dCutoff` the cutoff of the speed estimate.
public final class OneEuroFilter {
    public let minCutoff: Double
    public let beta: Double
    public let dCutoff: Double
    private var prev: [Double]?
    private var prevDeriv: [Double] = []
    private var prevT = 0.0

    /// Throws `PipelineError.badConfiguration` unless minCutoff > 0, dCutoff > 0 and beta >= 0.
    public init(minCutoff: Double = 1.0, beta: Double = 0.01, dCutoff: Double = 1.0) throws {
        guard minCutoff > 0, dCutoff > 0, beta >= 0 else {
            throw PipelineError.badConfiguration("One Euro parameters must be minCutoff > 0, dCutoff > 0, beta >= 0 "
                                                 + "(got \(minCutoff), \(dCutoff), \(beta))")
        }
        self.minCutoff = minCutoff; self.beta = beta; self.dCutoff = dCutoff
    }

    private static func alpha(_ cutoff: Double, _ dt: Double) -> Double {
        let tau = 1.0 / (2 * Double.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)
    }

    /// The smoothed sample taken at `t` seconds. A new length, or time not moving forward, starts a new history
    /// (the sample is returned unchanged).
    public func filter(_ x: [Double], t: Double) -> [Double] {
        guard let p = prev, p.count == x.count, !(t <= prevT) else {
            prev = x; prevDeriv = Array(repeating: 0, count: x.count); prevT = t
            return x
        }
        let dt = t - prevT
        let ad = Self.alpha(dCutoff, dt)
        var out = x
        for i in x.indices {
            let deriv = ad * (x[i] - p[i]) / dt + (1 - ad) * prevDeriv[i]
            let cutoff = minCutoff + beta * abs(deriv)
            let tau = 1.0 / (2 * Double.pi * cutoff)
            let a = 1.0 / (1.0 + tau / dt)
            out[i] = a * x[i] + (1 - a) * p[i]
            prevDeriv[i] = deriv
        }
        prev = out; prevT = t
        return out
    }

    /// Forgets the history (a re-detected person jumps: do not smooth across it).
    public func reset() { prev = nil; prevDeriv = []; prevT = 0 }
}
