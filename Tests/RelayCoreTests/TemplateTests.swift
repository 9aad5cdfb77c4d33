// Templates: what `{{field}}` references render to, and every way a template is refused.
import RelayCore
import Testing

@Suite struct TemplateTests {
    static let event: JSONValue = .object([
        "friendlyId": .string("vip_1"), "status": .string("SUCCESS"), "count": .number(3), "ratio": .number(0.5),
        "big": .number(1e20), "flag": .bool(true), "nothing": .null, "empty": .string(""),
        "details": .array([.object(["stage": .string("DATASET_INGEST")]), .object(["stage": .string("PROFILE_STORE_INGEST")])]),
        "nested": .object(["b": .number(2), "a": .string("x\"y")]),
        "unicode": .string("añ✓"),
    ])

    static let rendersTable: [(String, String)] = [
        ("{{friendlyId}}", "vip_1"),
        ("k-{{ status }}-{{count}}", "k-SUCCESS-3"),
        ("{{details.0.stage}}", "DATASET_INGEST"),
        ("{{details.1.stage}}", "PROFILE_STORE_INGEST"),
        ("{{details.2.stage}}", ""),
        ("{{details.x}}", ""),
        ("{{missing}}x", "x"),
        ("plain", "plain"),
        ("", ""),
        ("{{flag}}", "true"),
        ("{{ratio}}", "0.5"),
        ("{{big}}", "1e+20"),
        ("{{nothing}}", "null"),
        ("[{{empty}}]", "[]"),
        ("{{nested}}", #"{"a":"x\"y","b":2}"#),
        ("{{details}}", #"[{"stage":"DATASET_INGEST"},{"stage":"PROFILE_STORE_INGEST"}]"#),
        ("{{friendlyId}}{{friendlyId}}", "vip_1vip_1"),
        ("{{unicode}}/{{status}}", "añ✓/SUCCESS"),
        ("{ {friendlyId} }", "{ {friendlyId} }"),
        ("{{$id}}-{{a_b-c}}", "-"),
    ]

    @Test(arguments: rendersTable)
    func renders(_ template: String, _ expected: String) throws {
        #expect(try Template(parsing: template).render(Self.event) == expected)
    }

    static let refusalsTable: [(String, String)] = [
        ("{{a", #"unclosed '{{' in template "{{a""#),
        ("x {{a}} {{b", #"unclosed '{{' in template "x {{a}} {{b""#),
        ("{{}}", #"bad field reference {{}} in template "{{}}"; use {{field}} or {{field.sub}}"#),
        ("{{ }}", #"bad field reference {{}} in template "{{ }}"; use {{field}} or {{field.sub}}"#),
        ("{{a b}}", #"bad field reference {{a b}} in template "{{a b}}"; use {{field}} or {{field.sub}}"#),
        ("{{a..b}}", #"bad field reference {{a..b}} in template "{{a..b}}"; use {{field}} or {{field.sub}}"#),
        ("{{.a}}", #"bad field reference {{.a}} in template "{{.a}}"; use {{field}} or {{field.sub}}"#),
        ("{{a/b}}", #"bad field reference {{a/b}} in template "{{a/b}}"; use {{field}} or {{field.sub}}"#),
        ("a}}", #"'}}' without '{{' in template "a}}""#),
        ("{{a}}}}", #"'}}' without '{{' in template "{{a}}}}""#),
        ("{{a\"}}", #"bad field reference {{a"}} in template "{{a\"}}"; use {{field}} or {{field.sub}}"#),
    ]

    @Test(arguments: refusalsTable)
    func refusals(_ template: String, _ message: String) {
        #expect(throws: TemplateError.self) { try Template(parsing: template) }
        do {
            _ = try Template(parsing: template)
        } catch {
            #expect(error.message == message)
        }
    }

    static let singleFieldsTable: [(String, String?)] = [
        ("{{friendlyId}}", "friendlyId"), ("{{ details.0.stage }}", "details.0.stage"),
        ("k-{{friendlyId}}", nil), ("{{a}}{{b}}", nil), ("plain", nil), ("", nil),
    ]

    /// The usual key (`{{field}}`) is recognised as one field; anything else is not.
    @Test(arguments: singleFieldsTable)
    func singleField(_ template: String, _ field: String?) throws {
        #expect(try Template(parsing: template).singleField?.description == field)
    }

    @Test func fieldsAreListedInOrderAndBuiltTemplatesMatchParsedOnes() throws {
        #expect(try Template(parsing: "{{b}}-{{a.c}}-{{b}}").fields.map(\.description) == ["b", "a.c", "b"])
        #expect(Template(field: FieldPath("friendlyId")) == (try Template(parsing: "{{friendlyId}}")))
        #expect(try Template(parsing: "{{x}}").render { $0.description == "x" ? "found" : nil } == "found")
        #expect(try Template(parsing: "<{{y}}>").render { _ in nil } == "<>")
    }
}
