import Foundation
import TestSupport
import Testing

/// What end-to-end tests add to TestSupport's `Tools`: checks of `--help` against the man pages.
extension Tools {
    /// Long options that `tool --help` lists.
    static func helpFlags(_ tool: String) throws -> Set<String> {
        let help = try run(tool, ["--help"]).stdout
        let regex = try NSRegularExpression(pattern: "--[a-z][a-z0-9-]*")
        let range = NSRange(help.startIndex..., in: help)
        return Set(
            regex.matches(in: help, range: range).compactMap { Range($0.range, in: help).map { String(help[$0]) } })
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
}
