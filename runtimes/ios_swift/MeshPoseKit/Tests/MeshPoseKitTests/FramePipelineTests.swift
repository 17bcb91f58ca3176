import XCTest
@testable import MeshPoseKit

/// FramePipeline's edges that the golden sequence does not reach, and its building blocks.
final class FramePipelineTests: XCTestCase {
    func testBadConfigurationsAreRefused() {
        let bad: [() throws -> PipelineConfig] = [
            { try PipelineConfig(inW: 0, inH: 64) }, { try PipelineConfig(inW: 48, inH: -1) },
            { try PipelineConfig(inW: 48, inH: 64, maxPeople: 0) }, { try PipelineConfig(inW: 48, inH: 64, detectEvery: 0) },
            { try PipelineConfig(inW: 48, inH: 64, cropSmoothing: 0) }, { try PipelineConfig(inW: 48, inH: 64, cropSmoothing: 1.5) },
            { try PipelineConfig(inW: 48, inH: 64, cropSmoothing: .nan) }, { try PipelineConfig(inW: 48, inH: 64, minCutoff: 0) },
            { try PipelineConfig(inW: 48, inH: 64, beta: -1) }, { try PipelineConfig(inW: 48, inH: 64, dCutoff: 0) },
        ]
        for make in bad {
            XCTAssertThrowsError(try make()) { error in
                guard case PipelineError.badConfiguration = error else { return XCTFail("\(error)") }
            }
        }
        let ok = try? PipelineConfig(inW: 48, inH: 64, cropSmoothing: 1)
        XCTAssertEqual(ok?.maxPeople, 2)
        XCTAssertEqual(ok?.detectEvery, 10)
        XCTAssertEqual(ok?.boxScale, 1.25)
    }

    func testIoU() {
        let a = Box(x0: 0, y0: 0, x1: 10, y1: 10)
        XCTAssertEqual(Geometry.iou(a, a), 1)
        XCTAssertEqual(Geometry.iou(a, Box(x0: 5, y0: 0, x1: 15, y1: 10)), 50.0 / 150.0, accuracy: 1e-15)
        XCTAssertEqual(Geometry.iou(a, Box(x0: 20, y0: 20, x1: 30, y1: 30)), 0)
        XCTAssertEqual(Geometry.iou(Box(x0: 1, y0: 1, x1: 1, y1: 1), Box(x0: 1, y0: 1, x1: 1, y1: 1)), 0, "no area")
    }

    func testBlendMovesCentreAndScaleNotCorners() {
        let a = Crop(x0: 0, y0: 0, scale: 1), b = Crop(x0: 100, y0: 40, scale: 3)
        // Centres (24, 32) and (172, 136) for a 48 x 64 input.
        let m = Geometry.blend(a, b, weight: 0.25, inW: 48, inH: 64)
        XCTAssertEqual(m.scale, 1.5, accuracy: 1e-12)
        XCTAssertEqual(m.x0 + m.scale * 24, 0.75 * 24 + 0.25 * 172, accuracy: 1e-12)
        XCTAssertEqual(m.y0 + m.scale * 32, 0.75 * 32 + 0.25 * 136, accuracy: 1e-12)
        XCTAssertEqual(Geometry.blend(a, b, weight: 1, inW: 48, inH: 64), b)
    }

    /// Values from model/pipeline/smoothing.py: OneEuroFilter(1.0, 0.5, 2.0) on these samples (restart at a new
    /// length and at a time that does not move forward).
    func testOneEuroMatchesSmoothingPy() throws {
        let f = try OneEuroFilter(minCutoff: 1.0, beta: 0.5, dCutoff: 2.0)
        let samples: [([Double], Double, [Double])] = [
            ([0, 10, -3], 0, [0, 10, -3]),
            ([1, 12.5, -3], 0.04, [0.5656376366646969, 11.855432876405134, -3.0]),
            ([3, 11, 40], 0.07, [2.368466282436038, 11.454122155287779, 38.873545607963514]),
            ([2, 11, 41], 0.1, [2.1312286585972244, 11.34857899976335, 40.928824701864265]),
            ([2.5, 9], 0.13, [2.5, 9.0]),
            ([3.5, 8], 0.2, [3.1563622223906607, 8.343637777609338]),
            ([9, 9], 0.2, [9.0, 9.0]),
            ([9.5, 8.5], 0.25, [9.239621539724805, 8.760378460275195]),
        ]
        for (x, t, want) in samples {
            let got = f.filter(x, t: t)
            XCTAssertEqual(got.count, want.count)
            for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: 1e-12, "t \(t)") }
        }
    }

    /// A 4-vertex mesh filling the crop's middle, all visible, with 2 joints.
    private let raw = RawOutputs(vertices: [10, 10, 0, 38, 10, 0, 10, 54, 0, 38, 54, 0], visibility: [1, 1, 1, 1],
                                 joints: [24, 20, 0, 24, 44, 0])

    private func pipeline(detections: [Detection], infer: @escaping FramePipeline<Void>.Infer) throws -> FramePipeline<Void> {
        FramePipeline<Void>(config: try PipelineConfig(inW: 48, inH: 64), detect: { _ in detections }, infer: infer)
    }

    func testInferReturningTheWrongCountThrows() throws {
        let p = try pipeline(detections: [Detection(box: Box(x0: 0, y0: 0, x1: 30, y1: 40), score: 0.9)]) { _, crops in
            Array(repeating: self.raw, count: crops.count + 1)
        }
        XCTAssertThrowsError(try p.process((), t: 0)) { error in
            guard case PipelineError.badOutputs = error else { return XCTFail("\(error)") }
        }
    }

    func testOutputsOfTheWrongSizeThrow() throws {
        let p = try pipeline(detections: [Detection(box: Box(x0: 0, y0: 0, x1: 30, y1: 40), score: 0.9)]) { _, _ in
            [RawOutputs(vertices: [1, 2, 3, 4], visibility: [1])]
        }
        XCTAssertThrowsError(try p.process((), t: 0))
    }

    func testNoDetectionMeansNoInference() throws {
        let p = try pipeline(detections: [Detection(box: Box(x0: 5, y0: 5, x1: 5, y1: 40), score: 1)]) { _, _ in
            XCTFail("no crop, no inference"); return []
        }
        let r = try p.process((), t: 0)
        XCTAssertTrue(r.detected)
        XCTAssertTrue(r.crops.isEmpty && r.people.isEmpty && r.lost.isEmpty, "a box without area is ignored")
    }

    func testDuplicateTracksKeepTheOlderIdAndTiesGoToTheEarlierDetection() throws {
        // Two equal-score detections: both start tracks (ids 1 and 2, in detection order); the model finds the
        // same person in both crops, so the boxes coincide and track 2 is dropped.
        let first = Box(x0: 100, y0: 100, x1: 160, y1: 180), second = Box(x0: 104, y0: 100, x1: 164, y1: 180)
        var crops: [Crop] = []
        let p = try pipeline(detections: [Detection(box: first, score: 0.8), Detection(box: second, score: 0.8)]) { _, c in
            crops = c
            let target = c[0]  // every crop sees what the first one sees, mapped into its own pixels
            return c.map { crop in
                RawOutputs(vertices: self.raw.vertices.enumerated().map { i, v in
                    switch i % 3 {
                    case 0: return (target.x0 + target.scale * v - crop.x0) / crop.scale
                    case 1: return (target.y0 + target.scale * v - crop.y0) / crop.scale
                    default: return v
                    }
                }, visibility: self.raw.visibility)
            }
        }
        let r = try p.process((), t: 0)
        XCTAssertEqual(crops.count, 2)
        XCTAssertEqual(crops[0], Geometry.cropFromBox(first, inW: 48, inH: 64, expand: 1.25))
        XCTAssertEqual(r.people.map(\.id), [1])
        XCTAssertEqual(r.people.first?.detectionBox, first)
        XCTAssertEqual(r.lost, [2])
        XCTAssertEqual(try p.process((), t: 1.0 / 30).crops.count, 1, "the duplicate is gone for good")
    }

    func testALostTrackIsDroppedAndTheNextFrameDetects() throws {
        var visible = 1.0
        let p = try pipeline(detections: [Detection(box: Box(x0: 0, y0: 0, x1: 30, y1: 40), score: 0.9)]) { _, c in
            c.map { _ in RawOutputs(vertices: self.raw.vertices, visibility: Array(repeating: visible, count: 4)) }
        }
        XCTAssertEqual(try p.process((), t: 0).people.map(\.id), [1])
        XCTAssertFalse(try p.process((), t: 0.1).detected, "one track, maxPeople 2: wait detectEvery frames")
        visible = 0
        let lost = try p.process((), t: 0.2)
        XCTAssertEqual(lost.lost, [1])
        XCTAssertTrue(lost.people.isEmpty)
        visible = 1
        let again = try p.process((), t: 0.3)
        XCTAssertTrue(again.detected)
        XCTAssertEqual(again.people.map(\.id), [2], "ids are never reused")
    }
}
