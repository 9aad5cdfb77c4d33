// libFuzzer target for inbound payloads (built by bench/fuzz.sh); a plain build replays files: fuzz-payload FILE|DIR…
import RelayFuzzing

@main
enum FuzzPayload {
    static func main() {
        FuzzDriver.main(name: "fuzz-payload", check: PayloadFuzzing.check)
    }
}
