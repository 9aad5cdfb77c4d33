// Validation rules at the core level: dedupe keys per source kind, required overrides.
import RelayCore
import Testing

@Suite struct PayloadValidatorTests {
    static let sitecore: [String: JSONValue] = [
        "apiUrl": .string("https://x.example/e"), "audienceExportName": .string("n"), "clientKey": .string("c"),
        "definitionType": .string("DELTA"), "executionRef": .string("9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c"),
        "executionType": .string("INSTANT_RUN"), "friendlyId": .string("a_1"), "segmentName": .string("s"),
        "status": .string("SUCCESS"),
    ]

    static let ref = "9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c"

    static func sitecore(_ status: String) -> [String: JSONValue] {
        var payload = sitecore
        payload["status"] = .string(status)
        return payload
    }

    static func run(_ status: String, details: JSONValue? = nil) -> [String: JSONValue] {
        var payload: [String: JSONValue] = ["audienceId": .string("a"), "runId": .string("r"), "status": .string(status)]
        payload["details"] = details
        return payload
    }

    static func stage(_ name: String, _ status: String?) -> JSONValue {
        var entry: [String: JSONValue] = ["stage": .string(name)]
        entry["status"] = status.map(JSONValue.string)
        return .object(entry)
    }

    static let operation: [String: JSONValue] = ["operationId": .string("op"), "status": .string("FAILED")]

    /// Dedupe keys per source kind, with the default fields and with a source's own `dedupeKey`.
    static let dedupeKeysTable: [(SourceKind, [String: JSONValue], [String]?, String)] = [
        // Sitecore: one execution once per status, so PENDING_* then SUCCESS are two events.
        (.sitecoreExport, sitecore, nil, "\(ref)|SUCCESS"),
        (.sitecoreExport, sitecore("PENDING_EMR_JOB"), nil, "\(ref)|PENDING_EMR_JOB"),
        (.sitecoreExport, sitecore("FAILED"), nil, "\(ref)|FAILED"),
        (.sitecoreExport, sitecore, ["executionRef"], ref),
        (.sitecoreExport, sitecore, ["friendlyId", "clientKey"], "a_1|c"),
        // Adobe run: audience, run, status and every stage's status, in order.
        (.adobeRun, run("PROCESSING", details: .array([stage("DATASET_INGEST", "SUCCESS"), stage("PROFILE_STORE_INGEST", "PROCESSING")])),
         nil, "a|r|PROCESSING|SUCCESS,PROCESSING"),
        (.adobeRun, run("PROCESSING", details: .array([stage("DATASET_INGEST", "SUCCESS"), stage("PROFILE_STORE_INGEST", "SUCCESS")])),
         nil, "a|r|PROCESSING|SUCCESS,SUCCESS"),
        (.adobeRun, run("SUCCESS"), nil, "a|r|SUCCESS|"),
        (.adobeRun, run("SUCCESS", details: .array([])), nil, "a|r|SUCCESS|"),
        (.adobeRun, run("RUNNING", details: .array([stage("DATASET_INGEST", "SUCCESS"), stage("PROFILE_STORE_INGEST", nil)])),
         nil, "a|r|RUNNING|SUCCESS,"),
        (.adobeRun, run("SUCCESS"), ["runId"], "r"),
        // Adobe operation: operation and status.
        (.adobeOperation, operation, nil, "op|FAILED"),
        (.adobeOperation, ["operationId": .string("op"), "status": .string("SUCCESS")], nil, "op|SUCCESS"),
        (.adobeOperation, operation, ["operationId", "audienceId"], "op|"),
    ]

    @Test(arguments: dedupeKeysTable)
    func dedupeKey(_ kind: SourceKind, _ payload: [String: JSONValue], _ fields: [String]?, _ expected: String) throws {
        let rules = PayloadRules(kind: kind, dedupeFields: fields)
        #expect(try PayloadValidator.validate(payload, rules: rules).get().dedupeKey == expected)
    }

    @Test func requiredFieldsCanBeRelaxedPerSource() throws {
        var payload = Self.sitecore
        payload.removeValue(forKey: "segmentName")
        #expect((try? PayloadValidator.validate(payload, rules: PayloadRules(kind: .sitecoreExport)).get()) == nil)
        let relaxed = PayloadRules(kind: .sitecoreExport, requiredFields: ["executionRef", "status", "apiUrl"])
        #expect(throws: Never.self) { try PayloadValidator.validate(payload, rules: relaxed).get() }
    }
}
