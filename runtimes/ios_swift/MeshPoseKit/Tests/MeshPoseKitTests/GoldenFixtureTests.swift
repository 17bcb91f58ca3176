import XCTest
@testable import MeshPoseKit

/// Decoding and crop geometry must match Python's (tests/fixtures/golden_xs.json) within 1e-4 px.
final class GoldenFixtureTests: XCTestCase {
    let tol = 1e-4

    func testCropFromPersonBoxMatchesPython() throws {
        let fx = try Fixtures.json("golden_xs.json")
        let input = try XCTUnwrap(fx["input"] as? [String: Any])
        let inW = (input["width"] as! NSNumber).intValue, inH = (input["height"] as! NSNumber).intValue
        for case let c as [String: Any] in try XCTUnwrap(fx["cases"] as? [Any]) {
            let b = doubles(c["person_box"])
            let crop = try XCTUnwrap(Geometry.cropFromBox(Box(x0: b[0], y0: b[1], x1: b[2], y1: b[3]), inW: inW, inH: inH))
            let want = try XCTUnwrap(c["crop"] as? [String: NSNumber])
            XCTAssertEqual(crop.x0, want["x0"]!.doubleValue, accuracy: 1e-9)
            XCTAssertEqual(crop.y0, want["y0"]!.doubleValue, accuracy: 1e-9)
            XCTAssertEqual(crop.scale, want["scale"]!.doubleValue, accuracy: 1e-12)
        }
    }

    func testDecodedMeshMatchesPython() throws {
        let fx = try Fixtures.json("golden_xs.json")
        let input = try XCTUnwrap(fx["input"] as? [String: Any])
        let inW = (input["width"] as! NSNumber).intValue, inH = (input["height"] as! NSNumber).intValue
        let threshold = (fx["visibility_threshold"] as! NSNumber).doubleValue
        let cases = try XCTUnwrap(fx["cases"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 3)
        for c in cases {
            let cr = try XCTUnwrap(c["crop"] as? [String: NSNumber])
            let crop = Crop(x0: cr["x0"]!.doubleValue, y0: cr["y0"]!.doubleValue, scale: cr["scale"]!.doubleValue)
            let raw = try XCTUnwrap(c["raw"] as? [String: Any])
            let mesh = Decoder.decode(vertices: points(raw["vertices"]), visibility: doubles(raw["visibility"]),
                                      joints: points(raw["joints"]),
                                      crop: crop, inW: inW, inH: inH, threshold: threshold,
                                      origin: doubles(fx["origin_px"]))
            let dec = try XCTUnwrap(c["decoded"] as? [String: Any])
            let want = points(dec["vertices"])
            XCTAssertEqual(want.count, mesh.vertices.count)
            for i in want.indices { XCTAssertEqual(mesh.vertices[i], want[i], accuracy: tol) }
            let wantJ = points(dec["joints"])
            XCTAssertEqual(wantJ.count, mesh.joints.count)
            for i in wantJ.indices { XCTAssertEqual(mesh.joints[i], wantJ[i], accuracy: tol) }
            XCTAssertEqual(mesh.visible, try XCTUnwrap(dec["visible"] as? [Bool]))
            if let wb = dec["visible_bounds"] as? [NSNumber] {
                let b = try XCTUnwrap(mesh.visibleBounds)
                let got = [b.x0, b.y0, b.x1, b.y1]
                for i in 0..<4 { XCTAssertEqual(got[i], wb[i].doubleValue, accuracy: tol) }
            } else {
                XCTAssertNil(mesh.visibleBounds)
            }
            if let wn = dec["next_crop"] as? [String: NSNumber] {
                let n = try XCTUnwrap(mesh.nextCrop)
                XCTAssertEqual(n.x0, wn["x0"]!.doubleValue, accuracy: tol)
                XCTAssertEqual(n.y0, wn["y0"]!.doubleValue, accuracy: tol)
                XCTAssertEqual(n.scale, wn["scale"]!.doubleValue, accuracy: 1e-6)
            } else {
                XCTAssertNil(mesh.nextCrop, "\(c["name"] ?? "")")
            }
        }
    }

    func testCropAndLetterboxRoundTrip() throws {
        let crop = try XCTUnwrap(Geometry.cropFromBox(Box(x0: 100, y0: 50, x1: 380, y1: 700), inW: 192, inH: 256))
        for (x, y) in [(0.0, 0.0), (95.5, 128.25), (192.0, 256.0)] {
            let f = crop.toFrame(x, y)
            let back = crop.toCrop(f.0, f.1)
            XCTAssertEqual(back.0, x, accuracy: 1e-9)
            XCTAssertEqual(back.1, y, accuracy: 1e-9)
        }
        let lb = Letterbox(frameW: 1920, frameH: 1080, viewW: 1179, viewH: 2556)
        let s = lb.toScreen(960, 540)
        let r = lb.toFrame(s.0, s.1)
        XCTAssertEqual(r.0, 960, accuracy: 1e-9)
        XCTAssertEqual(r.1, 540, accuracy: 1e-9)
        XCTAssertNil(Geometry.cropFromBox(Box(x0: 5, y0: 5, x1: 5, y1: 9), inW: 192, inH: 256))
    }
}
