// Validation rules at the core level: dedupe keys, required overrides, limits.
import RelayCore
import Testing

@Suite struct PayloadValidatorTests {
    static let sitecore: [String: JSONValue] = [
        "apiUrl": .string("https://x.example/e"), "audienceExportName": .string("n"), "clientKey": .string("c"),
        "definitionType": .string("DELTA"), "executionRef": .string("9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c"),
        "executionType": .string("INSTANT_RUN"), "friendlyId": .string("a_1"), "segmentName": .string("s"),
        "status": .string("SUCCESS"),
    ]

    /// One execution reported with PENDING_EMR_JOB, then SUCCESS: two keys, so the SUCCESS is not a duplicate.
    @Test func sitecoreDedupeKeyIsExecutionRefAndStatus() throws {
        let valid = try PayloadValidator.validate(Self.sitecore, rules: PayloadRules(kind: .sitecoreExport)).get()
        #expect(valid.dedupeKey == "9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c|SUCCESS")
        #expect(valid.subject == "a_1")
        var pending = Self.sitecore
        pending["status"] = .string("PENDING_EMR_JOB")
        let earlier = try PayloadValidator.validate(pending, rules: PayloadRules(kind: .sitecoreExport)).get()
        #expect(earlier.dedupeKey == "9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c|PENDING_EMR_JOB")
        #expect(earlier.dedupeKey != valid.dedupeKey)
    }

    @Test func adobeRunDedupeKeyIncludesStageStatuses() throws {
        let run: [String: JSONValue] = [
            "audienceId": .string("a"), "runId": .string("r"), "status": .string("PROCESSING"),
            "details": .array([.object(["stage": .string("DATASET_INGEST"), "status": .string("SUCCESS")]),
                               .object(["stage": .string("PROFILE_STORE_INGEST"), "status": .string("PROCESSING")])]),
        ]
        let valid = try PayloadValidator.validate(run, rules: PayloadRules(kind: .adobeRun)).get()
        #expect(valid.dedupeKey == "a|r|PROCESSING|SUCCESS,PROCESSING")
    }

    @Test func operationDedupeKey() throws {
        let op: [String: JSONValue] = ["operationId": .string("op"), "status": .string("FAILED")]
        #expect(try PayloadValidator.validate(op, rules: PayloadRules(kind: .adobeOperation)).get().dedupeKey == "op|FAILED")
    }

    @Test func requiredFieldsCanBeRelaxedPerSource() throws {
        var payload = Self.sitecore
        payload.removeValue(forKey: "segmentName")
        #expect((try? PayloadValidator.validate(payload, rules: PayloadRules(kind: .sitecoreExport)).get()) == nil)
        let relaxed = PayloadRules(kind: .sitecoreExport, requiredFields: ["executionRef", "status", "apiUrl"])
        #expect(throws: Never.self) { try PayloadValidator.validate(payload, rules: relaxed).get() }
    }

    @Test func customDedupeFields() throws {
        let rules = PayloadRules(kind: .sitecoreExport, dedupeFields: ["executionRef"])
        #expect(try PayloadValidator.validate(Self.sitecore, rules: rules).get().dedupeKey == "9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c")
    }
}
