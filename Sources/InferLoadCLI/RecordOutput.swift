import NIOCore
import Platform
import Records

/// infer-load's standard output: records are encoded on the runner's loop into a batch
/// that is handed, once per loop batch, to a writer thread (`BackgroundWriter`), so a
/// slow reader never delays a send. Past 16 MiB behind, the loop waits for the reader
/// (records are never dropped) and the schedule lag shows the wait.
final class RecordOutput: @unchecked Sendable {
    // @unchecked: everything but `writer` is touched only on `loop`.
    private let loop: any EventLoop
    private let writer = BackgroundWriter(fd: 1, whenFull: .wait)
    private var batch: [UInt8] = []
    private var handOverScheduled = false
    private var stallReported = false
    private var state = BackgroundWriter.State.open
    /// Called once, on the loop, when a write fails for another reason than EPIPE.
    var onFailure: ((Int32) -> Void)?

    init(loop: any EventLoop) {
        self.loop = loop
        batch.reserveCapacity(1 << 16)
    }

    /// The runner's sink, on the loop: false once the reader is gone (EPIPE).
    func write(_ record: Record) -> Bool {
        RecordEncoder.append(record, to: &batch)
        // One hand-over per batch of records the loop produced: live for a reader, few wake-ups.
        if !handOverScheduled {
            handOverScheduled = true
            loop.execute { self.handOver() }
        }
        return state != .closed
    }

    private func handOver() {
        handOverScheduled = false
        let before = state
        state = writer.submit(&batch) {
            guard !self.stallReported else { return }
            self.stallReported = true
            writeStderr("infer-load: the reader of stdout is holding records back: waiting for it (the schedule lag will show it)\n")
        }
        if case .failed(let errno) = state, before == .open { onFailure?(errno) }
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
