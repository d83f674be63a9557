#if canImport(Glibc)
import Glibc
#endif
import Platform

/// When each request is due, in seconds from the start: uniform (evenly spaced
/// by the profile's rate) or Poisson (exponential gaps at that rate, repeatable for a
/// seed). Poisson arrivals under a changing rate use time rescaling: unit-rate gaps
/// mapped through the inverse cumulative rate.
public struct ArrivalSchedule: Sendable, IteratorProtocol {
    public enum Arrival: String, Sendable, CaseIterable { case uniform, poisson }

    let profile: RateProfile
    private let arrival: Arrival
    private let limit: Int?
    private var rng: SplitMix64
    private var count = 0.0
    public private(set) var issued = 0

    /// `limit` ends the schedule after that many requests.
    public init(profile: RateProfile, arrival: Arrival = .uniform, seed: UInt64 = 1, limit: Int? = nil) {
        self.profile = profile
        self.arrival = arrival
        self.limit = limit
        self.rng = SplitMix64(seed: seed)
    }

    /// The next due time, or nil when the run is over.
    public mutating func next() -> Double? {
        if let limit, issued >= limit { return nil }
        let target: Double
        switch arrival {
        case .uniform:
            target = Double(issued)
        case .poisson:
            // Exp(1) gap; 1 − u keeps log's argument in (0, 1].
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            count += -log(1 - u)
            target = count
        }
        guard let t = profile.time(ofCount: max(target, 0)) else { return nil }
        issued += 1
        return t
    }
}
