import Foundation
import TestSupport
import Testing

/// Runs the built executables as a user would: real processes, real pipes.
enum Tools {
    /// The package root, from this file's path.
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/EndToEndTests/Tools.swift
        return parts.joined(separator: "/")
    }()

    /// Where `swift build` put the executables (INFER_SIM_BIN overrides).
    static let binDir: String = ProcessInfo.processInfo.environment["INFER_SIM_BIN"] ?? root + "/.build/debug"

    static func path(_ tool: String) -> String { binDir + "/" + tool }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `tool` to completion with `arguments`, optional stdin bytes and extra environment.
    static func run(_ tool: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> Result {
        try execute(path(tool), arguments, stdin: stdin, environment: environment)
    }

    /// Runs `bash -c script` (with `$0`, `$1`… from `arguments`) in the package root, as an
    /// ordinary user unless `privileged` (scripts that write into the repository or install).
    static func bash(_ script: String, _ arguments: [String] = [], environment: [String: String] = [:],
                     privileged: Bool = false) throws -> Result {
        try execute("/bin/bash", ["-c", script] + arguments, environment: environment, directory: root, privileged: privileged)
    }

    /// Runs `executable`; as an ordinary user when we are root, unless `privileged`.
    static func execute(_ executable: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                        directory: String? = nil, privileged: Bool = false) throws -> Result {
        let process = Process()
        let command = privileged ? (executable: executable, arguments: arguments) : Unprivileged.command(executable, arguments)
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { try input.fileHandleForWriting.write(contentsOf: stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A Process for `tool` with `arguments`, run as an ordinary user when we are root.
    static func spawn(_ tool: String, _ arguments: [String]) -> Process {
        let process = Process()
        let command = Unprivileged.command(path(tool), arguments)
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        return process
    }

    /// Long options that `tool --help` lists.
    static func helpFlags(_ tool: String) throws -> Set<String> {
        let help = try run(tool, ["--help"]).stdout
        let regex = try NSRegularExpression(pattern: "--[a-z][a-z0-9-]*")
        let range = NSRange(help.startIndex..., in: help)
        return Set(regex.matches(in: help, range: range).compactMap { Range($0.range, in: help).map { String(help[$0]) } })
    }

    /// Reads man/man1/TOOL.1 and records an issue for each `--help` flag it lacks.
    @discardableResult
    static func checkManPageCoversHelp(_ tool: String) throws -> String {
        let man = try String(contentsOfFile: root + "/man/man1/\(tool).1", encoding: .utf8)
        let flags = try helpFlags(tool)
        #expect(flags.count > 3, "no flags found in \(tool) --help")
        for flag in flags {
            let name = String(flag.dropFirst(2))
            #expect(man.contains("Fl -\(name)"), "man page of \(tool) lacks \(flag)")
        }
        return man
    }

    /// Starts infer-serve on a free loopback port; returns it and the port from its
    /// "listening" log line.
    static func startServer(_ arguments: [String]) throws -> (Process, Int) {
        let process = spawn("infer-serve", ["--host", "127.0.0.1", "--port", "0"] + arguments)
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
               let port = Int(line[match].dropFirst().dropLast()) {
                // Keep draining stderr so the server never blocks on a full pipe.
                err.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
                return (process, port)
            }
        }
        process.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: ["stderr": String(decoding: seen, as: UTF8.self)])
    }

    /// Waits until GET /readyz answers 200 (curl-free: a raw HTTP request).
    static func waitReady(port: Int, within seconds: Double = 30) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let status = try? run("infer-load", ["--host", "http://127.0.0.1:\(port)", "--path", "/readyz", "--requests", "1", "--quiet"]).stdout,
               status.contains("\"status\":200") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CocoaError(.fileReadUnknown)
    }
}
