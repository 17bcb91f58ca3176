import XCTest
@testable import MeshPoseKit

/// The detector's decode against Python's model/pipeline/detector.py (tests/fixtures/detector_golden.json).
final class PersonDetectorTests: XCTestCase {
    func testAnchorsAreMediaPipes() throws {
        let fx = try Fixtures.json("detector_golden.json")
        let want = try XCTUnwrap(fx["anchors"] as? [[NSNumber]])
        let anchors = PersonDetector.generateAnchors()
        XCTAssertEqual(anchors.count, 2254)
        XCTAssertEqual(anchors.count, want.count)
        for (a, w) in zip(anchors, want) {
            XCTAssertEqual(a[0], w[0].doubleValue, accuracy: 1e-12)
            XCTAssertEqual(a[1], w[1].doubleValue, accuracy: 1e-12)
        }
    }

    func testEveryCaseDecodesToThePythonPeople() throws {
        let fx = try Fixtures.json("detector_golden.json")
        let cases = try XCTUnwrap(fx["cases"] as? [[String: Any]])
        let anchors = PersonDetector.generateAnchors()
        var sawEmpty = false
        for c in cases {
            let name = try XCTUnwrap(c["name"] as? String)
            let frame = try XCTUnwrap(c["frame"] as? [String: Any])
            let lb = try XCTUnwrap(PersonDetector.letterbox(frameWidth: (frame["width"] as! NSNumber).intValue,
                                                            frameHeight: (frame["height"] as! NSNumber).intValue))
            let stored = try XCTUnwrap(c["letterbox"] as? [String: Any])
            XCTAssertEqual(lb.x0, (stored["x0"] as! NSNumber).doubleValue, accuracy: 1e-9, name)
            XCTAssertEqual(lb.y0, (stored["y0"] as! NSNumber).doubleValue, accuracy: 1e-9, name)
            XCTAssertEqual(lb.scale, (stored["scale"] as! NSNumber).doubleValue, accuracy: 1e-12, name)
            let (regressors, logits) = try rawOutputs(c)
            let people = try XCTUnwrap(PersonDetector.detectPeople(
                regressors: regressors, logits: logits, letterbox: lb, maxPeople: (c["max_people"] as! NSNumber).intValue,
                threshold: (c["threshold"] as! NSNumber).doubleValue, anchors: anchors))
            let want = try XCTUnwrap((c["decoded"] as? [String: Any])?["people"] as? [[String: Any]])
            sawEmpty = sawEmpty || want.isEmpty
            XCTAssertEqual(people.count, want.count, name)
            for (got, exp) in zip(people, want) {
                XCTAssertEqual(got.anchor, (exp["anchor"] as! NSNumber).intValue, name)
                XCTAssertEqual(got.score, (exp["score"] as! NSNumber).doubleValue, accuracy: 1e-6, name)
                close(got.personBox, doubles(exp["person_box"]), name)
                close(got.faceBox, doubles(exp["face_box"]), name)
                close(got.keypoints.flatMap { $0 }, points(exp["keypoints"]), name)
                let roi = try XCTUnwrap(exp["roi"] as? [String: NSNumber])
                close([got.roi.cx, got.roi.cy, got.roi.size, got.roi.rotation],
                      ["cx", "cy", "size", "rotation"].map { roi[$0]!.doubleValue }, name)
            }
        }
        XCTAssertTrue(sawEmpty, "the empty frame is one of the cases")
    }

    /// The fixture stores the regressor rows that matter by anchor index (the rest are zeros).
    private func rawOutputs(_ c: [String: Any]) throws -> (regressors: [Double], logits: [Double]) {
        let raw = try XCTUnwrap(c["raw"] as? [String: Any])
        let logits = doubles(raw["score_logits"])
        var regressors = [Double](repeating: 0, count: logits.count * PersonDetector.numCoords)
        for (k, row) in try XCTUnwrap(raw["regressors"] as? [String: Any]) {
            let start = try XCTUnwrap(Int(k)) * PersonDetector.numCoords
            for (i, v) in doubles(row).enumerated() { regressors[start + i] = v }
        }
        return (regressors, logits)
    }

    /// The glue the app uses: raw outputs and frame size -> the frame pipeline's detections, which are Python's
    /// person boxes and scores (model/tools/detect.py person_detector) for every case.
    func testDetectionsAreThePythonPersonBoxesAndScores() throws {
        let fx = try Fixtures.json("detector_golden.json")
        let anchors = PersonDetector.generateAnchors()
        for c in try XCTUnwrap(fx["cases"] as? [[String: Any]]) {
            let name = try XCTUnwrap(c["name"] as? String)
            let frame = try XCTUnwrap(c["frame"] as? [String: NSNumber])
            let (regressors, logits) = try rawOutputs(c)
            let got = try XCTUnwrap(PersonDetector.detections(
                regressors: regressors, logits: logits, frameWidth: frame["width"]!.intValue,
                frameHeight: frame["height"]!.intValue, maxPeople: (c["max_people"] as! NSNumber).intValue,
                threshold: (c["threshold"] as! NSNumber).doubleValue, anchors: anchors))
            let want = try XCTUnwrap((c["decoded"] as? [String: Any])?["people"] as? [[String: Any]])
            XCTAssertEqual(got.count, want.count, name)
            for (g, w) in zip(got, want) {
                XCTAssertEqual(g.score, (w["score"] as! NSNumber).doubleValue, accuracy: 1e-6, name)
                close([g.box.x0, g.box.y0, g.box.x1, g.box.y1], doubles(w["person_box"]), name)
            }
        }
        XCTAssertNil(PersonDetector.detections(regressors: [], logits: [], frameWidth: 640, frameHeight: 480))
        XCTAssertNil(PersonDetector.detections(regressors: [Double](repeating: 0, count: 2254 * 12),
                                               logits: [Double](repeating: 0, count: 2254), frameWidth: 0, frameHeight: 480))
    }

    /// samplingCrop is the map the app's renderer (InputSampler) samples through: bilinear sampling of the probe
    /// frame at the crop's pixel centres (crop.py sample_crop's convention), rounded, gives the fixture's pixels.
    func testTheSamplingCropGivesTheProbePixels() throws {
        let probe = try XCTUnwrap(try Fixtures.json("detector_golden.json")["sampling_probe"] as? [String: Any])
        let frame = try XCTUnwrap(probe["frame"] as? [String: Any])
        let w = (frame["width"] as! NSNumber).intValue, h = (frame["height"] as! NSNumber).intValue
        func value(_ x: Int, _ y: Int, _ c: Int) -> Double {
            guard x >= 0, y >= 0, x < w, y < h else { return 0 }
            return Double([(7 * x + 3 * y) % 256, (x * y) % 256, 255 - 3 * x][c])
        }
        let crop = PersonDetector.samplingCrop(try XCTUnwrap(PersonDetector.letterbox(frameWidth: w, frameHeight: h)))
        for px in try XCTUnwrap(probe["pixels"] as? [[String: Any]]) {
            let u = (px["u"] as! NSNumber).intValue, v = (px["v"] as! NSNumber).intValue
            // Continuous frame point of the input pixel's centre, then to centre-at-integer indices.
            let fx = crop.x0 + crop.scale * (Double(u) + 0.5) - 0.5, fy = crop.y0 + crop.scale * (Double(v) + 0.5) - 0.5
            let x0 = Int(fx.rounded(.down)), y0 = Int(fy.rounded(.down)), ax = fx - Double(x0), ay = fy - Double(y0)
            let want = doubles(px["rgb"])
            for c in 0..<3 {
                let top = value(x0, y0, c) * (1 - ax) + value(x0 + 1, y0, c) * ax
                let bottom = value(x0, y0 + 1, c) * (1 - ax) + value(x0 + 1, y0 + 1, c) * ax
                XCTAssertEqual((top * (1 - ay) + bottom * ay).rounded(.toNearestOrEven), want[c], "\(u),\(v)")
            }
        }
    }

    func testTheInputIsSampledAtMediaPipesPhaseAndRounded() throws {
        let probe = try XCTUnwrap(try Fixtures.json("detector_golden.json")["sampling_probe"] as? [String: Any])
        let frame = try XCTUnwrap(probe["frame"] as? [String: Any])
        let w = (frame["width"] as! NSNumber).intValue, h = (frame["height"] as! NSNumber).intValue
        // The probe frame's formula (fixture): ((7x + 3y) mod 256, (x y) mod 256, 255 - 3x).
        var rgba = [UInt8](repeating: 255, count: 4 * w * h)
        for y in 0..<h { for x in 0..<w {
            let o = 4 * (y * w + x)
            rgba[o] = UInt8((7 * x + 3 * y) % 256); rgba[o + 1] = UInt8((x * y) % 256); rgba[o + 2] = UInt8(255 - 3 * x)
        } }
        let (input, _) = try XCTUnwrap(PersonDetector.sampleInput(rgba: rgba, width: w, height: h, rowStride: 4 * w))
        for px in try XCTUnwrap(probe["pixels"] as? [[String: Any]]) {
            let u = (px["u"] as! NSNumber).intValue, v = (px["v"] as! NSNumber).intValue
            let want = doubles(px["rgb"])
            for c in 0..<3 {
                XCTAssertEqual(Double(input[(v * PersonDetector.inputSize + u) * 3 + c]), want[c], accuracy: 1e-4, "\(u),\(v)")
            }
        }
    }

    func testBadArgumentsGiveNil() {
        XCTAssertNil(PersonDetector.letterbox(frameWidth: 0, frameHeight: 10))
        let lb = PersonDetector.letterbox(frameWidth: 10, frameHeight: 10)!
        XCTAssertNil(PersonDetector.detectPeople(regressors: [], logits: [], letterbox: lb))
        XCTAssertNil(PersonDetector.detectPeople(regressors: [Double](repeating: 0, count: 2254 * 12),
                                                 logits: [Double](repeating: 0, count: 2254), letterbox: lb, maxPeople: 0))
    }

    private func close(_ got: [Double], _ want: [Double], _ name: String) {
        XCTAssertEqual(got.count, want.count, name)
        for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: 1e-4, name) }
    }
}
