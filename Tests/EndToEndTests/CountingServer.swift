import Foundation
import TestSupport

/// An HTTP/1.1 stand-in on 127.0.0.1 that answers each request at once and keeps, per
/// connection, how many requests it carried and how many the whole server had seen when
/// the client closed it: what infer-load's connection policy did, in order, not in time.
final class CountingServer: @unchecked Sendable {
    struct Connection {
        var requests = 0
        /// Requests seen server-wide when the client closed this one (nil: still open).
        var closedAfter: Int?
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var connections: [Connection] = []
    private var total = 0

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound, listen(fd, 128) == 0 else { Glibc.close(fd); throw CocoaError(.fileWriteUnknown) }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    /// The connections in the order they were accepted, and the requests seen in all.
    var snapshot: (connections: [Connection], total: Int) { lock.withLock { (connections, total) } }

    func close() { shutdown(listener, Int32(SHUT_RDWR)); Glibc.close(listener) }

    private func acceptLoop() {
        while case let fd = accept(listener, nil, nil), fd >= 0 {
            let index = lock.withLock {
                connections.append(Connection()); return connections.count - 1
            }
            Thread { [self] in serve(fd, index) }.start()
        }
    }

    /// Requests are GETs without a body: each ends with an empty line.
    private func serve(_ fd: Int32, _ index: Int) {
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Served-By: stand-in\r\n\r\nhello".utf8)
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let n = read(fd, &chunk, chunk.count), n > 0 {
            pending += chunk[0..<n]
            while let end = pending.firstRange(of: [13, 10, 13, 10]) {
                pending.removeSubrange(..<end.upperBound)
                lock.withLock {
                    connections[index].requests += 1; total += 1
                }
                _ = answer.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            }
        }
        lock.withLock { connections[index].closedAfter = total }
        Glibc.close(fd)
    }
}
