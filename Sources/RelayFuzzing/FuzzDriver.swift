// Runs a fuzz entry point: under libFuzzer in a `-DRELAY_FUZZING` build (bench/fuzz.sh), else over input files.
import Foundation

#if RELAY_FUZZING
/// libFuzzer's own driver (in `libclang_rt.fuzzer`, linked by `-sanitize=fuzzer`): reads its flags from
/// argv and calls `callback` once per input. Called from the executable's `@main`, because SwiftPM links
/// executables with `main` aliased to the module's entry point, which libFuzzer's `main` cannot replace.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

package enum FuzzDriver {
    /// The entry point libFuzzer's callback calls (a C callback cannot capture it); set once, before the driver starts.
    nonisolated(unsafe) private static var target: (@Sendable ([UInt8]) -> FuzzReport)?

    /// Fuzzes `check` (a broken invariant traps, so libFuzzer keeps the input), or, in a plain build,
    /// replays the files and directories named on the command line and exits 1 if any broke an invariant.
    package static func main(name: String, check: @escaping @Sendable ([UInt8]) -> FuzzReport) -> Never {
        target = check
        #if RELAY_FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
            guard let report = FuzzDriver.target?(bytes) else { return 0 }
            if !report.violations.isEmpty { fatalError("invariant broken: \(report)") }
            return 0
        }
        exit(status)
        #else
        exit(replay(name: name, paths: CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("-") }, check: check))
        #endif
    }

    /// Runs every file (directories: each regular file in them) through `check`, printing one line per input.
    static func replay(name: String, paths: [String], check: ([UInt8]) -> FuzzReport) -> Int32 {
        let files = paths.flatMap(inputFiles)
        guard !files.isEmpty else {
            print("usage: \(name) FILE|DIR…  (replays inputs; bench/fuzz.sh builds the libFuzzer target)")
            return 2
        }
        var broken = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("FAIL \(file): cannot read")
                broken += 1
                continue
            }
            let report = check(Array(data))
            print("\(report.violations.isEmpty ? "ok  " : "FAIL") \(file): \(report)")
            if !report.violations.isEmpty { broken += 1 }
        }
        print("\(name): \(files.count) input(s), \(broken) broke an invariant")
        return broken == 0 ? 0 : 1
    }

    /// `path` itself, or the regular files in the directory `path`, sorted.
    static func inputFiles(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { "\(path)/\($0)" }.filter { file in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }
}
