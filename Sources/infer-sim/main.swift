import InferLoadCLI
import InferServeCLI
import InferStatsCLI
import KubeWaitCLI
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

// One binary, four tools: run as infer-serve, infer-load, infer-stats or kube-wait (a link
// of that name), or as `infer-sim TOOL [ARGS...]`.
let tools: [String: ([String]) async -> Never] = [
    "infer-serve": { await InferServeMain.run(arguments: $0) },
    "infer-load": { await InferLoadMain.run(arguments: $0) },
    "infer-stats": { await InferStatsMain.run(arguments: $0) },
    "kube-wait": { await KubeWaitMain.run(arguments: $0) },
]
let arguments = CommandLine.arguments
let invokedAs = String(arguments.first?.split(separator: "/").last ?? "infer-sim")
// infer-serve's executor goes in before the first await, as in its own binary.
if invokedAs == "infer-serve" || (tools[invokedAs] == nil && arguments.dropFirst().first == "infer-serve") {
    InferServeMain.installExecutor()
}
if let tool = tools[invokedAs] {
    await tool(Array(arguments.dropFirst()))
}
let usage = "usage: infer-sim TOOL [ARGS...], TOOL one of: \(tools.keys.sorted().joined(separator: ", ")); or run it through a link named as the tool\n"
switch arguments.dropFirst().first {
case let name? where tools[name] != nil:
    await tools[name]!(Array(arguments.dropFirst(2)))
case "--help"?, "-h"?:
    print(usage, terminator: "")
case "--version"?:
    print(ToolVersion.current)
default:
    writeStderr(usage)
    exit(ExitStatus.usage)
}
