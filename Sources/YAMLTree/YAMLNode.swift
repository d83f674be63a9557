import CYAML

/// One YAML document as libyaml composes it: scalars, sequences and mappings, with
/// aliases resolved. Scalars stay text; `bool` and `isNull` read plain ones as YAML does.
public enum YAMLNode: Sendable, Equatable {
    /// `plain` is false for quoted or block scalars and for tags other than `!!str`:
    /// `"true"` is text. libyaml's document gives an explicit `!!str` the same tag as an
    /// untagged scalar, so `!!str true` still reads as a boolean.
    case scalar(String, plain: Bool)
    case sequence([YAMLNode])
    case mapping([YAMLPair])

    /// The value of the first key equal to `key`, when this is a mapping.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = self else { return nil }
        return pairs.first { $0.key.string == key }?.value
    }

    /// A scalar's text; nil for null and for collections.
    public var string: String? {
        guard case .scalar(let text, _) = self, !isNull else { return nil }
        return text
    }

    /// A plain true/false (also YAML 1.1's yes/no/on/off, as Kubernetes' parser reads them).
    public var bool: Bool? {
        guard case .scalar(let text, true) = self else { return nil }
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    public var isNull: Bool {
        guard case .scalar(let text, true) = self else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// A sequence's items; empty for anything else (a missing list reads as none).
    public var items: [YAMLNode] {
        guard case .sequence(let items) = self else { return [] }
        return items
    }

    /// The first document of `text`; nil when the text holds none.
    public static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        try documents(text, limit: 1).first
    }

    /// Every document of a multi-document stream (`---` between them), e.g. what
    /// `kubectl kustomize` prints.
    public static func parseAll(_ text: String) throws(YAMLError) -> [YAMLNode] {
        try documents(text, limit: Int.max)
    }

    private static func documents(_ text: String, limit: Int) throws(YAMLError) -> [YAMLNode] {
        var bytes = Array(text.utf8)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else {
            throw YAMLError(message: "out of memory", line: 0, column: 0)
        }
        defer { yaml_parser_delete(&parser) }
        var budget = Self.nodeBudget
        var out: [YAMLNode] = []
        try bytes.withUnsafeMutableBufferPointer { (buffer) throws(YAMLError) in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            while out.count < limit {
                var document = yaml_document_t()
                guard yaml_parser_load(&parser, &document) != 0 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "unreadable YAML"
                    let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                    throw YAMLError(
                        message: context + problem, line: Int(parser.problem_mark.line) + 1,
                        column: Int(parser.problem_mark.column) + 1)
                }
                defer { yaml_document_delete(&document) }
                guard let root = yaml_document_get_root_node(&document) else { return }  // the end of the stream
                out.append(try convert(root, in: &document, depth: 0, budget: &budget))
            }
        }
        return out
    }

    /// Aliases can make a small text expand without bound ("billion laughs") or refer to
    /// their own ancestor; these limits turn both into errors.
    static let nodeBudget = 100_000
    static let maxDepth = 64

    private static func convert(
        _ node: UnsafeMutablePointer<yaml_node_t>, in document: inout yaml_document_t,
        depth: Int, budget: inout Int
    ) throws(YAMLError) -> YAMLNode {
        budget -= 1
        guard budget >= 0, depth < maxDepth else {
            throw YAMLError(
                message: "too many nodes or too deeply nested (aliases?)",
                line: Int(node.pointee.start_mark.line) + 1, column: Int(node.pointee.start_mark.column) + 1)
        }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let scalar = node.pointee.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let defaultTag = node.pointee.tag.map { String(cString: $0) == YAML_DEFAULT_SCALAR_TAG } ?? true
            return .scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE && defaultTag)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var item = node.pointee.data.sequence.items.start
            while let current = item, current != node.pointee.data.sequence.items.top {
                if let child = yaml_document_get_node(&document, current.pointee) {
                    items.append(try convert(child, in: &document, depth: depth + 1, budget: &budget))
                }
                item = current + 1
            }
            return .sequence(items)
        case YAML_MAPPING_NODE:
            var pairs: [YAMLPair] = []
            var pair = node.pointee.data.mapping.pairs.start
            while let current = pair, current != node.pointee.data.mapping.pairs.top {
                if let key = yaml_document_get_node(&document, current.pointee.key),
                    let value = yaml_document_get_node(&document, current.pointee.value)
                {
                    pairs.append(
                        YAMLPair(
                            key: try convert(key, in: &document, depth: depth + 1, budget: &budget),
                            value: try convert(value, in: &document, depth: depth + 1, budget: &budget)))
                }
                pair = current + 1
            }
            return .mapping(pairs)
        default:
            return .scalar("", plain: true)
        }
    }
}

public struct YAMLPair: Sendable, Equatable {
    public var key: YAMLNode
    public var value: YAMLNode
    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

/// Why a text is not YAML; `line` and `column` are 1-based.
public struct YAMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public let line: Int
    public let column: Int
    public var description: String { line > 0 ? "\(message) at line \(line), column \(column)" : message }
}
