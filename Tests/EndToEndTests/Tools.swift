import Foundation

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path(tool))
        process.arguments = arguments
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

    /// Long options that `tool --help` lists.
    static func helpFlags(_ tool: String) throws -> Set<String> {
        let help = try run(tool, ["--help"]).stdout
        let regex = try NSRegularExpression(pattern: "--[a-z][a-z0-9-]*")
        let range = NSRange(help.startIndex..., in: help)
        return Set(regex.matches(in: help, range: range).compactMap { Range($0.range, in: help).map { String(help[$0]) } })
    }
}
