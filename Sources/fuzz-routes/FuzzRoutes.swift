// libFuzzer target for the routing-table loader (built by bench/fuzz.sh); a plain build replays files: fuzz-routes FILE|DIR…
import RelayFuzzing

@main
enum FuzzRoutes {
    static func main() {
        FuzzDriver.main(name: "fuzz-routes", check: RoutesFuzzing.check)
    }
}
