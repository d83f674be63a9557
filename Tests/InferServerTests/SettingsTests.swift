import Foundation
@testable import InferServeCLI
import InferServer
import Testing

/// infer-serve's settings come from one list, `ServerConfig.settings`: the command line,
/// the environment, `--help` and the log line at start must all follow it.
@Suite struct SettingsTests {
    @Test func everySettingIsAFlagOfTheCommand() throws {
        // Give each flag the default value it shows: the command must hand every one on.
        var arguments: [String] = []
        let switches = ["access-log", "h2c"]
        for setting in ServerConfig.settings where !switches.contains(setting.flag) {
            arguments += ["--\(setting.flag)", setting.value(in: ServerConfig())]
        }
        arguments += ["--access-log", "--no-h2c"]
        let command = try InferServe.parse(arguments)
        #expect(Set(command.flags().keys) == Set(ServerConfig.settings.map(\.flag)))
    }

    @Test func everySettingReadsBackWhatItShows() throws {
        // From the environment, each setting's shown default resolves to the default.
        for setting in ServerConfig.settings {
            let config = try ServerConfig.resolve(
                flags: [:], environment: [setting.env: setting.value(in: ServerConfig())])
            #expect(config == ServerConfig(), "\(setting.env)")
        }
    }

    @Test func helpAndLogLineNameEverySetting() {
        let help = InferServe.helpMessage()
        for setting in ServerConfig.settings {
            #expect(help.contains("--\(setting.flag)"), "--help lacks --\(setting.flag)")
            #expect(help.contains(setting.env), "--help lacks \(setting.env)")
        }
        #expect(
            ServerConfig().summary.map(\.0)
                == ServerConfig.settings.map { $0.flag.replacingOccurrences(of: "-", with: "_") })
    }

    @Test func theManPageListsEverySetting() throws {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let man = try String(contentsOfFile: parts.joined(separator: "/") + "/man/man1/infer-serve.1", encoding: .utf8)
        for setting in ServerConfig.settings {
            #expect(man.contains("Fl -\(setting.flag)"), "man page lacks --\(setting.flag)")
            #expect(man.contains(setting.env), "man page lacks \(setting.env)")
        }
    }
}
