import Foundation
import Testing

/// Runs each test of a suite on threads of its own instead of Swift's cooperative pool.
///
/// Why: a test that waits for a process blocks its thread for seconds, and the pool has
/// one thread a core (two here). With both held, the in-process servers of other suites
/// cannot answer at all: on a busy machine a live server's client gave up after 20 s
/// (`.readTimeout`) and a stream's 30 tokens did not come in 30 s, though nothing in the
/// server was wrong. Every suite that blocks (spawns and waits) carries this trait.
public struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    public func provideScope(
        for test: Test, testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(ThreadPerJob.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// The test's code runs on threads of its own, so its blocking waits starve no one.
    public static var ownThreads: Self { OwnThreads() }
}

/// A task executor that runs each job on a new thread: a blocking test holds only it.
final class ThreadPerJob: TaskExecutor {
    static let shared = ThreadPerJob()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        Thread { job.runSynchronously(on: executor) }.start()
    }
}
