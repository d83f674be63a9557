import ArgumentParser
import Platform

/// A `--timeout 90s`-style option: seconds, from DurationText's forms ("90", "90s",
/// "1.5m", "2h", "250ms"). A bad value is a usage error naming the option.
public struct DurationOption: ExpressibleByArgument, Sendable {
    public let seconds: Double
    public let text: String

    public init?(argument: String) {
        guard let seconds = DurationText.seconds(argument) else { return nil }
        self.seconds = seconds
        text = argument
    }

    public var defaultValueDescription: String { text }
}

/// A range of durations, `MIN:MAX` (e.g. `1s:3s`), or one duration for both ends.
public struct DurationRangeOption: ExpressibleByArgument, Sendable {
    public let range: ClosedRange<Double>
    public let text: String

    public init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let low = DurationText.seconds(parts[0]), let high = DurationText.seconds(parts.last!),
            low >= 0, low <= high
        else { return nil }
        range = low...high
        text = argument
    }

    public var defaultValueDescription: String { text }
}

/// A comma-separated list of numbers, e.g. `--percentiles 50,99,99.9`.
public struct NumberListOption: ExpressibleByArgument, Sendable {
    public let values: [Double]
    public let text: String

    public init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Double(String($0.filter { $0 != " " })) }
        guard !values.isEmpty, values.count == parts.count, values.allSatisfy(\.isFinite) else { return nil }
        self.values = values
        text = argument
    }

    public var defaultValueDescription: String { text }
}
