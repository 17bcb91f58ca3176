import Foundation

/// What the frame pipeline needs besides the model: the input size from the contract, the rest tunable.
/// The fields, defaults and checks of model/pipeline/tracker.py `PipelineConfig`.
public struct PipelineConfig: Equatable, Sendable {
    /// Model input size (contract), in pixels.
    public let inW: Int, inH: Int
    /// The contract's crop.box_scale: how much a person box is enlarged into a crop.
    public let boxScale: Double
    /// A vertex is visible when its visibility is at least this.
    public let visibilityThreshold: Double
    /// At most this many people are tracked.
    public let maxPeople: Int
    /// With fewer tracks than `maxPeople`, detect again after this many frames.
    public let detectEvery: Int
    /// A detection confirms a track when their boxes overlap at least this much (IoU).
    public let iouMatch: Double
    /// Two tracks overlapping more than this (IoU) are one person: the older stays.
    public let duplicateIoU: Double
    /// Weight of the mesh's new crop when blended into the current one (1: no smoothing).
    public let cropSmoothing: Double
    /// One Euro parameters of every track's smoothing (see `OneEuroFilter`).
    public let minCutoff: Double, beta: Double, dCutoff: Double
    /// The contract's origin_px: added to raw vertices and joints before the crop maps them to the frame.
    public let originPx: [Double]

    /// Throws `PipelineError.badConfiguration` for a non-positive input size, `maxPeople` or `detectEvery`,
    /// `cropSmoothing` outside (0, 1], or One Euro parameters the filter refuses (Python finds those only when
    /// the first track starts; here the configuration is refused at once).
    public init(inW: Int, inH: Int, boxScale: Double = 1.25, visibilityThreshold: Double = 0.5, maxPeople: Int = 2,
                detectEvery: Int = 10, iouMatch: Double = 0.3, duplicateIoU: Double = 0.7, cropSmoothing: Double = 0.6,
                minCutoff: Double = 1.0, beta: Double = 0.01, dCutoff: Double = 1.0,
                originPx: [Double] = ModelIO.cornerOrigin) throws {
        guard inW > 0, inH > 0, maxPeople >= 1, detectEvery >= 1 else {
            throw PipelineError.badConfiguration("input \(inW)x\(inH), maxPeople \(maxPeople), detectEvery "
                                                 + "\(detectEvery) must all be positive")
        }
        guard cropSmoothing > 0, cropSmoothing <= 1 else {
            throw PipelineError.badConfiguration("cropSmoothing must be in (0, 1], got \(cropSmoothing)")
        }
        guard originPx.count == 3 else {
            throw PipelineError.badConfiguration("originPx must be (x, y, z), got \(originPx)")
        }
        _ = try OneEuroFilter(minCutoff: minCutoff, beta: beta, dCutoff: dCutoff)
        self.originPx = originPx
        self.inW = inW; self.inH = inH; self.boxScale = boxScale; self.visibilityThreshold = visibilityThreshold
        self.maxPeople = maxPeople; self.detectEvery = detectEvery; self.iouMatch = iouMatch
        self.duplicateIoU = duplicateIoU; self.cropSmoothing = cropSmoothing
        self.minCutoff = minCutoff; self.beta = beta; self.dCutoff = dCutoff
    }

    /// A fresh One Euro filter with this configuration's parameters (checked in `init`).
    func makeFilter() -> OneEuroFilter {
        try! OneEuroFilter(minCutoff: minCutoff, beta: beta, dCutoff: dCutoff)
    }
}
