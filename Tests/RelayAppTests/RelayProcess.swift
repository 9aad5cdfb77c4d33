// A child `audience-relay serve` process for end-to-end tests: start, wait until healthy, SIGKILL or SIGTERM.
import Foundation
import RelayTestSupport

final class RelayProcess: @unchecked Sendable {  // Process is only touched from the test's task; the HTTP helpers are stateless
    let process = Process()
    let port: Int
    let logURL: URL

    /// Starts `serve` with the given config and data dir on a free loopback port and waits for /healthz.
    init(config: String, dataDirectory: String, extraArguments: [String] = []) async throws {
        port = try RelayProcess.freePort()
        logURL = URL(fileURLWithPath: dataDirectory + ".log-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let logFile = try FileHandle(forWritingTo: logURL)
        process.executableURL = RelayBinary.url
        process.arguments = ["serve", "--config", config, "--data-dir", dataDirectory, "--listen", "127.0.0.1:\(port)"] + extraArguments
        process.standardOutput = logFile
        process.standardError = logFile
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let response = try? await client.get("/healthz"), response.status == 200 { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw RelayProcessError(message: "relay did not become healthy:\n" + log(tail: 20))
    }

    func log(tail lines: Int) -> String {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// kill -9: no shutdown code runs.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitForExit()
    }

    /// SIGTERM, then waits for the graceful shutdown; true when the relay exited by itself.
    @discardableResult
    func terminate() -> Bool {
        process.terminate()
        if process.waitForExit(timeout: .seconds(20)) { return true }
        kill()
        return false
    }

    var client: RawHTTPClient { RawHTTPClient(port: port) }

    /// POSTs `body`; returns the status and parsed JSON (nil status when the connection failed).
    func post(_ path: String, body: Data) async -> (status: Int?, json: [String: Any]) {
        guard let response = try? await client.post(path, body: Array(body)) else { return (nil, [:]) }
        return (response.status, response.json)
    }

    /// A loopback port nothing listens on (bound once to find it, then released).
    static func freePort() throws -> Int {
        let (fd, port) = try loopbackSocket(listening: false)
        close(fd)
        return port
    }

    /// A socket bound to a free loopback port, listening when asked (connections then queue in its
    /// backlog, unanswered); the caller closes it.
    static func loopbackSocket(listening: Bool) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && (!listening || listen(fd, 16) == 0) && getsockname(fd, pointer, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw RelayProcessError(message: "cannot bind a loopback port")
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }
}

struct RelayProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
