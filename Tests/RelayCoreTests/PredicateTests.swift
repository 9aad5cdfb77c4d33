// Route predicates over one event field: equals, in, prefix, regex and exists, on every kind of value.
import RelayCore
import Testing

@Suite struct PredicateTests {
    static let event: JSONValue = .object([
        "friendlyId": .string("vip_1"), "status": .string("SUCCESS"), "count": .number(3), "ratio": .number(0.5),
        "flag": .bool(true), "off": .bool(false), "nothing": .null, "empty": .string(""),
        "details": .array([.object(["stage": .string("DATASET_INGEST"), "status": .string("FAILED")])]),
        "obj": .object(["k": .string("v")]),
    ])

    static let matchTable: [(String, Predicate.Test, Bool)] = [
        // equals: scalars compare by their rendered text.
        ("status", .equals("SUCCESS"), true),
        ("status", .equals("success"), false),
        ("status", .equals("SUCCESS "), false),
        ("count", .equals("3"), true),
        ("count", .equals("3.0"), false),
        ("ratio", .equals("0.5"), true),
        ("flag", .equals("true"), true),
        ("off", .equals("false"), true),
        ("nothing", .equals("null"), true),
        ("empty", .equals(""), true),
        ("missing", .equals(""), false),
        ("details.0.stage", .equals("DATASET_INGEST"), true),
        ("details.1.stage", .equals("DATASET_INGEST"), false),
        ("obj", .equals(#"{"k":"v"}"#), true),
        // in
        ("status", .oneOf(["FAILED", "SUCCESS"]), true),
        ("status", .oneOf(["FAILED"]), false),
        ("status", .oneOf([]), false),
        ("count", .oneOf(["1", "2", "3"]), true),
        ("missing", .oneOf(["", "null"]), false),
        ("details.0.status", .oneOf(["FAILED"]), true),
        // prefix
        ("friendlyId", .prefix("vip_"), true),
        ("friendlyId", .prefix("crm_"), false),
        ("friendlyId", .prefix(""), true),
        ("friendlyId", .prefix("VIP_"), false),
        ("count", .prefix("3"), true),
        ("missing", .prefix(""), false),
        // exists: null counts as absent
        ("status", .exists(true), true),
        ("status", .exists(false), false),
        ("missing", .exists(false), true),
        ("missing", .exists(true), false),
        ("nothing", .exists(true), false),
        ("nothing", .exists(false), true),
        ("empty", .exists(true), true),
        ("off", .exists(true), true),
        ("details.0.stage", .exists(true), true),
        ("details.5.stage", .exists(false), true),
        ("status.sub", .exists(false), true),
    ]

    @Test(arguments: matchTable)
    func matches(_ field: String, _ test: Predicate.Test, _ expected: Bool) {
        #expect(Predicate(field: FieldPath(field), test: test).matches(Self.event) == expected)
    }

    static let regexCases: [(String, String, Bool)] = [
        // A search anywhere in the rendered text unless anchored.
        ("friendlyId", "^vip_[0-9]+$", true),
        ("friendlyId", "_1", true),
        ("friendlyId", "^_1", false),
        ("status", "(?i)^success$", true),
        ("flag", "^t", true),
        ("count", "^\\d$", true),
        ("missing", ".*", false),
        ("nothing", "^null$", true),
    ]

    @Test(arguments: regexCases)
    func regexMatches(_ field: String, _ pattern: String, _ expected: Bool) throws {
        #expect(Predicate(field: FieldPath(field), test: .regex(try CompiledRegex(pattern))).matches(Self.event) == expected)
    }

    @Test(arguments: ["([unclosed", "*", "a{2,1}", "(?<name"])
    func invalidRegexIsRefused(_ pattern: String) {
        #expect(throws: (any Error).self) { try CompiledRegex(pattern) }
    }

    @Test func compiledRegexesCompareByPattern() throws {
        #expect(try CompiledRegex("^a") == CompiledRegex("^a"))
        #expect(try CompiledRegex("^a") != CompiledRegex("^b"))
    }
}
