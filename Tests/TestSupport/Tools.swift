import Foundation

/// Runs the built executables as a user would: real processes, real pipes, as an
/// ordinary user when the tests run as root. The one place tests spawn processes.
public enum Tools {
    /// The package root, from this file's path.
    public static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/TestSupport/Tools.swift
        return parts.joined(separator: "/")
    }()

    /// Where `swift build` put the executables (INFER_SIM_BIN overrides).
    public static let binDir: String = ProcessInfo.processInfo.environment["INFER_SIM_BIN"] ?? root + "/.build/debug"

    public static func path(_ tool: String) -> String { binDir + "/" + tool }

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// What a spawned process gets besides its arguments: extra environment, variables
    /// taken away, a working directory, and stdout to a file instead of a pipe.
    public struct Options: Sendable {
        public var stdin: Data?
        public var environment: [String: String] = [:]
        public var unset: [String] = []
        public var directory: String?
        public var stdoutTo: String?
        public var privileged = false

        public init(
            stdin: Data? = nil, environment: [String: String] = [:], unset: [String] = [],
            directory: String? = nil, stdoutTo: String? = nil, privileged: Bool = false
        ) {
            (self.stdin, self.environment, self.unset) = (stdin, environment, unset)
            (self.directory, self.stdoutTo, self.privileged) = (directory, stdoutTo, privileged)
        }
    }

    /// Runs `tool` to completion with `arguments`, optional stdin bytes and extra environment.
    public static func run(
        _ tool: String, _ arguments: [String], stdin: Data? = nil,
        environment: [String: String] = [:]
    ) throws -> Result {
        try execute(path(tool), arguments, Options(stdin: stdin, environment: environment))
    }

    /// Runs `bash -c script` (with `$0`, `$1`… from `arguments`) in the package root, as an
    /// ordinary user unless `privileged` (scripts that write into the repository or install).
    public static func bash(
        _ script: String, _ arguments: [String] = [], environment: [String: String] = [:],
        privileged: Bool = false
    ) throws -> Result {
        try execute(
            "/bin/bash", ["-c", script] + arguments,
            Options(environment: environment, directory: root, privileged: privileged))
    }

    /// Runs `executable`; as an ordinary user when we are root, unless `privileged`.
    public static func execute(
        _ executable: String, _ arguments: [String], stdin: Data? = nil,
        environment: [String: String] = [:], directory: String? = nil,
        privileged: Bool = false
    ) throws -> Result {
        try execute(
            executable, arguments,
            Options(
                stdin: stdin, environment: environment, directory: directory,
                privileged: privileged))
    }

    /// Runs `executable` to completion as `options` say; both pipes read at once.
    public static func execute(_ executable: String, _ arguments: [String], _ options: Options) throws -> Result {
        let process = command(executable, arguments, options)
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput =
            try options.stdoutTo.map { try FileHandle(forWritingTo: URL(fileURLWithPath: $0)) }
            ?? out
        process.standardError = err
        process.standardInput = input
        try process.run()
        try out.fileHandleForWriting.close()
        if let stdin = options.stdin { try input.fileHandleForWriting.write(contentsOf: stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        Thread {
            errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
        }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A Process for `tool` with `arguments`, not yet running (the caller sets its pipes).
    public static func spawn(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) -> Process {
        command(path(tool), arguments, Options(environment: environment))
    }

    static func command(_ executable: String, _ arguments: [String], _ options: Options) -> Process {
        let process = Process()
        let command =
            options.privileged
            ? (executable: executable, arguments: arguments)
            : Unprivileged.command(executable, arguments)
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        if let directory = options.directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env.merge(options.environment) { $1 }
        for name in options.unset { env[name] = nil }
        process.environment = env
        return process
    }

    /// Starts infer-serve on a free loopback port; returns it and the port from its
    /// "listening" log line. Its stderr is drained from then on, so it never blocks.
    public static func startServer(
        _ arguments: [String], environment: [String: String] = [:]
    )
        throws -> (Process, Int)
    {
        let (process, port, err) = try startServerKeepingLog(arguments, environment: environment)
        err.readabilityHandler = { _ = $0.availableData }
        return (process, port)
    }

    /// As `startServer`, but stderr is left to the caller, read up to the "listening" line.
    public static func startServerKeepingLog(
        _ arguments: [String], environment: [String: String] = [:]
    )
        throws -> (Process, Int, FileHandle)
    {
        let process = spawn(
            "infer-serve", ["--host", "127.0.0.1", "--port", "0"] + arguments, environment: environment)
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = Data()
        while true {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            let text = String(decoding: seen, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("\"listening\"") }),
                let match = line.range(of: #":([0-9]+)""#, options: .regularExpression),
                let port = Int(line[match].dropFirst().dropLast())
            {
                return (process, port, err.fileHandleForReading)
            }
        }
        process.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: ["stderr": String(decoding: seen, as: UTF8.self)])
    }

    /// Waits until GET /readyz answers 200 (curl-free: infer-load itself).
    public static func waitReady(port: Int, within seconds: Double = 30) throws {
        let deadline = Date().addingTimeInterval(seconds)
        let probe = ["--host", "http://127.0.0.1:\(port)", "--path", "/readyz", "--requests", "1", "--quiet"]
        while Date() < deadline {
            if let status = try? run("infer-load", probe).stdout, status.contains("\"status\":200") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CocoaError(.fileReadUnknown)
    }

    /// Polls `condition` every 10 ms until it holds or `seconds` pass; whether it held.
    public static func poll(within seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }
}
