import Foundation
import XCTest

/// The repository's shared fixtures (tests/fixtures), written by the Python export.
enum Fixtures {
    static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("tests/fixtures").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        fatalError("tests/fixtures not found above \(#filePath)")
    }()

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent("tests/fixtures/\(name)"))
    }

    static func json(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: data(name)) as? [String: Any])
    }

    /// Writes a test output under build/swift-kit/out/ (git-ignored) for checks outside Swift.
    static func writeOutput(_ name: String, _ data: Data) throws {
        let dir = root.appendingPathComponent("build/swift-kit/out")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try data.write(to: dir.appendingPathComponent(name))
    }
}

func doubles(_ any: Any?) -> [Double] { (any as? [NSNumber] ?? []).map(\.doubleValue) }
func points(_ any: Any?) -> [Double] { (any as? [[NSNumber]] ?? []).flatMap { $0.map(\.doubleValue) } }
