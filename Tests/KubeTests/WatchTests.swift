@testable import Kube
import Testing
import Platform

@Suite struct WatchTests {
    static func events(_ fixture: String) throws -> [WatchEvent] {
        let bytes = try #require(SmallFile.read(Fixture.dir + fixture))
        return try bytes.split(separator: 0x0A).map { try WatchEvent.parse($0) }
    }

    @Test func aCapturedStreamDrivesTheRollout() throws {
        let events = try Self.events("watch-deployments.jsonl")
        var state = WatchState()
        state.listed([], resourceVersion: "1520")
        #expect(state.next == .watch(from: "1520"))
        var seen: [Readiness] = []
        var changes: [WatchState.Change] = []
        for event in events {
            let change = state.apply(event)
            changes.append(change)
            if change == .updated, let object = state.objects["web"] { seen.append(RolloutStatus.deployment(object)) }
        }
        #expect(changes.first == .updated && changes.contains(.deleted))
        #expect(changes.last == WatchState.Change.none)  // bookmarks
        #expect(seen.contains(.done("deployment \"web\" successfully rolled out")))
        #expect(seen.contains { if case .waiting = $0 { true } else { false } })
        #expect(state.objects.isEmpty)
        #expect(state.next == .watch(from: "1568"))
    }

    @Test func droppedStreamResumesFromTheLastVersion() throws {
        let events = try Self.events("watch-deployments.jsonl")
        var state = WatchState()
        state.listed([], resourceVersion: "1520")
        for event in events.prefix(4) { _ = state.apply(event) }
        // The connection drops here: the next watch starts after the 4th event, so the
        // rest of the stream (and its final state) is not missed.
        #expect(state.streamEnded() == .watch(from: "1545"))
        for event in events.dropFirst(4) { _ = state.apply(event) }
        #expect(state.objects.isEmpty && state.next == .watch(from: "1568"))
    }

    @Test func goneMeansRelist() throws {
        var state = WatchState()
        state.listed([], resourceVersion: "1")
        let events = try Self.events("watch-410-too-old.jsonl")
        #expect(events.count == 1)
        #expect(state.apply(events[0]) == .relist)
        #expect(state.next == .list)
    }

    @Test func refusalStops() throws {
        var state = WatchState()
        let event = try WatchEvent.parse(
            Array(#"{"type":"ERROR","object":{"kind":"Status","code":403,"reason":"Forbidden","message":"nope"}}"#.utf8)
        )
        #expect(state.apply(event) == .refused(code: 403, message: "nope"))
        #expect(KubeAPIError.refused(code: 401, message: "").description.contains("401 Unauthorized"))
    }

    @Test func garbageIsAProtocolError() {
        #expect(throws: KubeAPIError.self) { try WatchEvent.parse(Array("not json".utf8)) }
        #expect(throws: KubeAPIError.self) { try WatchEvent.parse(Array(#"{"type":"ODD","object":{}}"#.utf8)) }
    }
}
