import Foundation
import XCTest
@testable import MeshPoseKit

final class StridedArrayTests: XCTestCase {
    /// A [1, V, 3] output as Core ML may lay it out: each vertex row padded to 4 floats, so strides
    /// (4V, 4, 1) and a padding value after every row. Reading it as contiguous (the old dataPointer
    /// code) mixes the padding into the vertices; the strided reader must not.
    func testPaddedRowsAreSkipped() throws {
        let v = 5
        var storage = [Float](repeating: -999, count: 4 * v)
        for i in 0..<v { for c in 0..<3 { storage[4 * i + c] = Float(10 * i + c) } }
        let got = try StridedReader.contiguous(storage, shape: [1, v, 3], strides: [4 * v, 4, 1])
        XCTAssertEqual(got, (0..<v).flatMap { i in (0..<3).map { Float(10 * i + $0) } })
        XCTAssertNotEqual(Array(storage.prefix(3 * v)), got, "a contiguous read would differ")
        XCTAssertFalse(got.contains(-999))
    }

    /// A channel-major buffer ([1, 3, V] storage) exposed as [1, V, 3] through its strides (1 · 3V, 1, V).
    func testTransposedStrides() throws {
        let v = 4
        var storage = [Float](repeating: 0, count: 3 * v)
        for c in 0..<3 { for i in 0..<v { storage[c * v + i] = Float(100 * c + i) } }
        let got = try StridedReader.contiguous(storage, shape: [1, v, 3], strides: [3 * v, 1, v])
        XCTAssertEqual(got, (0..<v).flatMap { i in (0..<3).map { Float(100 * $0 + i) } })
    }

    func testContiguousStridesReturnTheStorage() throws {
        let shape = [1, 7, 3]
        let storage = (0..<21).map { Double($0) * 0.5 }
        XCTAssertEqual(StridedReader.rowMajorStrides(shape), [21, 3, 1])
        let got = try StridedReader.contiguous(storage, shape: shape, strides: StridedReader.rowMajorStrides(shape))
        XCTAssertEqual(got, storage.map(Float.init))
    }

    func testBadLayoutsAreRefusedNotRead() {
        XCTAssertThrowsError(try StridedReader.contiguous([Float](repeating: 0, count: 8), shape: [2, 4], strides: [4])) {
            XCTAssertEqual($0 as? StridedReadError, .rankMismatch(shape: 2, strides: 1))
        }
        // Strides reaching past the storage (e.g. a padded layout read from a too-short buffer).
        XCTAssertThrowsError(try StridedReader.contiguous([Float](repeating: 0, count: 12), shape: [1, 4, 3],
                                                          strides: [16, 4, 1])) {
            XCTAssertEqual($0 as? StridedReadError, .outOfBounds(lastOffset: 14, storage: 12))
        }
        XCTAssertThrowsError(try StridedReader.contiguous([Float](repeating: 0, count: 4), shape: [2, 2], strides: [-2, 1]))
        XCTAssertEqual(try StridedReader.contiguous([Float](), shape: [1, 0, 3], strides: [0, 3, 1]), [])
    }

    func testLockedSerialisesWritersAndReaders() {
        let counter = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 1000) { _ in counter.withLock { $0 += 1 } }
        XCTAssertEqual(counter.get(), 1000)
        let slot = Locked<String?>(nil)
        slot.set("model")
        XCTAssertEqual(slot.get(), "model")
    }
}
