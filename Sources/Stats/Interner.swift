/// Small integer ids for the few distinct strings a stream repeats (pod names, error
/// kinds), looked up from bytes without making a String per line.
public struct Interner: Sendable {
    public private(set) var names: [String] = []
    private var bytes: [[UInt8]] = []
    private var index: [[UInt8]: Int] = [:]
    private var last = -1

    public init() {}

    /// Distinct names kept; further ones share the id of "(other)", so a stream of
    /// ever-new names cannot grow memory without bound.
    public static let limit = 10_000

    public mutating func id(_ key: [UInt8]) -> Int {
        // Consecutive lines usually repeat a recent name, and there are few: compare
        // bytes directly before hashing.
        if last >= 0, bytes[last] == key { return last }
        if bytes.count <= 16 {
            for (i, known) in bytes.enumerated() where known == key {
                last = i
                return i
            }
        } else if let found = index[key] {
            last = found
            return found
        }
        if names.count >= Interner.limit {
            let other = Array("(other)".utf8)
            if let found = index[other] { return found }
            return insert(other)
        }
        return insert(key)
    }

    private mutating func insert(_ key: [UInt8]) -> Int {
        let id = names.count
        names.append(String(decoding: key, as: UTF8.self))
        bytes.append(key)
        index[key] = id
        last = id
        return id
    }

    public mutating func id(_ name: String) -> Int { id(Array(name.utf8)) }

    public var count: Int { names.count }
}
