/// Where the load goes: `http://host[:port]` plus a path; what it sends.
public struct Target: Equatable, Sendable {
    public let host: String
    public let port: Int
    public let path: String
    public let method: String
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// https: TLS to the host (its name as SNI), default port 443.
    public let secure: Bool

    public static func == (a: Target, b: Target) -> Bool {
        a.host == b.host && a.port == b.port && a.path == b.path && a.method == b.method && a.body == b.body
            && a.secure == b.secure
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    public static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    /// Parses `--host URL` (the old script's flag: a URL, e.g. http://localhost:8080),
    /// `--path`, `--method`, `-H 'Name: value'` and the body; http:// or https://.
    public init(url: String, path: String?, method: String, headers: [String], body: [UInt8]) throws(ParseError) {
        var rest = Substring(url)
        var secure = false
        if rest.hasPrefix("http://") {
            rest = rest.dropFirst(7)
        } else if rest.hasPrefix("https://") {
            rest = rest.dropFirst(8)
            secure = true
        } else if rest.contains("://") {
            throw ParseError("--host \(url): expected an http:// or https:// URL")
        }
        self.secure = secure
        // A path in the URL is used when --path is not given; else /infer, as the old script.
        var urlPath = ""
        if let slash = rest.firstIndex(of: "/") {
            urlPath = String(rest[slash...])
            rest = rest[..<slash]
        }
        (self.host, self.port) = try Target.hostAndPort(rest, secure: secure, url: url)
        let chosen = path ?? (urlPath.isEmpty ? "/infer" : urlPath)
        guard chosen.hasPrefix("/"), !chosen.contains(" ") else {
            throw ParseError("--path \(chosen): must start with / and contain no spaces")
        }
        self.path = chosen
        let upper = method.uppercased()
        guard Target.methods.contains(upper) else {
            throw ParseError("--method \(method): expected one of \(Target.methods.joined(separator: ", "))")
        }
        self.method = upper
        self.headers = try headers.map(Target.header)
        self.body = body
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`, the port defaulting to the scheme's.
    static func hostAndPort(_ authority: Substring, secure: Bool, url: String) throws(ParseError) -> (String, Int) {
        var hostPart = authority
        var port = secure ? 443 : 80
        if hostPart.hasPrefix("[") {  // [::1]:8080
            guard let close = hostPart.firstIndex(of: "]") else {
                throw ParseError("--host \(url): unclosed [ in IPv6 address")
            }
            let after = hostPart[hostPart.index(after: close)...]
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw ParseError("--host \(url): invalid port")
                }
                port = p
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            guard let p = Int(hostPart[hostPart.index(after: colon)...]), (1...65535).contains(p) else {
                throw ParseError("--host \(url): invalid port")
            }
            port = p
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw ParseError("--host \(url): no host name") }
        return (String(hostPart), port)
    }

    /// `-H 'Name: value'`.
    static func header(_ text: String) throws(ParseError) -> (String, String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw ParseError("-H '\(text)': expected 'Name: value'")
        }
        let name = String(text[..<colon])
        let value = String(text[text.index(after: colon)...].drop(while: { $0 == " " }))
        guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !value.contains("\r"), !value.contains("\n") else {
            throw ParseError("-H '\(text)': invalid header name or value")
        }
        return (name, value)
    }

    /// The Host header value.
    public var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? h : "\(h):\(port)"
    }
}
