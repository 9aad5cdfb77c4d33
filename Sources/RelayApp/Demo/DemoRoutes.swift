// The demo's routing table and Sitecore notification: one source, two topics on the embedded Kafka.
import Foundation

enum DemoRoutes {
    static let notificationsTopic = "demo.notifications"
    static let recordsTopic = "demo.records"
    static let path = "/hooks/sitecore"

    /// The routing table `audience-relay demo` writes to its temporary directory: the notification goes
    /// to `demo.notifications` as it is; a SUCCESS notification's export (fetched from the demo's own
    /// upstream on loopback, hence the plain-HTTP and private-address allowances) goes record by record
    /// to `demo.records`. Polls start after 250 ms so the upstream's first 404 costs little.
    static let table = """
        # Written by `audience-relay demo`; see routes/examples/sitecore-export.yaml for a real one.
        version: 1
        sources:
          sitecore:
            kind: sitecore-export
            path: \(path)
            export:
              allowHosts: ["127.0.0.1"]
              allowPlainHTTP: ["127.0.0.1"]
              allowPrivateAddresses: ["127.0.0.1"]
              pollInitialDelay: 250ms
              pollMaxDelay: 1s
              pollDeadline: 5m
        destinations:
          notifications:
            type: kafka
            brokers: embedded
            topic: \(notificationsTopic)
          records:
            type: kafka
            brokers: embedded
            topic: \(recordsTopic)
        routes:
          - name: notifications
            source: sitecore
            to: notifications
          - name: export-records
            source: sitecore
            match: [{field: status, equals: SUCCESS}]
            to: records
            fetchExport: true
            export: {key: "{{profileId}}"}

        """

    /// A SUCCESS notification (shaped like routes/examples/sitecore-notification.json) whose `apiUrl`
    /// is the demo upstream's export.
    static func notification(executionRef: String, apiURL: String) -> [UInt8] {
        let fields: [String: String] = [
            "apiUrl": apiURL,
            "audienceExportName": "Demo audience",
            "clientKey": "pqsDATA3lw12v5a9rrHPW1c4hET73GxQ",
            "definitionType": "FULL_SYNC",
            "executionRef": executionRef,
            "executionType": "INSTANT_RUN",
            "friendlyId": "demo_export",
            "segmentName": "Demo segment",
            "status": "SUCCESS",
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(fields))) ?? []
    }
}
