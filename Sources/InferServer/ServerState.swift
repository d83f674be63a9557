import InferModel
import Synchronization

/// What /readyz reports and /infer needs: the calibration once it is done, and whether
/// the server is draining after SIGTERM.
public final class ServerState: Sendable {
    private let workload = Mutex<Workload?>(nil)
    private let draining = Atomic<Bool>(false)

    public init() {}

    public enum Readiness: Equatable, Sendable {
        case calibrating, ready, draining
    }

    public var readiness: Readiness {
        if draining.load(ordering: .relaxed) { return .draining }
        return currentWorkload == nil ? .calibrating : .ready
    }

    /// The calibrated workload, or nil until calibration is done.
    public var currentWorkload: Workload? { workload.withLock { $0 } }

    public func calibrated(_ value: Workload) { workload.withLock { $0 = value } }

    public func beginDrain() { draining.store(true, ordering: .relaxed) }
}
