import XCTest
@testable import MeshPoseKit

final class ContractTests: XCTestCase {
    func testExportedContractMatchesTheNamesAndShapesTheAppUses() throws {
        let c = try ModelContract.parse(try Fixtures.data("contract_xs.json"))
        XCTAssertEqual(c.inputName, ModelIO.input)
        XCTAssertEqual(c.outputs.map(\.name), ModelIO.outputs)
        XCTAssertEqual(c.outputs[0].shape, [1, c.numVertices, 3])
        XCTAssertEqual(c.outputs[1].shape, [1, c.numVertices])
        XCTAssertEqual(c.outputs[2].shape, [1, c.jointNames.count, 3])
        XCTAssertEqual(c.jointNames.count, 17)
        XCTAssertTrue(c.faces.allSatisfy { $0.allSatisfy { (0..<c.numVertices).contains($0) } })
    }

    func testAppSourcesUseOnlyTheContractNames() throws {
        let appDir = Fixtures.root.appendingPathComponent("runtimes/ios_swift/MeshPoseApp")
        let files = try FileManager.default.contentsOfDirectory(atPath: appDir.path).filter { $0.hasSuffix(".swift") }
        XCTAssertFalse(files.isEmpty, "no app sources under \(appDir.path)")
        let text = try files.map { try String(contentsOf: appDir.appendingPathComponent($0), encoding: .utf8) }.joined()
        XCTAssertTrue(text.contains("ModelIO.vertices") && text.contains("ModelIO.visibility"))
        for literal in ["\"vertices\"", "\"visibility\"", "\"joints\"", "\"image\""] {
            XCTAssertFalse(text.contains(literal), "app hard-codes \(literal) instead of ModelIO")
        }
    }

    func testUnknownContractVersionIsRefusedWithAClearMessage() throws {
        var text = try XCTUnwrap(String(data: try Fixtures.data("contract_xs.json"), encoding: .utf8))
        text = text.replacingOccurrences(of: "\"contract_version\": 3", with: "\"contract_version\": 4")
        XCTAssertThrowsError(try ModelContract.parse(Data(text.utf8))) { error in
            XCTAssertEqual(error as? ContractError, .unsupportedVersion(4))
            XCTAssertTrue(AppError.fromContract(error).description.contains("version 4 is not supported"))
        }
    }

    func testVersion3OutputsAreAboutTheCropCentreAndEarlierOnesAboutTheCorner() throws {
        let data = try Fixtures.data("contract_xs.json")
        let c = try ModelContract.parse(data)
        XCTAssertEqual(c.contractVersion, 3)
        XCTAssertEqual(c.originPx, [Double(c.inputWidth) / 2, Double(c.inputHeight) / 2, 0])
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let outputs = try XCTUnwrap(root["outputs"] as? [[String: Any]])
        root["outputs"] = outputs.map { o -> [String: Any] in var o = o; o["origin_px"] = nil; return o }
        XCTAssertThrowsError(try ModelContract.parse(try JSONSerialization.data(withJSONObject: root))) { error in
            XCTAssertTrue("\(error)".contains("must carry origin_px"))
        }
        // A version 2 artifact emitted crop pixels from the corner: nothing to add.
        root["contract_version"] = 2
        XCTAssertEqual(try ModelContract.parse(try JSONSerialization.data(withJSONObject: root)).originPx, ModelIO.cornerOrigin)
        root["contract_version"] = 3
        root["outputs"] = outputs.enumerated().map { i, o -> [String: Any] in
            var o = o; if i == 2 { o["origin_px"] = [0, 0, 0] }; return o
        }
        XCTAssertThrowsError(try ModelContract.parse(try JSONSerialization.data(withJSONObject: root)))
        // Decoding adds the origin before the crop's scale: the centre of the input lands on the crop's centre.
        let mesh = Decoder.decode(vertices: [0, 0, 1], visibility: [1], joints: [], crop: Crop(x0: 10, y0: 20, scale: 2),
                                  inW: c.inputWidth, inH: c.inputHeight, origin: c.originPx)
        XCTAssertEqual(mesh.vertices[0], 10 + 2 * Double(c.inputWidth) / 2, accuracy: 1e-12)
        XCTAssertEqual(mesh.vertices[1], 20 + 2 * Double(c.inputHeight) / 2, accuracy: 1e-12)
        XCTAssertEqual(mesh.vertices[2], 2, accuracy: 1e-12)
    }

    func testVersion2CarriesTheCropConventionAndLicence() throws {
        let c = try ModelContract.parse(try Fixtures.data("contract_xs.json"))
        XCTAssertGreaterThanOrEqual(c.contractVersion, 2)
        XCTAssertEqual(c.crop.boxScale, 1.25)
        XCTAssertEqual(c.crop.padRGB, [0, 0, 0])
        XCTAssertEqual(c.commercialUse, true)
    }

    func testAModelWithoutJointsOrFacesIsAccepted() throws {
        // The authors' release has no published triangulation and, without SMPL, no landmarker.
        let data = try Fixtures.data("contract_xs.json")
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        root["outputs"] = Array(try XCTUnwrap(root["outputs"] as? [Any]).prefix(2))
        root["joints"] = NSNull()
        var mesh = try XCTUnwrap(root["mesh"] as? [String: Any])
        mesh["faces"] = [Any]()
        root["mesh"] = mesh
        root["license"] = ["name": "research", "commercial_use": false, "notice": "non-commercial"]
        let c = try ModelContract.parse(try JSONSerialization.data(withJSONObject: root))
        XCTAssertFalse(c.hasJoints)
        XCTAssertTrue(c.jointNames.isEmpty && c.faces.isEmpty)
        XCTAssertEqual(c.commercialUse, false)
        root["contract_version"] = 1
        XCTAssertThrowsError(try ModelContract.parse(try JSONSerialization.data(withJSONObject: root)))
    }

    func testBrokenContractsGiveErrorsNotCrashes() {
        for bad in ["not json", "{}", "{\"contract_version\": 1}", "[1, 2]"] {
            XCTAssertThrowsError(try ModelContract.parse(Data(bad.utf8)), bad)
        }
    }

    /// The fields of export/detector/contract.py's contract that DetectorContract reads (no exported detector
    /// contract is stored under tests/fixtures, so this mirrors build_detector_contract's layout).
    private func detectorContract(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
        var root: [String: Any] = [
            "contract_version": 1, "kind": "person_detector", "name": "blazepose_detector",
            "input": ["name": "image", "shape": [1, 3, 224, 224], "layout": "NCHW", "dtype": "image", "height": 224,
                      "width": 224],
            "outputs": [["name": "regressors", "shape": [1, 2254, 12], "units": "input pixels"],
                        ["name": "scores", "shape": [1, 2254, 1], "units": "logit"]],
        ]
        edit(&root)
        return try JSONSerialization.data(withJSONObject: root)
    }

    func testDetectorContractGivesTheNamesAndChecksTheAnchors() throws {
        let c = try DetectorContract.parse(try detectorContract())
        XCTAssertEqual(c.inputName, "image")
        XCTAssertEqual([c.regressorsName, c.scoresName], ["regressors", "scores"])
        XCTAssertEqual(c.numAnchors, 2254)
        let wrong: [(inout [String: Any]) -> Void] = [
            { $0["kind"] = "mesh" }, { $0["contract_version"] = 2 }, { $0["input"] = ["name": "image", "width": 256, "height": 256] },
            { $0["outputs"] = [["name": "regressors", "shape": [1, 896, 12]], ["name": "scores", "shape": [1, 896, 1]]] },
            { $0["outputs"] = [["name": "regressors", "shape": [1, 2254, 12]]] },
        ]
        for edit in wrong { XCTAssertThrowsError(try DetectorContract.parse(try detectorContract(edit))) }
        XCTAssertThrowsError(try DetectorContract.parse(Data("[]".utf8)))
    }
}
