import NIOConcurrencyHelpers
import NIOCore
import Platform
import Records

/// infer-load's standard output: records are encoded on the runner's loop into a batch
/// that is handed, every 10 ms, to a writer thread (`BackgroundWriter`), so a
/// slow reader never delays a send. Past 16 MiB behind, the loop waits for the reader
/// (records are never dropped) and the schedule lag shows the wait. The batch lives in
/// a `NIOLoopBoundBox`: only the loop touches it.
final class RecordOutput: Sendable {
    private let loop: any EventLoop
    private let writer = BackgroundWriter(fd: 1, whenFull: .wait)
    private let pending: NIOLoopBoundBox<Batch>
    private let failureHandler = NIOLockedValueBox<(@Sendable (Int32) -> Void)?>(nil)

    /// The loop's side: records not yet handed over, and what the writer said last.
    final class Batch {
        var bytes: [UInt8] = []
        var handOverScheduled = false
        var stallReported = false
        var state = BackgroundWriter.State.open

        init() { bytes.reserveCapacity(1 << 16) }
    }

    static let handOverDelay = TimeAmount.milliseconds(10)

    init(loop: any EventLoop) {
        self.loop = loop
        pending = .makeBoxSendingValue(Batch(), eventLoop: loop)
    }

    /// Called once, on the loop, when a write fails for another reason than EPIPE. Set before the run.
    func onFailure(_ handler: @escaping @Sendable (Int32) -> Void) {
        failureHandler.withLockedValue { $0 = handler }
    }

    /// The runner's sink, on the loop: false once the reader is gone (EPIPE).
    func write(_ record: Record) -> Bool {
        let batch = pending.value
        RecordEncoder.append(record, to: &batch.bytes)
        // One hand-over per 10 ms of records: a reader sees them at once to a person's eye,
        // and the writer thread wakes 100 times a second, not once per request (at 2,000
        // req/s a wake-up per record was two context switches per request).
        if !batch.handOverScheduled {
            batch.handOverScheduled = true
            loop.scheduleTask(in: Self.handOverDelay) { self.handOver() }
        }
        return batch.state != .closed
    }

    private func handOver() {
        let batch = pending.value
        batch.handOverScheduled = false
        let before = batch.state
        batch.state = writer.submit(&batch.bytes) {
            guard !batch.stallReported else { return }
            batch.stallReported = true
            writeStderr(
                "infer-load: the reader of stdout is holding records back: waiting for it (the schedule lag will show it)\n"
            )
        }
        if case .failed(let errno) = batch.state, before == .open {
            failureHandler.withLockedValue { $0 }?(errno)
        }
    }

    /// After the run, before the loop shuts down: hands over the last records.
    func flush() async throws {
        try await loop.submit { self.handOver() }.get()
    }

    /// Waits for the writer; returns its final state and how many records it could not write.
    func close() -> (state: BackgroundWriter.State, unwritten: Int) {
        let final = writer.finish()
        return (final, writer.unwrittenLines)
    }
}
