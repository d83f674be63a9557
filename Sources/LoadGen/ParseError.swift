/// A flag value that does not parse; the message says what was expected.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
