import ArgumentParser
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs an ArgumentParser command with the project's conventions: `--help` and
/// `--version` on stdout with status 0, usage errors on stderr with status 2
/// (ArgumentParser's own default is 64), and `ExitCode` thrown by `run()` honoured.
public enum ToolMain {
    public static func main<Command: AsyncParsableCommand>(
        _ type: Command.Type, arguments: [String]? = nil
    ) async -> Never {
        let name = type.configuration.commandName ?? "tool"
        var command: any AsyncParsableCommand
        do {
            let parsed = try type.parseAsRoot(arguments)
            guard let ours = parsed as? any AsyncParsableCommand else {
                // --help and --version parse as ArgumentParser's own commands, which throw CleanExit.
                var builtin = parsed
                try builtin.run()
                exit(ExitStatus.success)
            }
            command = ours
        } catch {
            if type.exitCode(for: error) == .success {
                print(type.fullMessage(for: error))
                exit(ExitStatus.success)
            }
            // One line, like every other error of the tools; --help has the rest.
            var message = type.message(for: error)
            if message.hasPrefix("Error: ") { message.removeFirst(7) }
            writeStderr("\(name): \(message)\n")
            exit(ExitStatus.usage)
        }
        do {
            try await command.run()
            exit(ExitStatus.success)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            writeStderr("\(name): \(error)\n")
            exit(ExitStatus.failure)
        }
    }
}
