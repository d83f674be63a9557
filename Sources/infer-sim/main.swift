import InferLoadCLI
import InferServeCLI
import InferStatsCLI
import KubeCLI
import HPASimCLI
import ToolSupport
import Platform

#if canImport(Glibc)
import Glibc
#endif

// One binary, six tools: run as infer-serve, infer-load, infer-stats, kube-wait, kube-watch or hpa-sim (a link
// of that name), or as `infer-sim TOOL [ARGS...]`.
let tools: [String: ([String]) async -> Never] = [
    "infer-serve": { await InferServeMain.run(arguments: $0) },
    "infer-load": { await InferLoadMain.run(arguments: $0) },
    "infer-stats": { await InferStatsMain.run(arguments: $0) },
    "kube-wait": { await KubeWaitMain.run(arguments: $0) },
    "kube-watch": { await KubeWatchMain.run(arguments: $0) },
    "hpa-sim": { await HPASimMain.run(arguments: $0) },
]
let arguments = CommandLine.arguments
let invokedAs = String(arguments.first?.split(separator: "/").last ?? "infer-sim")
// The tool: the link's name, else the first argument.
let (name, rest) =
    tools[invokedAs] != nil
    ? (Optional(invokedAs), Array(arguments.dropFirst()))
    : (arguments.dropFirst().first, Array(arguments.dropFirst(2)))
let usage =
    "usage: infer-sim TOOL [ARGS...], TOOL one of: \(tools.keys.sorted().joined(separator: ", ")); or run it through a link named as the tool\n"
switch name {
case let name? where tools[name] != nil:
    // infer-serve's executor goes in before the first await, as in its own binary.
    if name == "infer-serve" { InferServeMain.installExecutor() }
    await tools[name]!(rest)
case "--help"?, "-h"?:
    print(usage, terminator: "")
case "--version"?:
    print(ToolVersion.current)
case let name?:
    writeStderr("infer-sim: no tool named '\(name)'\n" + usage)
    exit(ExitStatus.usage)
case nil:
    writeStderr(usage)
    exit(ExitStatus.usage)
}
