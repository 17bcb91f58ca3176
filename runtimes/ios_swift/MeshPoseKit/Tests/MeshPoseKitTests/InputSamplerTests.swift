import XCTest
@testable import MeshPoseKit

/// Camera frame -> model input must match Python's model.pipeline.crop.sample_crop (tests/fixtures/sampler_cases.json,
/// the fixture the Kotlin sampler is held to as well), with and without the paper variant's pad.
final class InputSamplerTests: XCTestCase {
    private func fixture() throws -> (frame: [UInt8], width: Int, height: Int, stride: Int, inW: Int, inH: Int,
                                      pad: [Double], cases: [[String: Any]]) {
        let fx = try Fixtures.json("sampler_cases.json")
        let frame = try XCTUnwrap(fx["frame"] as? [String: Any]), input = try XCTUnwrap(fx["input"] as? [String: Any])
        return (doubles(frame["rgba"]).map { UInt8($0) }, try XCTUnwrap(frame["width"] as? Int),
                try XCTUnwrap(frame["height"] as? Int), try XCTUnwrap(frame["row_stride"] as? Int),
                try XCTUnwrap(input["width"] as? Int), try XCTUnwrap(input["height"] as? Int),
                doubles(fx["paper_pad_rgb"]), try XCTUnwrap(fx["cases"] as? [[String: Any]]))
    }

    private func crop(_ c: [String: Any]) throws -> Crop {
        let d = try XCTUnwrap(c["crop"] as? [String: NSNumber])
        return Crop(x0: try XCTUnwrap(d["x0"]).doubleValue, y0: try XCTUnwrap(d["y0"]).doubleValue,
                    scale: try XCTUnwrap(d["scale"]).doubleValue)
    }

    func testEveryCaseMatchesPythonWithAndWithoutThePad() throws {
        let f = try fixture()
        for (pad, key) in [([0.0, 0, 0], "hwc"), (f.pad, "hwc_paper_pad")] {
            let sampler = try XCTUnwrap(InputSampler(inW: f.inW, inH: f.inH, padRGB: pad))
            for c in f.cases {
                let box = try crop(c)
                let got = try XCTUnwrap(f.frame.withUnsafeBytes {
                    sampler.sample($0, width: f.width, height: f.height, rowStride: f.stride, order: .rgba, crop: box)
                })
                let want = doubles(c[key])
                XCTAssertEqual(got.count, want.count)
                for i in want.indices { XCTAssertEqual(Double(got[i]), want[i], accuracy: 1e-3, "\(c["name"] ?? "")[\(i)] \(key)") }
            }
        }
    }

    func testBGRAFramesAndTheCoreMLBufferGiveTheSameSamples() throws {
        let f = try fixture()
        var bgra = f.frame  // swap R and B of every pixel: a camera buffer of the same picture
        for y in 0..<f.height { for x in 0..<f.width { bgra.swapAt(y * f.stride + 4 * x, y * f.stride + 4 * x + 2) } }
        let sampler = try XCTUnwrap(InputSampler(inW: f.inW, inH: f.inH, padRGB: f.pad))
        let c = try crop(f.cases[3])  // partly outside: pad and frame pixels both
        let want = doubles(f.cases[3]["hwc_paper_pad"])
        let rgb = try XCTUnwrap(bgra.withUnsafeBytes {
            sampler.sample($0, width: f.width, height: f.height, rowStride: f.stride, order: .bgra, crop: c)
        })
        for i in want.indices { XCTAssertEqual(Double(rgb[i]), want[i], accuracy: 1e-3) }
        let outStride = 4 * f.inW + 16  // padded rows, as Core Video allocates them
        var out = [UInt8](repeating: 7, count: outStride * f.inH)
        let ok = bgra.withUnsafeBytes { src in out.withUnsafeMutableBytes { dst in
            sampler.renderBGRA(src, width: f.width, height: f.height, rowStride: f.stride, order: .bgra, crop: c,
                               into: dst, destinationRowStride: outStride)
        } }
        XCTAssertTrue(ok)
        for v in 0..<f.inH { for u in 0..<f.inW {
            let i = v * outStride + 4 * u, k = (v * f.inW + u) * 3
            XCTAssertEqual(Double(out[i + 2]), want[k].rounded(), accuracy: 0.5001)  // R
            XCTAssertEqual(Double(out[i + 1]), want[k + 1].rounded(), accuracy: 0.5001)  // G
            XCTAssertEqual(Double(out[i]), want[k + 2].rounded(), accuracy: 0.5001)  // B
            XCTAssertEqual(out[i + 3], 255)
        } }
        XCTAssertEqual(out[4 * f.inW], 7)  // row padding is not written
    }

    func testBadArgumentsAreRefused() throws {
        XCTAssertNil(InputSampler(inW: 0, inH: 4))
        XCTAssertNil(InputSampler(inW: 4, inH: 4, padRGB: [0, 0]))
        let sampler = try XCTUnwrap(InputSampler(inW: 2, inH: 2))
        let frame = [UInt8](repeating: 0, count: 16)
        frame.withUnsafeBytes { p in
            XCTAssertNil(sampler.sample(p, width: 2, height: 2, rowStride: 4, order: .rgba, crop: Crop(x0: 0, y0: 0, scale: 1)))
            XCTAssertNil(sampler.sample(p, width: 3, height: 2, rowStride: 12, order: .rgba, crop: Crop(x0: 0, y0: 0, scale: 1)))
            XCTAssertNil(sampler.sample(p, width: 2, height: 2, rowStride: 8, order: .rgba, crop: Crop(x0: 0, y0: 0, scale: 0)))
        }
    }
}
