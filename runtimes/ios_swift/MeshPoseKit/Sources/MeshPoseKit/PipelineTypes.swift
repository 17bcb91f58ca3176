import Foundation

/// A person found by the detector: box in frame pixels and its score.
public struct Detection: Equatable, Sendable {
    public let box: Box
    public let score: Double
    public init(box: Box, score: Double) { self.box = box; self.score = score }
}

/// The model's outputs for one crop, in crop pixels, batch dimension removed: vertices and joints
/// xyz-interleaved (3 V and 3 J values; joints empty when the model has none), visibility one per vertex.
public struct RawOutputs: Sendable {
    public let vertices: [Double]
    public let visibility: [Double]
    public let joints: [Double]
    public init(vertices: [Double], visibility: [Double], joints: [Double] = []) {
        self.vertices = vertices; self.visibility = visibility; self.joints = joints
    }
}

/// One person's result in one frame.
public struct Person: Sendable {
    /// Track id: 1 for the first person ever tracked, counting up; never reused.
    public let id: Int
    /// The visible bounds of the mesh.
    public let box: Box
    /// The detector score that started or last confirmed the track.
    public let score: Double
    /// That detector box.
    public let detectionBox: Box
    /// The crop the model saw.
    public let crop: Crop
    /// Frame pixels, vertices and joints smoothed.
    public let mesh: DecodedMesh
}

/// Everything the pipeline did with one frame.
public struct FrameResult: Sendable {
    /// Whether the detector ran on this frame.
    public let detected: Bool
    /// The crops given to the model, in track order.
    public let crops: [Crop]
    /// The people drawn this frame, in id order.
    public let people: [Person]
    /// Ids of the tracks dropped this frame (too few visible vertices, or a duplicate of an older track).
    public let lost: [Int]
}
