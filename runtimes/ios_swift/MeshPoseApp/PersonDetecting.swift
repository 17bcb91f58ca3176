import CoreVideo
import MeshPoseKit

/// The frame pipeline's detect step: the people in a camera frame, boxes in top-left-origin frame pixels.
protocol PersonDetecting: AnyObject {
    func detect(_ frame: CVPixelBuffer) throws -> [Detection]
}

/// Which detector finds people (a setting): the exported BlazePose person detector by default, the same one the
/// Python reference and the Android app use, or Vision's human rectangles.
enum DetectorChoice: String, CaseIterable, Hashable {
    case blazePose = "BlazePose"
    case vision = "Vision"
}
