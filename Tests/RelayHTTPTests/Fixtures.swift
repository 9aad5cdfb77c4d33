// Shared payloads and routing tables for the listener tests.
import Foundation

enum Fixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var sitecore: [String: Any] {
        [
            "apiUrl": "https://api.example.com/v2/exports/1/download",
            "audienceExportName": "Weekly VIPs",
            "clientKey": "pqsDATA3lw12v5a9",
            "definitionType": "FULL_SYNC",
            "executionRef": "9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c",
            "executionType": "SCHEDULED",
            "friendlyId": "vip_weekly",
            "segmentName": "VIP customers",
            "status": "SUCCESS",
        ]
    }
    static var adobeRun: [String: Any] {
        [
            "audienceId": "aud-1", "runId": "run-1", "status": "SUCCESS",
            "details": [["stage": "DATASET_INGEST", "status": "SUCCESS"], ["stage": "PROFILE_STORE_INGEST", "status": "PROCESSING"]],
        ]
    }
    static var adobeOperation: [String: Any] { ["operationId": "op-1", "status": "PROCESSING", "audienceId": "aud-1"] }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The three kinds on their default paths, each routed to one Kafka destination.
    static let table = """
        version: 1
        sources:
          sitecore: {kind: sitecore-export, path: /hooks/sitecore, maxBodyBytes: 64KiB}
          adobe-runs: {kind: adobe-run, path: /hooks/adobe/runs}
          adobe-operations: {kind: adobe-operation, path: /hooks/adobe/operations}
        destinations:
          events: {type: kafka, brokers: embedded, topic: events}
          crm: {type: http, url: "http://127.0.0.1:9/hook"}
        routes:
          - name: all
            source: [sitecore, adobe-runs, adobe-operations]
            to: events
          - name: successes
            source: sitecore
            match: [{field: status, equals: SUCCESS}]
            to: [crm]
        """

    /// One source per auth mode.
    static let authTable = """
        sources:
          open: {kind: adobe-operation, path: /open}
          basic: {kind: adobe-operation, path: /basic, auth: {type: basic, username: relay, password: env:P}}
          bearer: {kind: adobe-operation, path: /bearer, auth: {type: bearer, token: env:T}}
          signed: {kind: adobe-operation, path: /signed, auth: {type: standard-webhooks, secrets: [env:A, env:B], tolerance: 5m}}
        destinations:
          events: {type: kafka, brokers: embedded, topic: events}
        routes:
          - {name: all, source: [open, basic, bearer, signed], to: events}
        """
}
