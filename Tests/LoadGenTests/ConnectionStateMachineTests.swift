@testable import LoadGen
import Testing

/// Every transition of a connection's protocol, without a socket.
@Suite struct ConnectionStateMachineTests {
    static let request = InFlight(seq: 7, due: 1_000, sent: 0)
    static func sent(_ at: UInt64) -> InFlight { InFlight(seq: 7, due: 1_000, sent: at) }

    /// A machine with a request written at 2_000.
    static func awaiting() -> ConnectionStateMachine {
        var m = ConnectionStateMachine(opening: request)
        _ = m.connected(at: 2_000)
        return m
    }

    @Test func connectingThenConnectedSendsTheWaitingRequest() {
        var m = ConnectionStateMachine(opening: Self.request)
        #expect(m.request == Self.request)
        #expect(m.connected(at: 2_000) == .send(Self.sent(2_000)))
        #expect(m.request == Self.sent(2_000))
        #expect(m.connected(at: 3_000) == .none, "a second connect event changes nothing")
    }

    @Test func aConnectThatFailsRecordsItsRequest() {
        var m = ConnectionStateMachine(opening: Self.request)
        #expect(
            m.connectFailed(kind: "connect")
                == .record(Outcome(request: Self.request, error: "connect"), thenClose: false))
        #expect(m.isClosed)
        #expect(m.request == nil)
    }

    @Test func aResponseInFullIsRecordedAndTheConnectionReused() {
        var m = Self.awaiting()
        m.responseHead(status: 200, pod: "pod-a", keepAlive: true)
        m.responseBody(bytes: 10)
        m.responseBody(bytes: 5)
        #expect(
            m.responseEnded()
                == .record(Outcome(request: Self.sent(2_000), status: 200, bytes: 15, pod: "pod-a"), thenClose: false))
        #expect(m.isIdle)
        #expect(m.request == nil)
        let next = InFlight(seq: 8, due: 5_000, sent: 0)
        #expect(m.send(next, at: 5_100) == .send(InFlight(seq: 8, due: 5_000, sent: 5_100)))
        #expect(m.send(next, at: 5_200) == .none, "one request at a time")
    }

    @Test func connectionCloseClosesAfterTheResponse() {
        var m = Self.awaiting()
        m.responseHead(status: 200, pod: nil, keepAlive: false)
        #expect(m.responseEnded() == .record(Outcome(request: Self.sent(2_000), status: 200), thenClose: true))
        #expect(m.isClosed)
    }

    @Test func aFailureMidResponseKeepsWhatWasRead() {
        var m = Self.awaiting()
        m.responseHead(status: 503, pod: "pod-b", keepAlive: true)
        m.responseBody(bytes: 3)
        #expect(
            m.failed(kind: "reset")
                == .record(
                    Outcome(request: Self.sent(2_000), status: 503, bytes: 3, pod: "pod-b", error: "reset"),
                    thenClose: true))
        #expect(m.isClosed)
        #expect(m.failed(kind: "reset") == .none, "a second failure (channelInactive after close) reports nothing")
        #expect(m.responseEnded() == .none)
    }

    @Test func aFailureBeforeTheHeadHasNoStatus() {
        var m = Self.awaiting()
        #expect(
            m.failed(kind: "timeout") == .record(Outcome(request: Self.sent(2_000), error: "timeout"), thenClose: true))
    }

    @Test func anIdleConnectionThatFailsJustCloses() {
        var m = Self.awaiting()
        _ = m.responseEnded()
        #expect(m.failed(kind: "reset") == .close)
        #expect(m.isClosed)
    }

    @Test func aRequestCancelledWhileConnectingClosesTheConnectionWhenItOpens() {
        var m = ConnectionStateMachine(opening: Self.request)
        #expect(
            m.failed(kind: "cancelled") == .record(Outcome(request: Self.request, error: "cancelled"), thenClose: false)
        )
        #expect(m.request == nil)
        #expect(m.connected(at: 2_000) == .close, "opened after its request was cancelled: closed at once")
        #expect(m.isClosed)
    }

    @Test func aWarmConnectionIsIdleOnceConnectedAndOwesNoRecord() {
        var m = ConnectionStateMachine()
        #expect(m.request == nil)
        #expect(m.connected(at: 1_000) == .none)
        #expect(m.isIdle, "ready for the first request")
        #expect(
            m.send(Self.request, at: 2_000)
                == .send(InFlight(seq: Self.request.seq, due: Self.request.due, sent: 2_000)))
        var failed = ConnectionStateMachine()
        #expect(failed.connectFailed(kind: "connect") == .none, "no request: nothing to record")
        #expect(failed.isClosed)
        var abandoned = ConnectionStateMachine()
        #expect(abandoned.abandon() == .none)
        #expect(abandoned.connected(at: 1_000) == .close, "the run ended while it connected: closed when it opens")
    }

    @Test func aCancelledConnectThatFailsRecordsNothingMore() {
        var m = ConnectionStateMachine(opening: Self.request)
        _ = m.failed(kind: "cancelled")
        #expect(m.connectFailed(kind: "connect") == .none)
    }

    @Test func theRunEndingClosesOnlyIdleConnections() {
        var busy = Self.awaiting()
        #expect(busy.closeIfIdle() == .none)
        var idle = Self.awaiting()
        _ = idle.responseEnded()
        #expect(idle.closeIfIdle() == .close)
        #expect(idle.isClosed)
    }

    @Test func abandoningRecordsNothing() {
        var busy = Self.awaiting()
        #expect(busy.abandon() == .close)
        #expect(busy.isClosed)
        var connecting = ConnectionStateMachine(opening: Self.request)
        #expect(connecting.abandon() == .none)
        #expect(connecting.request == nil)
        #expect(connecting.connected(at: 1) == .close)
    }
}
