#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads of small files (a request body, a cgroup setting), without Foundation.
public enum SmallFile {
    /// The file's bytes, or nil when it cannot be opened.
    public static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// All of an open descriptor's bytes to its end (standard input, say), or nil on a
    /// read error.
    public static func read(fd: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// Writes `text` to `path`, created or truncated: nil, or the errno of what failed
    /// (opening, writing, or the flush at close — where a full disk shows).
    public static func write(_ text: String, to path: String) -> Int32? {
        guard let file = fopen(path, "w") else { return errno }
        let written = text.utf8CString.withUnsafeBufferPointer {
            fwrite($0.baseAddress, 1, $0.count - 1, file) == $0.count - 1
        }
        let writeError = written ? nil : errno
        let closed = fclose(file) == 0
        return writeError ?? (closed ? nil : errno)
    }

    /// Whether anything exists at `path` (file or directory).
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether `path` is a regular file (or a link to one).
    public static func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    public static func readText(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
