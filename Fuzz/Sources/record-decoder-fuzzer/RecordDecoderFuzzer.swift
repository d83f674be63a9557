import CFuzzer
#if canImport(Glibc)
import Glibc
#endif
@_spi(Fuzzing) import Records

/// Wherever RecordDecoder's fast path gives a verdict on a line, jansson must give the
/// same one, with the same values. A disagreement traps, and libFuzzer keeps the input.
func recordDecoderFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let line = UnsafeRawBufferPointer(start: data, count: size)
    var fast = RecordDecoder(), reference = RecordDecoder()
    guard let verdict = fast.decodeFastPathOnly(line) else { return 0 }  // handed to jansson: nothing to compare
    let expected = reference.decodeJanssonOnly(line)
    precondition((verdict == nil) == (expected == nil),
                 "fast path says \(verdict?.description ?? "valid"), jansson says \(expected?.description ?? "valid")")
    guard verdict == nil else { return 0 }
    precondition(fast.values() == reference.values(), "values differ: \(fast.values()) vs \(reference.values())")
    return 0
}

@main
enum RecordDecoderFuzzerMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in recordDecoderFuzzer(data, size) }
        exit(status)
    }
}
