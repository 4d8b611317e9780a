extension SpecNode {
    /// Refuses YAML anchors (`&name`) and aliases (`*name`) before the text is composed.
    ///
    /// Specs are trees written by hand; an alias makes a graph, and a few hundred bytes of
    /// nested aliases ("billion laughs") name 10⁹ nodes. The composer (Yams) resolves aliases by
    /// sharing, but hashing a key or converting the tree walks every repetition, so aliases are
    /// refused here, on the text, in one linear pass.
    ///
    /// A plain scalar cannot begin with `&` or `*` (both are YAML indicators), so an anchor or
    /// alias is exactly a `&` or `*` where a node begins: after indentation at a line's start,
    /// after `- `, `? ` or `: `, or after `[`, `{` and (inside a flow collection) `,`. The scan
    /// skips quoted scalars, comments and block scalars (`|`, `>`), whose text may hold either
    /// character freely.
    /// - Complexity: O(length of the text).
    static func refuseAnchorsAndAliases(yaml: String, file: String) throws(SpecError) {
        let text = Array(yaml.utf8)
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        func isBlank(_ c: UInt8) -> Bool { c == space || c == tab || c == newline || c == cr }
        var i = 0, line = 1
        var flowDepth = 0
        var nodeStart = true          // the next non-blank character begins a node
        var lineStart = true          // only indentation seen on this line so far
        var indent = 0                // indentation of the current line
        var blockScalarIndent: Int?   // inside a block scalar started on a line of this indentation
        while i < text.count {
            let c = text[i]
            if c == newline {
                line += 1
                i += 1
                lineStart = true
                indent = 0
                if flowDepth == 0 { nodeStart = true }
                // Lines of a block scalar: blank, or indented deeper than the line that opened it.
                if let opener = blockScalarIndent {
                    var j = i, width = 0
                    while j < text.count, text[j] == space { j += 1; width += 1 }
                    if j < text.count, text[j] != newline, text[j] != cr, width <= opener {
                        blockScalarIndent = nil
                    }
                }
                continue
            }
            if blockScalarIndent != nil { i += 1; continue }
            if lineStart && (c == space || c == tab) { indent += 1; i += 1; continue }
            lineStart = false
            if c == space || c == tab || c == cr { i += 1; continue }
            if c == UInt8(ascii: "#") && (i == 0 || isBlank(text[i - 1])) {
                while i < text.count, text[i] != newline { i += 1 }
                continue
            }
            if nodeStart {
                switch c {
                case UInt8(ascii: "&"), UInt8(ascii: "*"):
                    var j = i + 1
                    while j < text.count, !isBlank(text[j]), !",[]{}".utf8.contains(text[j]) { j += 1 }
                    let name = String(decoding: text[i..<j], as: UTF8.self)
                    throw SpecError(file: file, line: line, keyPath: "",
                                    message: "YAML anchors and aliases are not supported in specs (found '\(name)'); write the values out")
                case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
                    // An indicator followed by a blank: a node begins after it.
                    if i + 1 >= text.count || isBlank(text[i + 1]) { i += 1; continue }
                    nodeStart = false
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    flowDepth += 1
                    i += 1
                    continue
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    flowDepth = max(0, flowDepth - 1)
                    nodeStart = false
                    i += 1
                    continue
                case UInt8(ascii: ","):
                    i += 1
                    continue
                case UInt8(ascii: "!"):
                    // A tag: the node follows it.
                    while i < text.count, !isBlank(text[i]) { i += 1 }
                    continue
                case UInt8(ascii: "|"), UInt8(ascii: ">"):
                    if flowDepth == 0 {
                        blockScalarIndent = indent
                        while i < text.count, text[i] != newline { i += 1 }
                        continue
                    }
                    nodeStart = false
                case UInt8(ascii: "'"), UInt8(ascii: "\""):
                    // A quoted scalar, to its closing quote ('' and \" do not close it).
                    let quote = c
                    i += 1
                    while i < text.count {
                        if text[i] == newline { line += 1 }
                        if quote == UInt8(ascii: "\"") && text[i] == UInt8(ascii: "\\") { i += 2; continue }
                        if text[i] == quote {
                            if quote == UInt8(ascii: "'"), i + 1 < text.count, text[i + 1] == quote { i += 2; continue }
                            break
                        }
                        i += 1
                    }
                    i += 1
                    nodeStart = false
                    continue
                default:
                    nodeStart = false
                }
                i += 1
                continue
            }
            // Inside a plain scalar or after a node: find where the next node may begin.
            if c == UInt8(ascii: ":") && (i + 1 >= text.count || isBlank(text[i + 1]) || (flowDepth > 0 && ",[]{}".utf8.contains(text[i + 1]))) {
                nodeStart = true
            } else if flowDepth > 0 && (c == UInt8(ascii: ",") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{")) {
                if c != UInt8(ascii: ",") { flowDepth += 1 }
                nodeStart = true
            } else if flowDepth > 0 && (c == UInt8(ascii: "]") || c == UInt8(ascii: "}")) {
                flowDepth -= 1
            }
            i += 1
        }
    }
}
