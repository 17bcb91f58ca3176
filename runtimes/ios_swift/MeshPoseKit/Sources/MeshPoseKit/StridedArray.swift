import Foundation

/// Why a strided multi-array could not be read.
public enum StridedReadError: Error, Equatable, CustomStringConvertible {
    case rankMismatch(shape: Int, strides: Int)
    case negativeExtent(shape: [Int], strides: [Int])
    case outOfBounds(lastOffset: Int, storage: Int)

    public var description: String {
        switch self {
        case let .rankMismatch(shape, strides):
            return "shape has \(shape) dimensions but strides have \(strides)"
        case let .negativeExtent(shape, strides):
            return "negative size or stride in shape \(shape), strides \(strides)"
        case let .outOfBounds(lastOffset, storage):
            return "strides reach element \(lastOffset) of a storage of \(storage)"
        }
    }
}

/// Reads a multi-array whose element at index (i0, i1, …) lives at storage offset Σ i_d · strides[d]
/// (Core ML's `MLMultiArray` layout: Apple documents that its storage "may not store these scalar values
/// contiguously; use strides"), returning the elements as `[Float]` in row-major order of `shape`.
/// Pure Swift over (storage, shape, strides), so the app's output reading is tested on Linux too.
public enum StridedReader {
    public static func contiguous<T: BinaryFloatingPoint>(_ storage: UnsafeBufferPointer<T>, shape: [Int],
                                                          strides: [Int]) throws -> [Float] {
        guard shape.count == strides.count else {
            throw StridedReadError.rankMismatch(shape: shape.count, strides: strides.count)
        }
        guard !shape.contains(where: { $0 < 0 }), !strides.contains(where: { $0 < 0 }) else {
            throw StridedReadError.negativeExtent(shape: shape, strides: strides)
        }
        let count = shape.reduce(1, *)
        if count == 0 { return [] }
        let lastOffset = zip(shape, strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        guard lastOffset < storage.count else {
            throw StridedReadError.outOfBounds(lastOffset: lastOffset, storage: storage.count)
        }
        var out = [Float]()
        out.reserveCapacity(count)
        var index = [Int](repeating: 0, count: shape.count)
        var offset = 0
        for _ in 0..<count {
            out.append(Float(storage[offset]))
            // Odometer step over the index, last dimension fastest, keeping the offset in step.
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < shape[d] { break }
                offset -= index[d] * strides[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    public static func contiguous<T: BinaryFloatingPoint>(_ storage: [T], shape: [Int], strides: [Int]) throws -> [Float] {
        try storage.withUnsafeBufferPointer { try contiguous($0, shape: shape, strides: strides) }
    }

    /// Row-major (C-order) strides of a contiguous array of `shape`.
    public static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = step
            step *= shape[d]
        }
        return strides
    }
}

/// A value shared between threads, every access under one lock (the app's model processor is swapped on the
/// main actor and read on the capture queue).
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    public func get() -> Value { withLock { $0 } }
    public func set(_ newValue: Value) { withLock { $0 = newValue } }
}
