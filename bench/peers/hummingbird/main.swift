// bench-hummingbird-peer: the framework's ceiling for bench/ingest.sh. A bare Hummingbird 2 server whose
// POST /hooks/sitecore decodes the Sitecore body (JSONDecoder, the default request decoder) into a
// struct and answers a small JSON ack; no validation beyond decoding, no storage, no Kafka.
//
//   bench-hummingbird-peer PORT     # listens on 127.0.0.1:PORT; SIGTERM/SIGINT stop it
import Hummingbird

/// The nine fields of Sitecore's standard notification template (SPEC §1), all strings.
struct SitecoreNotification: Decodable {
    let apiUrl: String
    let audienceExportName: String
    let clientKey: String
    let definitionType: String
    let executionRef: String
    let executionType: String
    let friendlyId: String
    let segmentName: String
    let status: String
}

/// The answer: a small JSON body, as the relay's.
struct Ack: ResponseEncodable {
    let status: String
    let executionRef: String
}

@main
struct HummingbirdPeer {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 2, let port = Int(arguments[1]), (1...65535).contains(port) else {
            print("usage: bench-hummingbird-peer PORT")
            return
        }
        let router = Router()
        router.post("/hooks/sitecore") { request, context -> Ack in
            let notification = try await request.decode(as: SitecoreNotification.self, context: context)
            return Ack(status: "accepted", executionRef: notification.executionRef)
        }
        router.get("/healthz") { _, _ in "ok" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
