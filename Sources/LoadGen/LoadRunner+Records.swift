#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Records

/// Records and the causes of errors, on the loop.
extension LoadRun {
    func emit(_ outcome: Outcome, end: UInt64? = nil) {
        let request = outcome.request
        let endNanos = end ?? NIODeadline.now().uptimeNanoseconds
        let latency = endNanos &- request.due
        let service = request.sent == 0 ? 0 : endNanos &- request.sent
        let record = Record(
            ts: startWall + Double(request.due &- startNanos) / 1e9,
            seq: request.seq,
            latencyMs: Double(latency) / 1e6,
            serviceMs: Double(service) / 1e6,
            status: outcome.status, bytes: outcome.bytes, error: outcome.error, pod: outcome.pod,
            tokens: outcome.tokens,
            connectMs: outcome.connectMs)
        summary.didFinish(success: record.isSuccess, error: outcome.error, latencyNanos: latency)
        if !outputClosed, !sink(record) {
            outputClosed = true
            endedAs.withLockedValue { $0 = .outputClosed }
            endSchedule()
            cancelAll()
        }
    }

    /// A failed connect's error kind (HTTP/1.1 and HTTP/2 alike), its cause said once
    /// when `explaining`.
    func connectFailureKind(_ error: any Error, explaining: Bool) -> String {
        let kind = LoadRun.connectErrorKind(error)
        if explaining {
            explain(
                kind,
                kind == "timeout"
                    ? "connect to \(plan.target.authority): no connection within \(plan.timeout) s (--timeout)"
                    : "connect to \(plan.target.authority): \(LoadRun.describe(error))")
        }
        return kind
    }

    static func connectErrorKind(_ error: any Error) -> String {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError { return "timeout" }
        if let multi = error as? NIOConnectionError,
            multi.connectionErrors.contains(where: {
                if let e = $0.error as? ChannelError, case .connectTimeout = e { return true } else { return false }
            })
        {
            return "timeout"
        }
        return "connect"
    }

    /// The errno text of a connect failure, not NIO's whole error dump.
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let multi = error as? NIOConnectionError {
            if let dns = multi.dnsAError ?? multi.dnsAAAAError { return "cannot resolve \(multi.host): \(dns)" }
            let errors = multi.connectionErrors
            if errors.count == 1 { return describe(errors[0].error) }
            let causes = errors.map { "\($0.target.ipAddress ?? "\($0.target)"): \(describe($0.error))" }
            return causes.isEmpty ? "\(error)" : causes.joined(separator: "; ")
        }
        return "\(error)"
    }

    /// Reports the cause of an error kind the first time it is seen.
    func explain(_ kind: String, _ cause: @autoclosure () -> String) {
        guard let onFirstError, !explained.contains(kind) else { return }
        explained.insert(kind)
        onFirstError(kind, cause())
    }
}
