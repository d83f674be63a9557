import Testing
import YAMLTree

@Suite struct YAMLNodeTests {
    @Test func blockAndFlowStylesReadAlike() throws {
        let block = try #require(
            try YAMLNode.parse(
                """
                name: kind
                list:
                - a
                - {x: 1}
                """))
        let flow = try #require(try YAMLNode.parse(#"{name: kind, list: [a, {x: 1}]}"#))
        #expect(block == flow)
        #expect(block["name"]?.string == "kind")
        #expect(block["list"]?.items.count == 2)
        #expect(block["list"]?.items.last?["x"]?.string == "1")
        #expect(block["missing"] == nil)
    }

    @Test func plainScalarsResolveQuotedOnesStayText() throws {
        let node = try #require(
            try YAMLNode.parse(
                """
                a: true
                b: "true"
                c: off
                d: ~
                e:
                f: !custom yes
                g: 'null'
                """))
        #expect(node["a"]?.bool == true)
        #expect(node["b"]?.bool == nil && node["b"]?.string == "true")
        #expect(node["c"]?.bool == false)
        #expect(node["d"]?.isNull == true && node["d"]?.string == nil)
        #expect(node["e"]?.isNull == true)
        #expect(node["f"]?.bool == nil && node["f"]?.string == "yes")
        #expect(node["g"]?.isNull == false && node["g"]?.string == "null")
    }

    @Test func blockScalarsAndAliases() throws {
        let node = try #require(
            try YAMLNode.parse(
                """
                base: &b {server: "https://x:6443"}
                copy: *b
                text: |
                  line one
                  line two
                after: 1
                """))
        #expect(node["copy"] == node["base"])
        #expect(node["text"]?.string == "line one\nline two\n")
    }

    @Test func emptyTextHasNoDocument() throws {
        #expect(try YAMLNode.parse("") == nil)
        #expect(try YAMLNode.parse("# only a comment\n") == nil)
    }

    @Test func syntaxErrorsSayWhere() {
        do {
            _ = try YAMLNode.parse("a: [1, 2\nb: 3\n")
            Issue.record("parsed broken YAML")
        } catch {
            #expect(error.line >= 1 && error.column >= 1)
            #expect(error.description.contains("line"))
        }
    }

    @Test func aliasBombsAreRefused() {
        // Each level doubles the nodes: 2^30 when expanded.
        var text = "l0: &l0 [x, x]\n"
        for level in 1...30 { text += "l\(level): &l\(level) [*l\(level - 1), *l\(level - 1)]\n" }
        #expect(throws: YAMLError.self) { try YAMLNode.parse(text) }
    }
}
